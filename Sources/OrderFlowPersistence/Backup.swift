import Foundation
import Logging
import SQLKit

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Backs the database up to one file while OrderFlow runs, and restores it from one.
///
/// SQLite: `VACUUM INTO` writes a consistent, compacted copy (a read transaction: the server's
/// writes go on meanwhile); the copy is checked with `PRAGMA integrity_check` before it takes the
/// file's name. PostgreSQL: `pg_dump --format=custom` of one snapshot, restored with `pg_restore`.
/// A backup holds everything in the database, password hashes and the token signing key
/// included, so it is written readable by its owner only.
public enum Backup {
    /// What a backup file holds, or what a restore put back.
    public struct Summary: Sendable, Equatable, CustomStringConvertible {
        /// The backup file.
        public var path: String
        public var bytes: Int64
        /// Tables in the database (OrderFlow's own, without SQLite's internal ones).
        public var tables: Int
        public var orders: Int
        /// The newest migration applied, 0 when none is.
        public var schemaVersion: Int

        public var description: String {
            "\(Self.size(bytes)), \(tables) tables, \(orders) orders, schema version \(schemaVersion)"
        }

        static func size(_ bytes: Int64) -> String {
            switch bytes {
            case ..<1024: "\(bytes) bytes"
            case ..<(1024 * 1024): String(format: "%.1f KiB", Double(bytes) / 1024)
            case ..<(1024 * 1024 * 1024): String(format: "%.1f MiB", Double(bytes) / 1024 / 1024)
            default: String(format: "%.2f GiB", Double(bytes) / 1024 / 1024 / 1024)
            }
        }
    }

    /// Writes a consistent copy of `database` to `path` while the database stays in use.
    ///
    /// The copy is written beside `path` under a temporary name and takes its name only once it
    /// is complete (and, for SQLite, checked), so `path` never holds half a backup.
    /// - Parameter overwrite: replace `path` if it exists; without it an existing file is an error.
    public static func backup(database: Database, to path: String, overwrite: Bool = false, logger: Logger) async throws
        -> Summary
    {
        let path = absolute(path)
        try checkDestination(path, overwrite: overwrite)
        switch database.location {
        case .sqlite:
            return try await backupSQLite(database, to: path, overwrite: overwrite, logger: logger)
        case .postgres(let settings):
            return try await backupPostgres(
                database, settings: settings, to: path, overwrite: overwrite, logger: logger)
        }
    }

    /// Replaces the database at `location` with the backup at `path`, after checking that the file
    /// is a readable OrderFlow backup of the right kind; a refused file changes nothing.
    ///
    /// Stop every `orderflow serve` using the database first. On SQLite a database still open in
    /// another process is refused (``BackupError/databaseInUse(_:)``); on PostgreSQL the restore
    /// would wait for the server's transactions and then pull the data from under it.
    public static func restore(from path: String, to location: DatabaseLocation, logger: Logger) async throws -> Summary
    {
        let path = absolute(path)
        guard FileManager.default.fileExists(atPath: path) else { throw BackupError.backupMissing(path) }
        let format = try FileFormat.sniff(path)
        switch location {
        case .sqlite(let target):
            guard format != .postgresArchive else {
                throw BackupError.wrongKind(path, backup: .postgres, target: .sqlite)
            }
            return try await restoreSQLite(from: path, to: absolute(target), logger: logger)
        case .postgres(let settings):
            guard format != .sqlite else { throw BackupError.wrongKind(path, backup: .sqlite, target: .postgres) }
            return try await restorePostgres(from: path, to: location, settings: settings, logger: logger)
        }
    }

    /// Orders held by the database at `location`: 0 when it does not exist yet or holds no
    /// OrderFlow tables. Opens nothing that is not there already.
    public static func orderCount(at location: DatabaseLocation, logger: Logger) async throws -> Int {
        switch location {
        case .sqlite(let path):
            if !FileManager.default.fileExists(atPath: absolute(path)) { return 0 }
        case .postgres(let settings):
            try await checkReachable(settings, logger: logger)
        }
        let database = try await Database.open(location, logger: logger)
        return try await database.withRunning { database in
            try await database.read { db in try await Contents.read(db, kind: database.kind).orders }
        }
    }
}

