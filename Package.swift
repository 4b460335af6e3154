// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]
let tests: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
    name: "orderflow",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "orderflow", targets: ["orderflow"]),
        // For the micro-benchmarks in Benchmarks/, a package of their own (scripts/bench).
        .library(name: "OrderFlowDomain", targets: ["OrderFlowDomain"]),
        .library(name: "OrderFlowAPI", targets: ["OrderFlowAPI"]),
    ],
    dependencies: [
        .package(
            url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird.git", from: "2.1.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-openapi-generator.git", from: "1.14.3"),
        .package(url: "https://github.com/apple/swift-openapi-runtime.git", from: "1.13.4"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/postgres-kit.git", from: "2.17.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    ],
    targets: [
        .target(
            name: "OrderFlowDomain",
            swiftSettings: strict
        ),
        .target(
            name: "OrderFlowRuntime",
            dependencies: [
                "OrderFlowDomain",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "OrderFlowPersistence",
            dependencies: [
                "OrderFlowDomain",
                "OrderFlowRuntime",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "OrderFlowEngine",
            dependencies: [
                "OrderFlowDomain",
                "OrderFlowRuntime",
                "OrderFlowPersistence",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "OrderFlowMonitor",
            dependencies: [
                "OrderFlowDomain",
                "OrderFlowRuntime",
                "OrderFlowPersistence",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "OrderFlowSimulator",
            dependencies: [
                "OrderFlowDomain",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "OrderFlowAPI",
            dependencies: [
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime")
            ],
            resources: [.copy("openapi.yaml")],
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]
        ),
        .target(
            name: "OrderFlowServer",
            dependencies: [
                "OrderFlowDomain",
                "OrderFlowRuntime",
                "OrderFlowPersistence",
                "OrderFlowEngine",
                "OrderFlowMonitor",
                "OrderFlowSimulator",
                "OrderFlowAPI",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.copy("Dashboard/Assets")],
            swiftSettings: strict
        ),
        .target(
            name: "OrderFlowLoad",
            dependencies: [
                "OrderFlowSimulator",
                "OrderFlowPersistence",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "orderflow",
            dependencies: [
                "OrderFlowDomain",
                "OrderFlowServer",
                "OrderFlowEngine",
                "OrderFlowMonitor",
                "OrderFlowSimulator",
                "OrderFlowLoad",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "OrderFlowTestSupport",
            dependencies: ["OrderFlowDomain", "OrderFlowPersistence", .product(name: "SQLKit", package: "sql-kit")],
            path: "Tests/OrderFlowTestSupport",
            swiftSettings: tests
        ),
        .testTarget(
            name: "OrderFlowDomainTests",
            dependencies: ["OrderFlowDomain"],
            swiftSettings: tests
        ),
        .testTarget(
            name: "OrderFlowRuntimeTests",
            dependencies: ["OrderFlowRuntime"],
            swiftSettings: tests
        ),
        .testTarget(
            name: "OrderFlowPersistenceTests",
            dependencies: [
                "OrderFlowPersistence", "OrderFlowRuntime", "OrderFlowTestSupport",
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: tests
        ),
        .testTarget(
            name: "OrderFlowEngineTests",
            dependencies: [
                "OrderFlowEngine", "OrderFlowRuntime", "OrderFlowSimulator", "OrderFlowTestSupport",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: tests
        ),
        .testTarget(
            name: "OrderFlowMonitorTests",
            dependencies: [
                "OrderFlowMonitor", "OrderFlowEngine", "OrderFlowRuntime", "OrderFlowTestSupport",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: tests
        ),
        .testTarget(
            name: "OrderFlowLoadTests",
            dependencies: ["OrderFlowLoad", "OrderFlowDomain"],
            swiftSettings: tests
        ),
        // `orderflow` as a real process: killed under load, restarted, three instances on one
        // PostgreSQL, backups; kept apart so the route tests stay quick to run while iterating.
        .testTarget(
            name: "OrderFlowProcessTests",
            dependencies: ["OrderFlowDomain", "OrderFlowPersistence", "OrderFlowTestSupport"],
            swiftSettings: tests
        ),
        .testTarget(
            name: "OrderFlowServerTests",
            dependencies: [
                "OrderFlowServer",
                "OrderFlowRuntime",
                "OrderFlowTestSupport",
                // Its event-stream client reads GET /api/v1/stream in the stream tests.
                "OrderFlowLoad",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: tests
        ),
    ]
)
