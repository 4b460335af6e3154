import Foundation
import Logging
import OrderFlowPersistence
import SQLKit

/// A fresh database per test: a temporary SQLite file, or a new PostgreSQL database when
/// `ORDERFLOW_TEST_POSTGRES_URL` names a server (scripts/test starts one).
public enum TestDatabase {
    /// The kinds to run storage tests on.
    public static var kinds: [Database.Kind] {
        postgresURL == nil ? [.sqlite] : [.sqlite, .postgres]
    }

    public static var postgresURL: String? {
        ProcessInfo.processInfo.environment["ORDERFLOW_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    public static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }()

    /// Creates an empty database of `kind` and returns its location and a function that drops it.
    public static func create(_ kind: Database.Kind) async throws -> (
        location: DatabaseLocation, drop: @Sendable () async -> Void
    ) {
        switch kind {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "orderflow-test-\(UUID().uuidString)")
            let path = directory.appendingPathComponent("test.sqlite").path
            return (.sqlite(path: path), { try? FileManager.default.removeItem(at: directory) })
        case .postgres:
            guard let url = postgresURL else { throw SkipError(message: "ORDERFLOW_TEST_POSTGRES_URL is not set") }
            guard case .postgres(var settings) = try DatabaseLocation(parsing: url) else {
                throw SkipError(message: "not a PostgreSQL URL")
            }
            let name =
                "orderflow_test_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
            try await admin(url) { try await $0.execute("CREATE DATABASE \(name)") }
            settings.database = name
            settings.maxConnections = 20
            return (
                .postgres(settings),
                { try? await admin(url) { try await $0.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") } }
            )
        }
    }

    /// Runs `body` with a fresh, migrated database of `kind`, then removes it.
    public static func with(
        _ kind: Database.Kind, migrated: Bool = true, _ body: @Sendable (Database) async throws -> Void
    ) async throws {
        let (location, drop) = try await create(kind)
        let database = try await Database.open(
            location, options: DatabaseOptions(sqliteSynchronous: "normal"), logger: logger)
        do {
            try await database.withRunning { database in
                if migrated { try await Migrator(database: database, logger: logger).migrate() }
                try await body(database)
            }
            await drop()
        } catch {
            await drop()
            throw error
        }
    }

    private static func admin(_ url: String, _ body: @Sendable (Database) async throws -> Void) async throws {
        let database = try await Database.open(try DatabaseLocation(parsing: url), logger: logger)
        try await database.withRunning { try await body($0) }
    }

    public struct SkipError: Error {
        public var message: String
    }
}

extension Database {
    /// Runs one statement outside a transaction (CREATE/DROP DATABASE cannot run inside one).
    public func execute(_ sql: String) async throws {
        try await read { db in try await db.raw(.init(sql)).run() }
    }

    /// Counts the rows of a table: tests use it to show that a refused request changed nothing.
    public func count(_ table: String) async throws -> Int {
        try await read { db in
            try await db.raw(.init("SELECT COUNT(*) AS n FROM \(table)")).first()!.decode(column: "n", as: Int.self)
        }
    }
}