/// Why a backup or a restore did not happen, in words for whoever runs it.
public enum BackupError: Error, Equatable, CustomStringConvertible {
    case destinationExists(String)
    case destinationFolderMissing(String)
    case backupMissing(String)
    case databaseMissing(String)
    case cannotConnect(String, reason: String)
    case unreadable(String, reason: String)
    case damaged(String, problems: [String])
    case notOrderFlow(String)
    case wrongKind(String, backup: Database.Kind, target: Database.Kind)
    case databaseInUse(String)
    case targetHasNewerTables(String, tables: [String])
    case toolMissing(String)
    case toolTooOld(String, path: String, version: String, serverVersion: Int)
    case dumpFailed(String, status: Int32, message: String)
    case restoreFailed(String, status: Int32, message: String)
    case fileSystem(String, reason: String)

    public var description: String {
        switch self {
        case .destinationExists(let path):
            "\(path) already exists; nothing was written. Choose another file name, or pass --overwrite to replace it."
        case .destinationFolderMissing(let path):
            "the folder for \(path) does not exist; nothing was written. Create it first (mkdir -p) or choose another path."
        case .backupMissing(let path):
            "there is no backup file at \(path); nothing was changed. Check the path (ls -l) and run again."
        case .databaseMissing(let path):
            "there is no database at \(path); nothing was written. Check --database or ORDERFLOW_DATABASE (the default is sqlite:orderflow.sqlite in the current folder)."
        case .cannotConnect(let location, let reason):
            "cannot connect to \(location): \(reason); nothing was written or changed. Check that the server runs and that the host, port, user, password and database name in --database or ORDERFLOW_DATABASE are right (a new database needs createdb first)."
        case .unreadable(let path, let reason):
            "\(path) is not a readable OrderFlow backup (\(reason)); nothing was changed. It may be truncated or not a backup at all: use another backup file."
        case .damaged(let path, let problems):
            "\(path) failed SQLite's integrity check (\(problems.prefix(3).joined(separator: "; "))); nothing was changed. Use another backup file."
        case .notOrderFlow(let path):
            "\(path) is a database, but not OrderFlow's (it has no schema_migrations table); nothing was changed. Use a file written by orderflow backup."
        case .wrongKind(let path, let backup, let target):
            "\(path) is a backup of \(Self.name(backup)) database, but the database to restore into (--database or ORDERFLOW_DATABASE) is \(Self.name(target)) one; nothing was changed. Restore it into \(Self.name(backup)) database, or use a backup of this one."
        case .databaseInUse(let path):
            "\(path) is open in another process (is orderflow serve still running?); nothing was changed. Stop every OrderFlow process using it, then run restore again."
        case .targetHasNewerTables(let path, let tables):
            "the database holds tables the backup does not (\(tables.joined(separator: ", "))): it is at a newer schema than \(path); nothing was changed. Restore into an empty database (createdb), or drop those tables first."
        case .toolMissing(let tool):
            "\(tool) was not found on PATH or in /usr/lib/postgresql/*/bin; nothing was changed. Install the PostgreSQL client programs (Debian: apt-get install postgresql-client), at least the server's major version."
        case .toolTooOld(let tool, let path, let version, let server):
            "\(path) is \(tool) \(version), older than the PostgreSQL \(server) server, and cannot dump it; nothing was written. Install the client programs of PostgreSQL \(server) or newer (Debian: apt-get install postgresql-client-\(server)) and put them on PATH."
        case .dumpFailed(let tool, let status, let message):
            "\(tool) failed (exit status \(status)): \(message)\nNothing was written. Check that the server is reachable with these settings and that the user may read every table, then run backup again."
        case .restoreFailed(let tool, let status, let message):
            "\(tool) failed (exit status \(status)): \(message)\nIts single transaction was rolled back: nothing was changed. If the message points at the file, use another backup; otherwise check that the database exists (createdb) and that the user may create tables in it, then run restore again."
        case .fileSystem(let path, let reason):
            "\(path): \(reason)"
        }
    }

    private static func name(_ kind: Database.Kind) -> String {
        kind == .sqlite ? "an SQLite" : "a PostgreSQL"
    }
}

