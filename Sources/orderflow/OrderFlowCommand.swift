import ArgumentParser
import Foundation
import Logging
import OrderFlowDomain
import OrderFlowEngine
import OrderFlowMonitor
import OrderFlowPersistence
import OrderFlowServer
import OrderFlowSimulator
import ServiceLifecycle
import UnixSignals

@main
struct OrderFlowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orderflow",
        abstract: "An order management system that watches its own order flow.",
        discussion:
            "Settings come from flags, then ORDERFLOW_* environment variables, then --config FILE (KEY=value lines), then defaults.\n\n"
            + AppConfiguration.settings.map { "  \($0.key) (default \($0.defaultValue)): \($0.meaning)" }.joined(
                separator: "\n"),
        subcommands: [
            Serve.self, Demo.self, Migrate.self, BackupCommand.self, RestoreCommand.self, Simulate.self,
            LoadCommand.self, Permissions.self,
        ])
}

/// The flags every subcommand shares; each maps to an `ORDERFLOW_*` setting.
struct SettingsOptions: ParsableArguments {
    @Option(help: "Address to listen on (ORDERFLOW_HOST).") var host: String?
    @Option(help: "Port to listen on (ORDERFLOW_PORT).") var port: Int?
    @Option(help: "sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DB (ORDERFLOW_DATABASE).") var database: String?
    @Option(help: "A file of KEY=value settings.") var config: String?
    @Option(help: "trace … critical (ORDERFLOW_LOG_LEVEL).") var logLevel: String?
    @Option(help: "json or text (ORDERFLOW_LOG_FORMAT).") var logFormat: String?

    func load(base: AppConfiguration = .init()) throws -> AppConfiguration {
        var overrides: [String: String] = [:]
        overrides["ORDERFLOW_HOST"] = host
        overrides["ORDERFLOW_PORT"] = port.map(String.init)
        overrides["ORDERFLOW_DATABASE"] = database
        overrides["ORDERFLOW_LOG_LEVEL"] = logLevel
        overrides["ORDERFLOW_LOG_FORMAT"] = logFormat
        do {
            return try AppConfiguration.load(
                base: base, overrides: overrides, environment: ProcessInfo.processInfo.environment, file: config)
        } catch let error as SettingsError {
            throw ValidationError(error.listed)
        }
    }

    /// How every command that opens the database begins: the settings, logging, and the
    /// command's own logger.
    func start(_ command: String) throws -> (config: AppConfiguration, logger: Logger) {
        let config = try load()
        ProcessBootstrap.logging(config)
        return (config, Logger(label: "orderflow.\(command)"))
    }
}

