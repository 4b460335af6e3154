import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteKit
import Synchronization
import VaporCSQLite

/// SQLite's one writer connection, run on a thread of its own.
///
/// A transaction's statements run one after another on this thread, each straight through
/// libsqlite3, with its prepared statement kept for the next time the same SQL comes. Through
/// SQLiteNIO every statement went to a thread pool and its answer back through an event loop to
/// the task: three thread switches and a fresh `prepare` per statement, which a perf profile of a
/// busy server showed as about a third of its CPU (futex wake-ups, scheduling, the SQL parser).
/// Here a transaction costs one switch onto the thread and one back.
///
/// The task running a transaction prefers this thread (`withTaskExecutorPreference`), so its
/// code between statements runs here too; a statement may still come from another thread (a
/// rollback run in a task of its own), and the connection's lock keeps such calls one at a time.
final class SQLiteWriter: Sendable {
    let executor: WriterThread
    let logger: Logger
    private let connection: Mutex<Connection>

    /// The handle and its prepared statements; only ever used under `connection`'s lock, which is
    /// what makes handing its pointers between threads safe.
    private struct Connection: @unchecked Sendable {
        var handle: OpaquePointer?
        var statements: [String: Statement] = [:]
        var uses = 0
    }

    /// A prepared statement, its column names, and when it was last used, kept for reuse.
    private struct Statement {
        var handle: OpaquePointer
        var columns: [String]
        var lookup: [String: Int]
        var used: Int
    }

    /// Statements kept at most (multi-row inserts give one text per row count); past it the
    /// quarter used longest ago is let go.
    static let keptStatements = 2_000

    private init(handle: OpaquePointer, executor: WriterThread, logger: Logger) {
        connection = Mutex(Connection(handle: handle))
        self.executor = executor
        self.logger = logger
    }

    /// Opens `path` (read-write, created if missing) with the same flags SQLiteNIO uses.
    static func open(path: String, logger: Logger) throws -> SQLiteWriter {
        var handle: OpaquePointer?
        let flags =
            SQLITE_OPEN_CREATE | SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_URI
            | SQLITE_OPEN_EXRESCODE
        let status = sqlite_nio_sqlite3_open_v2(path, &handle, flags, nil)
        guard status == SQLITE_OK, let handle else {
            let message = handle.flatMap { sqlite_nio_sqlite3_errmsg($0) }.map { String(cString: $0) } ?? "open failed"
            if let handle { sqlite_nio_sqlite3_close(handle) }
            throw SQLiteFailure(code: status, message: "\(message) (\(path))")
        }
        return SQLiteWriter(handle: handle, executor: WriterThread(name: "sqlite-writer"), logger: logger)
    }

    /// An `SQLDatabase` over this connection, for SQLKit's builders and raw queries.
    var sql: any SQLDatabase { WriterDatabase(writer: self) }

    /// Runs one statement and hands each row to `onRow`.
    func execute(_ sql: String, binds: [SQLiteData], onRow: (any SQLRow) -> Void) throws {
        try connection.withLock { connection in
            guard let database = connection.handle else {
                throw SQLiteFailure(code: SQLITE_MISUSE, message: "the database is closed")
            }
            var statement = try Self.statement(for: sql, in: &connection, database: database)
            defer {
                sqlite_nio_sqlite3_reset(statement.handle)
                sqlite_nio_sqlite3_clear_bindings(statement.handle)
            }
            for (index, value) in binds.enumerated() {
                let status = Self.bind(value, at: Int32(index + 1), to: statement.handle)
                guard status == SQLITE_OK else { throw SQLiteFailure(status, database) }
            }
            var first = true
            while true {
                let status = sqlite_nio_sqlite3_step(statement.handle)
                if status == SQLITE_DONE { return }
                guard status == SQLITE_ROW else { throw SQLiteFailure(status, database) }
                if first {
                    first = false
                    // A schema change (a migration) prepares a kept statement again, and `SELECT *`
                    // may then name other columns: the names are checked against the kept ones.
                    if !Self.sameColumns(statement) {
                        statement.columns = Self.columns(of: statement.handle)
                        statement.lookup = Self.lookup(statement.columns)
                        connection.statements[sql] = statement
                    }
                }
                var values: [SQLiteData] = []
                values.reserveCapacity(statement.columns.count)
                for column in 0..<Int32(statement.columns.count) {
                    values.append(try Self.value(at: column, of: statement.handle))
                }
                onRow(WriterRow(columns: statement.columns, lookup: statement.lookup, values: values))
            }
        }
    }

