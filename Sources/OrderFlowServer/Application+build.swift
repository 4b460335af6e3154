import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOSSL
import OpenAPIHummingbird
import OpenAPIRuntime
import OrderFlowAPI
import OrderFlowDomain
import OrderFlowEngine
import OrderFlowMonitor
import OrderFlowPersistence
import OrderFlowRuntime
import ServiceLifecycle

/// What a caller can swap: the clock, metrics, logger and where announcements go (tests do;
/// `main` uses defaults).
public struct AppDependencies: Sendable {
    /// Every loop's clock; the invoice stream's actors sleep on it too.
    public var clock: any SleepingClock
    public var metrics: AppMetrics
    public var logger: Logger
    /// Prints what a person must see once, such as a generated administrator password.
    public var announce: @Sendable (String) -> Void
    /// Card payments; by default the HTTP provider the configuration names.
    public var payments: (any PaymentProvider)?
    /// Customer notifications; by default the SMTP and SMS senders the configuration names.
    public var notifiers: [any NotificationSender]?
    /// Whether the job worker and outbox relay run as services (tests drive them by hand).
    public var runPipeline: Bool
    /// More services to run with the application, after it (the demo's simulators).
    public var extraServices: [any Service]
    /// Receives the demo's API key when the demo creates it.
    public var demoKey: DemoKey?

    public init(
        clock: any SleepingClock = SystemClock(), metrics: AppMetrics = AppMetrics(),
        logger: Logger = Logger(label: "orderflow"),
        announce: @escaping @Sendable (String) -> Void = AppDependencies.printToStandardOutput,
        payments: (any PaymentProvider)? = nil, notifiers: [any NotificationSender]? = nil, runPipeline: Bool = true,
        extraServices: [any Service] = [], demoKey: DemoKey? = nil
    ) {
        self.clock = clock
        self.metrics = metrics
        self.logger = logger
        self.announce = announce
        self.payments = payments
        self.notifiers = notifiers
        self.runPipeline = runPipeline
        self.extraServices = extraServices
        self.demoKey = demoKey
    }
}

extension AppDependencies {
    /// Prints and flushes at once, so a person (or a supervisor reading a pipe) sees it now.
    public static let printToStandardOutput: @Sendable (String) -> Void = { text in
        FileHandle.standardOutput.write(Data("\n\(text)\n\n".utf8))
    }
}

/// The assembled application, and the database it runs on (tests read it directly).
public struct BuiltApplication: Sendable {
    public let application: Application<RouterResponder<AppRequestContext>>
    public let database: Database
    public let security: SecurityService
    public let engine: Engine
    public let monitor: Monitor
    public let invoices: InvoiceStream

    /// Runs until SIGTERM or SIGINT, then stops taking requests, lets in-flight ones finish and
    /// closes the database.
    public func runService() async throws {
        try await application.runService()
    }
}

/// Wires OrderFlow: storage, migrations before listening, the HTTP pipeline and every route.
/// Used by `orderflow serve`, `orderflow demo` and the tests alike.
public func buildApplication(_ config: AppConfiguration, dependencies: AppDependencies = .init()) async throws
    -> BuiltApplication
{
    let logger = {
        var logger = dependencies.logger
        logger.logLevel = config.logLevel
        return logger
    }()
    let database = try await Database.open(
        config.database, options: config.databaseOptions, clock: dependencies.clock, logger: logger)
    let security = SecurityService(
        database: database, settings: config.security, clock: dependencies.clock, logger: logger)
    let engine = Engine(
        database: database, settings: config.engine, clock: dependencies.clock, logger: logger,
        metrics: dependencies.metrics.factory,
        payments: dependencies.payments, notifiers: dependencies.notifiers, defaultImageURL: config.defaultImageURL)
    let monitor = Monitor(
        database: database, settings: config.monitor, channels: engine.relay.channels, ready: engine.ready,
        clock: dependencies.clock,
        logger: logger, metrics: dependencies.metrics.factory)
    let invoices = InvoiceStream(database: database, clock: dependencies.clock, logger: logger)
    let router = try buildRouter(
        config, database: database, security: security, engine: engine, monitor: monitor, invoices: invoices,
        dependencies: dependencies)
    var app = Application(
        router: router,
        server: try serverBuilder(config.security),
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "OrderFlow"),
        logger: logger)
    // Stopped in reverse: the HTTP server first, then the pipeline, then the database.
    app.addServices(database)
    if dependencies.runPipeline {
        app.addServices(engine.services)
        app.addServices(monitor.services)
        app.addServices(InvoiceStreamService(stream: invoices, ready: engine.ready))
    }
    app.addServices(dependencies.extraServices)
    app.beforeServerStarts {
        let applied = try await Migrator(database: database, logger: logger).migrate()
        if !applied.isEmpty {
            logger.info(
                "database ready", metadata: ["database": "\(config.database)", "migrations_applied": "\(applied)"])
        }
        try await security.claimDatabase(forDemo: config.security.demoAccounts)
        try await security.configureSigningKey()
        if config.seedDemoCatalog {
            try await DemoCatalog.seedIfEmpty(database: database, clock: dependencies.clock, logger: logger)
        }
        if config.security.demoAccounts {
            let keys = try await DemoAccounts.refresh(security: security, announce: dependencies.announce)
            let scheme = config.security.tlsCertificatePath == nil ? "http" : "https"
            dependencies.announce(
                "Dashboard: \(scheme)://\(config.host):\(config.port)/ (sign in with one of the accounts above)")
            dependencies.demoKey?.set(keys)
        } else {
            try await security.ensureAdministrator(announce: dependencies.announce)
        }
        engine.ready.open()
    }
    return BuiltApplication(
        application: app, database: database, security: security, engine: engine, monitor: monitor, invoices: invoices)
}