/// Opens the configured database, runs `body` with it, and closes it.
func withDatabase<T: Sendable>(
    _ config: AppConfiguration, logger: Logger, _ body: @Sendable (Database) async throws -> T
) async throws -> T {
    let database = try await Database.open(config.database, options: config.databaseOptions, logger: logger)
    return try await database.withRunning(body)
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the API (production).")
    @OptionGroup var settings: SettingsOptions

    func run() async throws {
        let config = try settings.load()
        try await runServer(config)
    }
}

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Everything on one machine: OrderFlow on an embedded SQLite file with a seeded catalog and stock, simulated downstream systems, and generated orders flowing through."
    )
    @OptionGroup var settings: SettingsOptions
    @Flag(help: "Delete the demo database first.") var reset = false
    @Option(help: "Port of the simulated downstream systems (default: OrderFlow's port + 1).") var simulatorPort: Int?
    @Option(help: "Generated orders a second (0: none).") var orderRate: Double = 0.5
    @Option(help: "Seconds between the fulfilment and delivery steps of a released order.") var advanceSeconds: Double =
        4
    @Option(help: "Share of card payments the simulated provider declines.") var declineRate: Double = 0.1
    @Option(help: "Share of events the simulated commerce engine refuses with 503.") var commerceFailureRate: Double =
        0.02
    @Option(
        help:
            "Seconds the simulated commerce engine takes to acknowledge an event, as MIN-MAX (its channel is async; over 30 s is delayed)."
    )
    var commerceAckSeconds: String = "0.05-1.5"
    @Option(help: "Events in one request to the simulated commerce engine (its channel's batchSize, 1–500).")
    var commerceBatchSize: Int = 1

    func run() async throws {
        var base = AppConfiguration()
        base.database = .sqlite(path: "orderflow-demo.sqlite")
        base.logFormat = .text
        base.seedDemoCatalog = true
        base.security.demoAccounts = true
        base.databaseOptions.sqliteSynchronous = "normal"
        var config = try settings.load(base: base)
        guard (1...500).contains(commerceBatchSize) else {
            throw ValidationError("--commerce-batch-size must be 1 to 500")
        }
        let simulatorPort = simulatorPort ?? config.port + 1
        let simulatorURL = "http://\(config.host):\(simulatorPort)"
        let secret = UUID().uuidString + UUID().uuidString
        if config.engine.channels.isEmpty {
            config.engine.channels = [
                ChannelSettings(
                    name: "commerce", url: "\(simulatorURL)/commerce/events", events: ["order.*"], secret: secret,
                    ackMode: .async, batchSize: commerceBatchSize),
                ChannelSettings(
                    name: "fulfillment", url: "\(simulatorURL)/fulfillment/events",
                    events: ["order.released", "order.cancelled"], secret: secret),
            ]
        }
        if config.engine.payment == nil { config.engine.payment = PaymentSettings(url: "\(simulatorURL)/payments") }
        if config.engine.notifications.smsURL == nil {
            config.engine.notifications.smsURL = "\(simulatorURL)/sms/messages"
        }
        if reset, case .sqlite(let path) = config.database {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
        var simulatorSettings = Simulator.Settings()
        simulatorSettings.host = config.host
        simulatorSettings.port = simulatorPort
        simulatorSettings.orderFlowURL = "http://\(config.host):\(config.port)"
        simulatorSettings.webhookSecret = secret
        simulatorSettings.ordersPerSecond = orderRate
        simulatorSettings.advanceSeconds = advanceSeconds
        simulatorSettings.declineRate = declineRate
        simulatorSettings.commerceFailureRate = commerceFailureRate
        simulatorSettings.commerceAckDelayMilliseconds = try acknowledgementDelay(commerceAckSeconds)
        config.demoSeeding = true
        if config.monitor.rules == MonitorSettings.defaultRules {
            // Quicker verdicts, so forcing a failure shows an alert within seconds.
            config.monitor.rules = MonitorSettings.defaultRules.map { rule in
                var rule = rule
                switch rule.kind {
                case .channelDown:
                    rule.windowSeconds = 30
                    rule.forSeconds = 10
                case .noNewOrders:
                    rule.windowSeconds = 120
                    rule.forSeconds = 60
                default: rule.forSeconds = min(rule.forSeconds, 30)
                }
                return rule
            }
        }
        print(
            """
            OrderFlow demo: \(config.database) on http://\(config.host):\(config.port)
              simulated commerce engine, fulfilment, payments and SMS on \(simulatorURL) (GET /stats, POST /control)
              health:   curl -s http://\(config.host):\(config.port)/api/v1/health
              sign in:  curl -s -X POST http://\(config.host):\(config.port)/api/auth/login -H 'Content-Type: \
            application/json' -d '{"username":"admin","password":"…"}'
              API:      http://\(config.host):\(config.port)/openapi.yaml  (README.md has an order to POST)
            Press Ctrl-C to stop. The sign-ins follow once the database is ready.
            """)
        let demoKey = DemoKey()
        ProcessBootstrap.logging(config)
        let simulator = Simulator(
            settings: simulatorSettings, apiKey: { demoKey.key(for: $0) },
            logger: Logger(label: "orderflow.simulator"))
        try await runServer(config, extraServices: [simulator], demoKey: demoKey, bootstrapLogging: false)
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations (or revert, or list).")
    @OptionGroup var settings: SettingsOptions
    @Option(help: "Revert every migration newer than this version (0 reverts all).") var revertTo: Int?
    @Flag(help: "List applied migrations and exit.") var status = false

    func run() async throws {
        let (config, logger) = try settings.start("migrate")
        try await withDatabase(config, logger: logger) { database in
            let migrator = Migrator(database: database, logger: logger)
            if status {
                let applied = try await migrator.applied()
                for migration in migrator.migrations {
                    print(
                        "\(applied.contains(migration.version) ? "applied" : "pending") \(migration.version) \(migration.name)"
                    )
                }
            } else if let version = revertTo {
                print("reverted: \(try await migrator.revert(to: version))")
            } else {
                print("applied: \(try await migrator.migrate())")
            }
        }
    }
}

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the database to a file while OrderFlow keeps running.",
        discussion:
            "SQLite: a consistent, compacted copy (VACUUM INTO), checked with PRAGMA integrity_check. PostgreSQL: pg_dump --format=custom of one snapshot; needs pg_dump of the server's major version or newer. docs/backup.md has the details."
    )
    @OptionGroup var settings: SettingsOptions
    @Option(name: .customLong("to"), help: ArgumentHelp("The backup file to write.", valueName: "file")) var file:
        String
    @Flag(help: "Replace the file if it exists.") var overwrite = false

    func run() async throws {
        let (config, logger) = try settings.start("backup")
        let started = ContinuousClock.now
        // Opening a missing SQLite file would create an empty database and back that up.
        if case .sqlite(let path) = config.database, !FileManager.default.fileExists(atPath: path) {
            throw BackupError.databaseMissing(path)
        }
        let summary = try await withDatabase(config, logger: logger) { database in
            try await Backup.backup(database: database, to: file, overwrite: overwrite, logger: logger)
        }
        print("backed up \(config.database) to \(summary.path): \(summary) in \(seconds(since: started))")
    }
}

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Replace the database with a backup. Stop every orderflow serve using the database first.",
        discussion:
            "The file is checked first (readable, OrderFlow's, of the database's kind); a refused file changes nothing. PostgreSQL: the database must exist (createdb). docs/backup.md has the details."
    )
    @OptionGroup var settings: SettingsOptions
    @Option(name: .customLong("from"), help: ArgumentHelp("The backup file to restore.", valueName: "file")) var file:
        String
    @Flag(help: "Go ahead even though the database holds orders (they are replaced by the backup's).") var yes = false

    func run() async throws {
        let (config, logger) = try settings.start("restore")
        let started = ContinuousClock.now
        // A damaged database is what restores are for: not being able to count its orders only
        // means asking for --yes.
        let existing: Result<Int, any Error>
        do {
            existing = .success(try await Backup.orderCount(at: config.database, logger: logger))
        } catch let error as BackupError {
            throw error // the server cannot be reached: --yes would not help
        } catch {
            existing = .failure(error)
        }
        switch existing {
        case .success(let orders) where orders > 0 && !yes:
            throw RestoreRefused(message: "\(config.database) holds \(orders) orders")
        case .failure(let error) where !yes:
            throw RestoreRefused(message: "the orders in \(config.database) could not be counted (\(error))")
        default:
            break
        }
        let summary = try await Backup.restore(from: file, to: config.database, logger: logger)
        let replaced = (try? existing.get()).map { "\($0) orders" } ?? "a database whose orders could not be counted"
        print(
            "restored \(config.database) from \(summary.path): \(summary) (replaced \(replaced)) in \(seconds(since: started))"
        )
    }

    struct RestoreRefused: Error, CustomStringConvertible {
        var message: String
        var description: String {
            "\(message); restoring replaces them, and everything else in it, with the backup's. Nothing was changed. Run again with --yes to go ahead."
        }
    }
}