    /// The prepared statement for `sql`: the kept one, or a new one, kept.
    private static func statement(
        for sql: String, in connection: inout Connection, database: OpaquePointer
    ) throws -> Statement {
        connection.uses += 1
        if let kept = connection.statements[sql] {
            connection.statements[sql]?.used = connection.uses
            return kept
        }
        var handle: OpaquePointer?
        // SQLITE_PREPARE_PERSISTENT: this statement will be used again.
        let status = sqlite_nio_sqlite3_prepare_v3(database, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, nil)
        guard status == SQLITE_OK, let handle else { throw SQLiteFailure(status, database) }
        let columns = columns(of: handle)
        if connection.statements.count >= keptStatements {
            let oldest = connection.statements.sorted { $0.value.used < $1.value.used }.prefix(keptStatements / 4)
            for (sql, kept) in oldest {
                sqlite_nio_sqlite3_finalize(kept.handle)
                connection.statements[sql] = nil
            }
        }
        let statement = Statement(handle: handle, columns: columns, lookup: lookup(columns), used: connection.uses)
        connection.statements[sql] = statement
        return statement
    }

    private static func columns(of statement: OpaquePointer) -> [String] {
        (0..<sqlite_nio_sqlite3_column_count(statement)).map { index in
            sqlite_nio_sqlite3_column_name(statement, index).map { String(cString: $0) } ?? ""
        }
    }