/// Plain HTTP/1.1, or HTTPS when a certificate and key are configured. A connection idle for
/// `idleTimeoutSeconds` is closed, also one still sending its request's head (a client trickling
/// it in would otherwise hold a connection for ever); a response under way (a stream) is not idle.
func serverBuilder(_ settings: AppConfiguration.SecuritySettings) throws -> HTTPServerBuilder {
    let http1 = HTTPServerBuilder.http1(
        configuration: .init(idleTimeout: .milliseconds(Int64(settings.idleTimeoutSeconds * 1_000))))
    guard let certificate = settings.tlsCertificatePath, let key = settings.tlsKeyPath else { return http1 }
    let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
    var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .file(key))
    tls.minimumTLSVersion = .tlsv12
    return try .tls(http1, tlsConfiguration: tls)
}

func buildRouter(
    _ config: AppConfiguration, database: Database, security: SecurityService, engine: Engine, monitor: Monitor,
    invoices: InvoiceStream,
    dependencies: AppDependencies
) throws -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    // Order matters: the outer layers see everything the inner ones produce.
    router.add(middleware: HTTPMetricsMiddleware(metrics: dependencies.metrics))
    router.add(
        middleware: HardeningMiddleware(
            corsOrigins: config.security.corsOrigins, tls: config.servesHTTPS,
            trustForwardedFor: config.security.trustForwardedFor))
    router.add(middleware: RequestIDAndErrorMiddleware())
    router.add(middleware: BodyLimitMiddleware(maxBytes: config.maxBodyBytes))
    router.add(
        middleware: DashboardMiddleware(security: security, secureCookies: config.servesHTTPS))
    router.add(
        middleware: SecurityMiddleware(
            authenticator: security.authenticator,
            perPrincipal: RateLimiter(
                rate: config.security.rateLimit, burst: config.security.rateLimit * 2, clock: dependencies.clock),
            perAddress: RateLimiter(
                rate: config.security.anonymousRateLimit, burst: config.security.anonymousRateLimit * 2,
                clock: dependencies.clock),
            policy: config.security.rateLimitPolicy, throttle: monitor.throttle, metrics: dependencies.metrics,
            clock: dependencies.clock, logger: dependencies.logger, demoSeeding: config.demoSeeding))
    router.add(middleware: NullFieldMiddleware(maxBytes: config.maxBodyBytes))

    let services = AppServices(
        orders: engine.orders, catalog: engine.catalog, deadLetters: engine.deadLetters,
        invoices: InvoiceService(stream: invoices, database: database, clock: dependencies.clock),
        monitoring: monitor.monitoring, alerts: monitor.alerts, security: security,
        users: UserService(
            security: security, catalog: CatalogRepository(database: database, clock: dependencies.clock),
            clock: dependencies.clock),
        health: HealthCheck(database: database), feed: database.feed)
    let handlers = APIHandlers(
        services: services, clock: dependencies.clock, configuration: config, startedAt: Date(),
        exports: ExportGate(limit: config.security.exportsAtOnce))
    try handlers.registerHandlers(on: router, configuration: APIDates.configuration)

    let metrics = dependencies.metrics
    router.get("/metrics") { _, _ in
        Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
    }
    router.get("/openapi.yaml") { _, _ in
        Response(
            status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.yaml)))
    }
    Dashboard(services: services, clock: dependencies.clock, secureCookies: config.servesHTTPS)
        .register(on: router)
    return router
}

/// The services the API handlers and the dashboard's pages call: the only way either reaches
/// orders, transmissions, alerts, invoices or accounts.
struct AppServices: Sendable {
    let orders: OrderService
    let catalog: CatalogService
    let deadLetters: DeadLetterService
    let invoices: InvoiceService
    let monitoring: MonitoringService
    let alerts: AlertService
    /// Sign-in and tokens.
    let security: SecurityService
    let users: UserService
    let health: HealthCheck
    /// Committed changes, for `GET /api/v1/stream` and live pages.
    let feed: LiveFeed
}