private func seconds(since start: ContinuousClock.Instant) -> String {
    let elapsed = start.duration(to: .now)
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return String(format: "%.1f s", seconds)
}

struct Permissions: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the permission table, routes and scopes as Markdown (docs/security.md holds it).")
    func run() {
        print(RoutePolicy.markdown(), terminator: "")
    }
}

func runServer(
    _ config: AppConfiguration, extraServices: [any Service] = [], demoKey: DemoKey? = nil,
    bootstrapLogging: Bool = true
) async throws {
    if bootstrapLogging { ProcessBootstrap.logging(config) }
    let metrics = AppMetrics()
    ProcessBootstrap.metrics(metrics)
    let app = try await buildApplication(
        config, dependencies: AppDependencies(metrics: metrics, extraServices: extraServices, demoKey: demoKey))
    try await app.runService()
}

struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Run only the simulated downstream systems (commerce engine, fulfilment, payments, SMS), the order generator and the auto-advancer, for another OrderFlow to use.",
        discussion: """
            Endpoints: POST /commerce/events and /fulfillment/events (webhook receivers), POST /payments/charges and \
            /payments/refunds, \
            POST /sms/messages, GET /stats, POST /control (change failure rate, latency, decline rate, order rate at \
            run time).
            """)
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8081
    @Option(help: "OrderFlow's base URL, for generated orders and ship/delivery events.") var orderflowURL =
        "http://127.0.0.1:8080"
    @Option(
        help: ArgumentHelp(
            "An OrderFlow API key for every simulated system without a key of its own (or "
                + "ORDERFLOW_SIMULATOR_API_KEY); the integration role holds every permission they need.")
    )
    var apiKey: String?
    @Option(
        help: ArgumentHelp(
            "The commerce engine's own key, for POST /api/v1/acks: needs acks.write "
                + "(or ORDERFLOW_SIMULATOR_COMMERCE_API_KEY).")
    )
    var commerceApiKey: String?
    @Option(
        help: ArgumentHelp(
            "The carrier's own key, for ship events and delivery status: needs fulfillment.write "
                + "(or ORDERFLOW_SIMULATOR_CARRIER_API_KEY).")
    )
    var carrierApiKey: String?
    @Option(
        help: ArgumentHelp(
            "The order generator's own key: needs orders.create and catalog.read "
                + "(or ORDERFLOW_SIMULATOR_GENERATOR_API_KEY).")
    )
    var generatorApiKey: String?
    @Option(help: "The channels' webhook secret, to check signatures (or ORDERFLOW_SIMULATOR_SECRET).") var secret:
        String?
    @Option(help: "Generated orders a second.") var orderRate: Double = 0
    @Option(help: "Seconds between the steps of a released order (0: no auto-advance).") var advanceSeconds: Double = 4
    @Option(help: "Share of card payments declined.") var declineRate: Double = 0.1
    @Option(help: "Share of commerce events refused with 503.") var commerceFailureRate: Double = 0
    @Option(help: "Share of deliveries that fail once first.") var deliveryFailureRate: Double = 0.05
    @Option(
        help: ArgumentHelp(
            "Seconds the commerce engine takes to acknowledge an event through POST /api/v1/acks, as MIN-MAX, "
                + "for an async channel (none: it never calls back).")
    )
    var commerceAckSeconds: String = "none"

    func run() async throws {
        var settings = Simulator.Settings()
        settings.host = host
        settings.port = port
        settings.orderFlowURL = orderflowURL
        let environment = ProcessInfo.processInfo.environment
        settings.webhookSecret = secret ?? environment["ORDERFLOW_SIMULATOR_SECRET"]
        settings.ordersPerSecond = orderRate
        settings.advanceSeconds = advanceSeconds
        settings.declineRate = declineRate
        settings.commerceFailureRate = commerceFailureRate
        settings.deliveryFailureRate = deliveryFailureRate
        if commerceAckSeconds != "none" {
            settings.commerceAckDelayMilliseconds = try acknowledgementDelay(commerceAckSeconds)
        }
        let shared = apiKey ?? environment["ORDERFLOW_SIMULATOR_API_KEY"]
        let given: [Simulator.Caller: String?] = [
            .commerce: commerceApiKey, .carrier: carrierApiKey, .generator: generatorApiKey,
        ]
        var keys: [Simulator.Caller: String] = [:]
        for caller in Simulator.Caller.allCases {
            let own =
                (given[caller] ?? nil) ?? environment["ORDERFLOW_SIMULATOR_\(caller.rawValue.uppercased())_API_KEY"]
            keys[caller] = own ?? shared
        }
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        let simulator = Simulator(
            settings: settings, apiKey: { [keys] in keys[$0] }, logger: Logger(label: "orderflow.simulator"))
        print("OrderFlow simulator on http://\(host):\(port) for \(orderflowURL)")
        let group = ServiceGroup(
            configuration: .init(
                services: [simulator], gracefulShutdownSignals: [.sigterm, .sigint],
                logger: Logger(label: "orderflow.simulator")))
        try await group.run()
    }
}

/// `--commerce-ack-seconds MIN-MAX` in milliseconds.
func acknowledgementDelay(_ text: String) throws -> ClosedRange<Int> {
    let range = text.split(separator: "-").compactMap { Double($0) }
    guard range.count == 2, range[0] >= 0, range[0] <= range[1] else {
        throw ValidationError("--commerce-ack-seconds must be MIN-MAX seconds, such as 0.05-1.5")
    }
    return Int(range[0] * 1000)...Int(range[1] * 1000)
}