    private static func lookup(_ columns: [String]) -> [String: Int] {
        Dictionary(columns.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Whether the statement's result columns are still the kept names, compared in place.
    private static func sameColumns(_ statement: Statement) -> Bool {
        guard sqlite_nio_sqlite3_column_count(statement.handle) == statement.columns.count else { return false }
        for (index, kept) in statement.columns.enumerated() {
            guard let name = sqlite_nio_sqlite3_column_name(statement.handle, Int32(index)),
                kept.withCString({ strcmp($0, name) }) == 0
            else { return false }
        }
        return true
    }

    private static func bind(_ value: SQLiteData, at index: Int32, to statement: OpaquePointer) -> Int32 {
        switch value {
        case .integer(let value): sqlite_nio_sqlite3_bind_int64(statement, index, Int64(value))
        case .float(let value): sqlite_nio_sqlite3_bind_double(statement, index, value)
        case .null: sqlite_nio_sqlite3_bind_null(statement, index)
        case .text(let value):
            sqlite_nio_sqlite3_bind_text64(
                statement, index, value, UInt64(value.utf8.count), transient, UInt8(SQLITE_UTF8))
        case .blob(let value):
            value.withUnsafeReadableBytes {
                sqlite_nio_sqlite3_bind_blob64(statement, index, $0.baseAddress, UInt64($0.count), transient)
            }
        }
    }

    private static func value(at column: Int32, of statement: OpaquePointer) throws -> SQLiteData {
        switch sqlite_nio_sqlite3_column_type(statement, column) {
        case SQLITE_INTEGER: return .integer(.init(sqlite_nio_sqlite3_column_int64(statement, column)))
        case SQLITE_FLOAT: return .float(sqlite_nio_sqlite3_column_double(statement, column))
        case SQLITE_TEXT:
            guard let text = sqlite_nio_sqlite3_column_text(statement, column) else {
                throw SQLiteFailure(code: SQLITE_ERROR, message: "a text column without text")
            }
            let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
            var buffer = ByteBufferAllocator().buffer(capacity: count)
            if let bytes = sqlite_nio_sqlite3_column_blob(statement, column) {
                buffer.writeBytes(UnsafeRawBufferPointer(start: bytes, count: count))
            }
            return .blob(buffer)
        default: return .null
        }
    }

    /// Closes the connection (its statements first) and ends the thread.
    func close() {
        connection.withLock { connection in
            for statement in connection.statements.values { sqlite_nio_sqlite3_finalize(statement.handle) }
            connection.statements.removeAll()
            if let handle = connection.handle { sqlite_nio_sqlite3_close(handle) }
            connection.handle = nil
        }
        executor.stop()
    }

    /// SQLite copies a bound text or blob at once.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}

/// A failed libsqlite3 call: its (extended) result code and SQLite's message.
struct SQLiteFailure: Error, CustomStringConvertible {
    var code: Int32
    var message: String

    init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    init(_ code: Int32, _ database: OpaquePointer) {
        self.code = code
        message = sqlite_nio_sqlite3_errmsg(database).map { String(cString: $0) } ?? "error \(code)"
    }

    /// A UNIQUE or PRIMARY KEY constraint refused the row (SQLITE_CONSTRAINT_UNIQUE and
    /// SQLITE_CONSTRAINT_PRIMARYKEY, extended codes the C macros build from SQLITE_CONSTRAINT).
    var isUniqueViolation: Bool {
        code == SQLITE_CONSTRAINT | (8 << 8) || code == SQLITE_CONSTRAINT | (6 << 8)
    }

    var description: String { "SQLite error \(code): \(message)" }
}

/// `SQLDatabase` over the writer: serialised by SQLKit, run at once on the calling thread.
private struct WriterDatabase: SQLDatabase {
    let writer: SQLiteWriter

    var logger: Logger { writer.logger }
    var eventLoop: any EventLoop { MultiThreadedEventLoopGroup.singleton.any() }
    var dialect: any SQLDialect { SQLiteDialect() }
    var queryLogLevel: Logger.Level? { nil }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void)
        -> EventLoopFuture<Void>
    {
        do {
            try run(query, onRow)
            return eventLoop.makeSucceededVoidFuture()
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        try run(query, onRow)
    }

    private func run(_ query: any SQLExpression, _ onRow: (any SQLRow) -> Void) throws {
        let (sql, binds) = serialize(query)
        let encoder = SQLiteDataEncoder()
        try writer.execute(sql, binds: try binds.map { try encoder.encode($0) }, onRow: onRow)
    }
}

/// One row the writer read, decoded the way SQLiteKit decodes its rows.
private struct WriterRow: SQLRow {
    let columns: [String]
    let lookup: [String: Int]
    let values: [SQLiteData]

    var allColumns: [String] { columns }

    func contains(column: String) -> Bool { lookup[column] != nil }

    func decodeNil(column: String) throws -> Bool {
        guard let index = lookup[column] else { return true }
        return values[index] == .null
    }

    func decode<D: Decodable>(column: String, as: D.Type) throws -> D {
        guard let index = lookup[column] else {
            throw DecodingError.keyNotFound(
                SQLiteColumnKey(column), .init(codingPath: [], debugDescription: "no column '\(column)'"))
        }
        return try SQLiteDataDecoder().decode(D.self, from: values[index])
    }
}

private struct SQLiteColumnKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// A thread that runs the jobs of the tasks that prefer it, in the order they come.
final class WriterThread: TaskExecutor, @unchecked Sendable {
    // `jobs` and `stopped` are guarded by `condition`.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var stopped = false

    init(name: String) {
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        if stopped {
            condition.unlock()
            // The thread is gone (the database closed): the pool runs what still comes.
            globalConcurrentExecutor.enqueue(job)
            return
        }
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func run() {
        var batch: [UnownedJob] = []
        while true {
            condition.lock()
            while jobs.isEmpty && !stopped { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            swap(&batch, &jobs)
            condition.unlock()
            for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
            batch.removeAll(keepingCapacity: true)
        }
    }

    /// Ends the thread once what is queued has run.
    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }
}
