import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import OrderFlowDomain
import OrderFlowRuntime
import PostgresKit
import SQLKit
import SQLiteKit
import ServiceLifecycle

/// The one door to storage: reads, and writes in transactions, on SQLite or PostgreSQL through
/// the same SQLKit code.
///
/// A `Service`: on PostgreSQL `run()` drives the connection pool; on SQLite it holds the file
/// open until graceful shutdown. Queries issued before `run()` starts wait for it.
public final class Database: Service, Sendable {
    public enum Kind: String, Sendable { case sqlite, postgres }

    public let kind: Kind
    public let location: DatabaseLocation
    private let backend: any DatabaseBackend
    /// Stamps commits for the live feed.
    private let clock: any WallClock
    /// Committed changes, for live pages and `GET /api/v1/stream`.
    public let feed: LiveFeed
    /// Stores and products read so far; here so every `CatalogRepository` shares them.
    let catalogCache = CatalogCache()
    /// New orders, written with group commit; here so every `OrderRepository` shares it.
    let orderIntake: GroupCommit<OrderRepository.NewOrder, CreateOutcome>
    /// The most items one group commit writes, and its lanes (one on SQLite).
    private let groupCommitShape: (maxBatch: Int, lanes: Int)

    private init(
        kind: Kind, location: DatabaseLocation, backend: any DatabaseBackend, options: DatabaseOptions,
        clock: any WallClock
    ) {
        self.kind = kind
        self.location = location
        self.backend = backend
        self.clock = clock
        feed = LiveFeed()
        let shape = (maxBatch: options.groupCommitMaxBatch, lanes: kind == .sqlite ? 1 : options.groupCommitLanes)
        groupCommitShape = shape
        orderIntake = GroupCommit(
            maxBatch: shape.maxBatch, lanes: shape.lanes,
            writeBatch: { batch, db in try await OrderRepository.write(batch, into: db) },
            writeOne: { new, db in try await OrderRepository.write([new], into: db)[0] })
    }

    /// A group commit of its own for some other kind of write, sized like order intake's.
    public func groupCommit<Item: Sendable, Output: Sendable>(
        writeBatch: @escaping GroupCommit<Item, Output>.WriteBatch,
        writeOne: @escaping GroupCommit<Item, Output>.WriteOne
    ) -> GroupCommit<Item, Output> {
        GroupCommit(
            maxBatch: groupCommitShape.maxBatch, lanes: groupCommitShape.lanes, writeBatch: writeBatch,
            writeOne: writeOne)
    }

    /// Opens the database (for SQLite: creates the file and its folder if needed).
    public static func open(
        _ location: DatabaseLocation, options: DatabaseOptions = .init(), clock: any WallClock = SystemClock(),
        logger: Logger
    ) async throws -> Database {
        switch location {
        case .sqlite(let path):
            let backend = try await SQLiteBackend.open(path: path, options: options, logger: logger)
            return Database(kind: .sqlite, location: location, backend: backend, options: options, clock: clock)
        case .postgres(let settings):
            let backend = try PostgresBackend(settings: settings, logger: logger)
            return Database(kind: .postgres, location: location, backend: backend, options: options, clock: clock)
        }
    }

    public func run() async throws {
        try await backend.run()
    }

    /// Runs `body` while the database's service runs, then shuts it down; for commands and tests
    /// that live outside a `ServiceGroup`.
    public func withRunning<T: Sendable>(_ body: @Sendable (Database) async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.run() }
            defer { group.cancelAll() }
            return try await body(self)
        }
    }

    /// Runs read-only queries. On SQLite they use a reader connection and never wait for writers.
    public func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await backend.read(body)
    }

    /// Runs `body` in one transaction: all of its writes commit together or none do.
    ///
    /// SQLite takes its single writer lock up front (`BEGIN IMMEDIATE`); PostgreSQL runs at
    /// READ COMMITTED, so statements that must not race use conditional updates or row locks.
    ///
    /// Changes it records for the live feed are published once it has committed.
    public func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let changes = LiveFeed.Collector()
        let result = try await LiveFeed.Recording.$current.withValue(changes) { try await backend.transaction(body) }
        feed.publish(changes.all, committedAt: clock.now())
        return result
    }

    /// Runs `body` on a connection of its own, outside any transaction, for statements that refuse
    /// to run inside one (SQLite's `VACUUM INTO`) or that manage their own.
    ///
    /// On SQLite this is the writer connection under the writer lock: nothing else in this process
    /// uses it meanwhile, and SQLite refuses `VACUUM` while other statements run on a connection.
    func outsideTransaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await backend.outsideTransaction(body)
    }

    /// A cheap round trip, for health checks.
    public func ping() async throws {
        try await read { db in _ = try await db.raw("SELECT 1 AS one").all() }
    }
}

protocol DatabaseBackend: Sendable {
    func run() async throws
    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    func outsideTransaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T
}

