// swift-tools-version:6.1
// Micro-benchmarks of OrderFlow's per-order hot paths (ordo-one/benchmark).
//
// A package of its own so the project's build and CI never compile them:
//   swift package --package-path Benchmarks benchmark          (or scripts/bench_micro.py)
import PackageDescription

let package = Package(
    name: "OrderFlowBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // The root package; `name:` because a path dependency's identity is its directory's name,
        // which depends on where the repository was cloned.
        .package(name: "orderflow", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "OrderFlowBenchmarks",
            dependencies: [
                .product(name: "OrderFlowDomain", package: "orderflow"),
                .product(name: "OrderFlowAPI", package: "orderflow"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/OrderFlowBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
