import ArgumentParser
import Foundation
import Logging
import OrderFlowServer
import OrderFlowStore

@main
struct OrderFlowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orderflow",
        abstract: "An order management system that watches its own order flow.",
        discussion: "Settings come from flags, then ORDERFLOW_* environment variables, then --config FILE (KEY=value lines), then defaults.\n\n"
            + AppConfiguration.settings.map { "  \($0.key) (default \($0.defaultValue)): \($0.meaning)" }.joined(separator: "\n"),
        subcommands: [Serve.self, Demo.self, Migrate.self, Permissions.self])
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
            return try AppConfiguration.load(base: base, overrides: overrides, environment: ProcessInfo.processInfo.environment, file: config)
        } catch let error as AppConfiguration.Invalid {
            throw ValidationError(error.description)
        }
    }
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
        abstract: "Serve on an embedded SQLite file with a seeded catalog and stock; nothing else to install.")
    @OptionGroup var settings: SettingsOptions
    @Flag(help: "Delete the demo database first.") var reset = false

    func run() async throws {
        var base = AppConfiguration()
        base.database = .sqlite(path: "orderflow-demo.sqlite")
        base.logFormat = .text
        base.seedDemoCatalog = true
        base.security.demoAccounts = true
        base.databaseOptions.sqliteSynchronous = "normal"
        let config = try settings.load(base: base)
        if reset, case .sqlite(let path) = config.database {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
        print("""
            OrderFlow demo: \(config.database) on http://\(config.host):\(config.port)
              health:   curl -s http://\(config.host):\(config.port)/api/v1/health
              sign in:  curl -s -X POST http://\(config.host):\(config.port)/api/auth/login -H 'Content-Type: application/json' -d '{"username":"admin","password":"…"}'
              API:      http://\(config.host):\(config.port)/openapi.yaml  (README.md has an order to POST)
            Press Ctrl-C to stop. The sign-ins follow once the database is ready.
            """)
        try await runServer(config)
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations (or revert, or list).")
    @OptionGroup var settings: SettingsOptions
    @Option(help: "Revert every migration newer than this version (0 reverts all).") var revertTo: Int?
    @Flag(help: "List applied migrations and exit.") var status = false

    func run() async throws {
        let config = try settings.load()
        ProcessBootstrap.logging(config)
        let logger = Logger(label: "orderflow.migrate")
        let database = try await Database.open(config.database, options: config.databaseOptions, logger: logger)
        try await database.withRunning { database in
            let migrator = Migrator(database: database, logger: logger)
            if status {
                let applied = try await migrator.applied()
                for migration in migrator.migrations {
                    print("\(applied.contains(migration.version) ? "applied" : "pending") \(migration.version) \(migration.name)")
                }
            } else if let version = revertTo {
                print("reverted: \(try await migrator.revert(to: version))")
            } else {
                print("applied: \(try await migrator.migrate())")
            }
        }
    }
}

struct Permissions: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the permission table, routes and scopes as Markdown (docs/security.md holds it).")
    func run() {
        print(RoutePolicy.markdown(), terminator: "")
    }
}

func runServer(_ config: AppConfiguration) async throws {
    ProcessBootstrap.logging(config)
    let metrics = AppMetrics()
    ProcessBootstrap.metrics(metrics)
    let app = try await buildApplication(config, dependencies: AppDependencies(metrics: metrics))
    try await app.runService()
}