extension Backup {
    /// What the tables of a database hold, read inside whatever transaction `db` is in.
    struct Contents: Sendable {
        var tables: Set<String>
        var orders: Int
        var schemaVersion: Int
        var isOrderFlow: Bool { tables.contains("schema_migrations") }

        static func read(_ db: any SQLDatabase, kind: Database.Kind) async throws -> Contents {
            let listing: SQLQueryString =
                kind == .sqlite
                ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
                : "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            let tables = Set(try await db.raw(listing).all().map { try $0.decode(column: "name", as: String.self) })
            var contents = Contents(tables: tables, orders: 0, schemaVersion: 0)
            if tables.contains("orders") {
                contents.orders =
                    try await db.raw("SELECT COUNT(*) AS n FROM orders").first()?.decode(column: "n", as: Int.self) ?? 0
            }
            if tables.contains("schema_migrations") {
                contents.schemaVersion =
                    try await db.raw("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations").first()?.decode(
                        column: "v", as: Int.self) ?? 0
            }
            return contents
        }
    }

    /// What a file is, from its first bytes.
    enum FileFormat: Equatable {
        case sqlite, postgresArchive, other

        static func sniff(_ path: String) throws -> FileFormat {
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw BackupError.fileSystem(path, reason: "cannot be opened for reading (check its permissions)")
            }
            defer { try? handle.close() }
            let head = (try? handle.read(upToCount: 16)) ?? Data()
            if head.starts(with: Data("SQLite format 3\0".utf8)) { return .sqlite }
            if head.starts(with: Data("PGDMP".utf8)) { return .postgresArchive }
            return .other
        }
    }

    static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }

    static func checkDestination(_ path: String, overwrite: Bool) throws {
        if !overwrite && FileManager.default.fileExists(atPath: path) { throw BackupError.destinationExists(path) }
        var isFolder: ObjCBool = false
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw BackupError.destinationFolderMissing(path)
        }
    }

    /// A name beside `path` for a file being written, hidden and unique.
    static func partialPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.deletingLastPathComponent().appendingPathComponent(
            ".\(url.lastPathComponent).partial-\(UUID().uuidString.prefix(8))"
        ).path
    }

    /// Writes a backup under a temporary name beside `path` (`write` fills it and says what it
    /// holds), then makes it owner-only, flushes it and renames it into place; a failure leaves
    /// no partial file behind.
    static func writeBackup(to path: String, overwrite: Bool, _ write: (String) async throws -> Contents) async throws
        -> Summary
    {
        let partial = partialPath(for: path)
        do {
            // Readable by its owner only from the first byte on: it will hold password hashes and
            // secrets. (VACUUM INTO and pg_dump both write into an empty file that exists.)
            guard FileManager.default.createFile(atPath: partial, contents: nil, attributes: [.posixPermissions: 0o600])
            else {
                throw BackupError.fileSystem(partial, reason: "cannot create it: \(String(cString: strerror(errno)))")
            }
            let contents = try await write(partial)
            try restrictToOwner(partial)
            try sync(partial)
            try publish(partial, as: path, overwrite: overwrite)
            return Summary(
                path: path, bytes: fileSize(path), tables: contents.tables.count, orders: contents.orders,
                schemaVersion: contents.schemaVersion)
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }

    static func fileSize(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    /// Makes a finished file readable by its owner only: it holds password hashes and secrets.
    static func restrictToOwner(_ path: String) throws {
        do {
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        } catch {
            throw BackupError.fileSystem(path, reason: "cannot restrict its permissions: \(error)")
        }
    }

    /// Flushes a file, or a folder's entries, to disk.
    static func sync(_ path: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw BackupError.fileSystem(path, reason: "cannot open to flush it: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else {
            throw BackupError.fileSystem(
                path, reason: "flushing it to disk failed: \(String(cString: strerror(errno)))")
        }
    }

    /// Gives the finished `partial` its final name in one step (a rename within one folder), then
    /// makes the new name durable.
    static func publish(_ partial: String, as path: String, overwrite: Bool) throws {
        if !overwrite && FileManager.default.fileExists(atPath: path) { throw BackupError.destinationExists(path) }
        guard rename(partial, path) == 0 else {
            throw BackupError.fileSystem(
                path, reason: "cannot rename the finished copy into place: \(String(cString: strerror(errno)))")
        }
        try sync(URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }
}
