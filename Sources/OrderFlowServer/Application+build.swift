import Foundation
import Hummingbird
import Logging
import OpenAPIHummingbird
import OpenAPIRuntime
import OrderFlowAPI
import OrderFlowDomain
import OrderFlowStore
import ServiceLifecycle

/// What a caller can swap: the clock, metrics and authenticator (tests do; `main` uses defaults).
public struct AppDependencies: Sendable {
    public var clock: any WallClock
    public var metrics: AppMetrics
    public var authenticator: any RequestAuthenticator
    public var logger: Logger

    public init(
        clock: any WallClock = SystemClock(), metrics: AppMetrics = AppMetrics(),
        authenticator: any RequestAuthenticator = OpenAccessAuthenticator(), logger: Logger = Logger(label: "orderflow")
    ) {
        self.clock = clock
        self.metrics = metrics
        self.authenticator = authenticator
        self.logger = logger
    }
}

/// The assembled application, and the database it runs on (tests read it directly).
public struct BuiltApplication: Sendable {
    public let application: Application<RouterResponder<AppRequestContext>>
    public let database: Database

    /// Runs until SIGTERM or SIGINT, then stops taking requests, lets in-flight ones finish and
    /// closes the database.
    public func runService() async throws {
        try await application.runService()
    }
}

/// Wires OrderFlow: storage, migrations before listening, the HTTP pipeline and every route.
/// Used by `orderflow serve`, `orderflow demo` and the tests alike.
public func buildApplication(_ config: AppConfiguration, dependencies: AppDependencies = .init()) async throws -> BuiltApplication {
    let logger = {
        var logger = dependencies.logger
        logger.logLevel = config.logLevel
        return logger
    }()
    let database = try await Database.open(config.database, options: config.databaseOptions, logger: logger)
    let router = try buildRouter(config, database: database, dependencies: dependencies)
    var app = Application(
        router: router,
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "OrderFlow"),
        logger: logger)
    app.addServices(database)
    app.beforeServerStarts {
        let applied = try await Migrator(database: database, logger: logger).migrate()
        if !applied.isEmpty { logger.info("database ready", metadata: ["database": "\(config.database)", "migrations_applied": "\(applied)"]) }
        if config.seedDemoCatalog {
            try await DemoCatalog.seedIfEmpty(database: database, clock: dependencies.clock, logger: logger)
        }
    }
    return BuiltApplication(application: app, database: database)
}

func buildRouter(_ config: AppConfiguration, database: Database, dependencies: AppDependencies) throws -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    // Order matters: the outer layers see everything the inner ones produce.
    router.add(middleware: HTTPMetricsMiddleware(metrics: dependencies.metrics))
    router.add(middleware: RequestIDAndErrorMiddleware())
    router.add(middleware: BodyLimitMiddleware(maxBytes: config.maxBodyBytes))
    router.add(middleware: AuthenticationMiddleware(authenticator: dependencies.authenticator))

    let handlers = APIHandlers(
        orders: OrderRepository(database: database),
        catalog: CatalogRepository(database: database, clock: dependencies.clock),
        inventory: InventoryRepository(database: database, clock: dependencies.clock),
        database: database, metrics: dependencies.metrics, clock: dependencies.clock, configuration: config, startedAt: Date())
    try handlers.registerHandlers(on: router, configuration: APIDates.configuration)

    let metrics = dependencies.metrics
    router.get("/metrics") { _, _ in
        Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
    }
    router.get("/openapi.yaml") { _, _ in
        Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.yaml)))
    }
    router.get("/") { _, _ in
        Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: #"{"name":"OrderFlow","version":"\#(config.version)","api":"/openapi.yaml","health":"/api/v1/health","metrics":"/metrics"}"#)))
    }
    return router
}

/// Lets every caller in as `anonymous`: for a deployment whose gateway authenticates.
public struct OpenAccessAuthenticator: RequestAuthenticator {
    public init() {}
    public func authenticate(_ request: Request, context: AppRequestContext) async throws -> Principal? { .anonymous }
}