extension SQLDatabase {
    /// Runs `body` inside a savepoint of the current transaction: if it throws, only its own writes
    /// are undone and the transaction goes on.
    public func withSavepoint<T>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        let name = "sp_\(UInt32.random(in: 0...UInt32.max))"
        try await self.raw("SAVEPOINT \(unsafeRaw: name)").run()
        let recorded = LiveFeed.Recording.current?.count
        do {
            let result = try await body(self)
            try await self.raw("RELEASE SAVEPOINT \(unsafeRaw: name)").run()
            return result
        } catch {
            if let recorded { LiveFeed.Recording.current?.truncate(to: recorded) }
            try await self.raw("ROLLBACK TO SAVEPOINT \(unsafeRaw: name)").run()
            try await self.raw("RELEASE SAVEPOINT \(unsafeRaw: name)").run()
            throw error
        }
    }

    /// Runs `body` between `begin` and COMMIT, rolling back if it throws.
    ///
    /// The ROLLBACK runs in a task of its own: when the caller was cancelled (a step that timed
    /// out, say), its own queries fail at once, and a connection left inside a transaction would
    /// break every transaction after it.
    func inTransaction<T>(begin: String, _ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await self.raw(SQLQueryString(begin)).run()
        do {
            let result = try await body(self)
            try await self.raw("COMMIT").run()
            return result
        } catch {
            let connection = self
            try? await Task { try await connection.raw("ROLLBACK").run() }.value
            throw error
        }
    }
}

/// SQLite in WAL mode: one writer connection behind a FIFO lock, on a thread of its own
/// (`SQLiteWriter`), and several reader connections.
final class SQLiteBackend: DatabaseBackend {
    private let writer: SQLiteWriter
    private let readers: [SQLiteConnection]
    private let writeLock = AsyncSemaphore(permits: 1)
    private let nextReader = RoundRobin()
    private let logger: Logger

    private init(writer: SQLiteWriter, readers: [SQLiteConnection], logger: Logger) {
        self.writer = writer
        self.readers = readers
        self.logger = logger
    }

    static func open(path: String, options: DatabaseOptions, logger: Logger) async throws -> SQLiteBackend {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // A new database is readable by its owner only from the start (SQLite gives its -wal and
        // -shm files the same permissions): it will hold password hashes and secrets.
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        let sync =
            ["full", "normal", "off", "extra"].contains(options.sqliteSynchronous.lowercased())
            ? options.sqliteSynchronous.uppercased() : "FULL"
        // A connection must be closed before it is released, also when the file turns out not to
        // be a database (a damaged one, say) and a pragma fails.
        let pragmas = [
            "PRAGMA busy_timeout = 10000", "PRAGMA journal_mode = WAL", "PRAGMA synchronous = \(sync)",
            "PRAGMA foreign_keys = ON",
        ]
        let writer = try SQLiteWriter.open(path: path, logger: logger)
        var opened: [SQLiteConnection] = []
        do {
            for pragma in pragmas { try writer.execute(pragma, binds: [], onRow: { _ in }) }
            for _ in 0..<max(1, options.sqliteReaders) {
                let connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
                opened.append(connection)
                for pragma in pragmas { _ = try await connection.query(pragma) }
            }
        } catch {
            for connection in opened { try? await connection.close() }
            writer.close()
            throw error
        }
        return SQLiteBackend(writer: writer, readers: opened, logger: logger)
    }

    func run() async throws {
        // Nothing to drive; hold the connections until shutdown (or cancellation), then close
        // them in a task of their own, because a cancelled task can no longer reach the thread pool.
        try? await gracefulShutdown()
        try await Task.detached { try await self.close() }.value
    }

    func close() async throws {
        try await writeLock.withPermit {
            for connection in readers { try await connection.close() }
            writer.close()
        }
    }

    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let reader = readers[nextReader.next() % readers.count]
        return try await body(reader.sql(queryLogLevel: nil))
    }

    /// The transaction runs on the writer's thread: its statements and the code between them.
    func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await writeLock.withPermit {
            try await withTaskExecutorPreference(writer.executor) {
                try await writer.sql.inTransaction(begin: "BEGIN IMMEDIATE", body)
            }
        }
    }

    func outsideTransaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await writeLock.withPermit {
            try await withTaskExecutorPreference(writer.executor) { try await body(writer.sql) }
        }
    }
}

/// PostgreSQL through PostgresNIO's pooled client.
final class PostgresBackend: DatabaseBackend {
    private let client: PostgresClient

    init(settings: DatabaseLocation.PostgresSettings, logger: Logger) throws {
        let tls: PostgresClient.Configuration.TLS
        switch settings.tlsMode {
        case "require", "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
        case "prefer", "allow": tls = .prefer(.makeClientConfiguration())
        default: tls = .disable
        }
        var configuration = PostgresClient.Configuration(
            host: settings.host, port: settings.port, username: settings.username,
            password: settings.password, database: settings.database, tls: tls)
        configuration.options.maximumConnections = max(2, settings.maxConnections)
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
    }

    func run() async throws {
        await client.run()
    }

    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            try await body(connection.sql(queryLogLevel: nil))
        }
    }

    func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            try await connection.sql(queryLogLevel: nil).inTransaction(begin: "BEGIN", body)
        }
    }

    func outsideTransaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            try await body(connection.sql(queryLogLevel: nil))
        }
    }
}
