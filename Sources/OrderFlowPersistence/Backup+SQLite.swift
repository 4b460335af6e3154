import Foundation
import Logging
import SQLKit
import SQLiteKit

extension Backup {
    static func backupSQLite(_ database: Database, to path: String, overwrite: Bool, logger: Logger) async throws
        -> Summary
    {
        try await writeBackup(to: path, overwrite: overwrite) { partial in
            // VACUUM refuses to run inside a transaction; its read of the source is one snapshot.
            try await database.outsideTransaction { db in
                try await db.raw("VACUUM INTO \(bind: partial)").run()
            }
            return try await checkedSQLite(partial, reportedAs: path, requireOrderFlow: false, logger: logger)
        }
    }

    /// Copies the backup beside the target, checks the copy, then swaps it in with one rename.
    /// What is checked is exactly what is installed, and a failure at any step leaves the target
    /// as it was.
    static func restoreSQLite(from path: String, to target: String, logger: Logger) async throws -> Summary {
        let folder = URL(fileURLWithPath: target).deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw BackupError.fileSystem(folder, reason: "cannot create the database's folder: \(error)")
        }
        let partial = partialPath(for: target)
        do {
            do {
                try FileManager.default.copyItem(atPath: path, toPath: partial)
            } catch {
                throw BackupError.fileSystem(
                    partial, reason: "cannot copy the backup beside the database (is the disk full?): \(error)")
            }
            let contents = try await checkedSQLite(partial, reportedAs: path, requireOrderFlow: true, logger: logger)
            matchOwnership(of: partial, to: target, logger: logger)
            try sync(partial)
            try await ensureNotInUse(target, logger: logger)
            // The old database's write-ahead log must not be replayed into the restored file.
            for suffix in ["-wal", "-shm", "-journal"] where FileManager.default.fileExists(atPath: target + suffix) {
                do {
                    try FileManager.default.removeItem(atPath: target + suffix)
                } catch {
                    throw BackupError.fileSystem(
                        target + suffix, reason: "cannot remove the old database's \(suffix.dropFirst()) file: \(error)"
                    )
                }
            }
            try publish(partial, as: target, overwrite: true)
            return Summary(
                path: path, bytes: fileSize(target), tables: contents.tables.count, orders: contents.orders,
                schemaVersion: contents.schemaVersion)
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }

    /// Checks the SQLite file at `path` (SQLite's integrity check, then, if asked, OrderFlow's
    /// migrations table) and reads what it holds. Errors name `name`, the file the user knows.
    ///
    /// `path` must be a file only this process writes: it is opened read-only and immutable, so
    /// no lock or journal files appear beside it.
    static func checkedSQLite(_ path: String, reportedAs name: String, requireOrderFlow: Bool, logger: Logger)
        async throws -> Contents
    {
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(storage: .file(path: readOnlyURI(path)), logger: logger)
        } catch {
            throw BackupError.unreadable(name, reason: reason(error))
        }
        do {
            let contents = try await check(
                connection.sql(queryLogLevel: nil), at: path, name: name, requireOrderFlow: requireOrderFlow)
            try await connection.close()
            return contents
        } catch {
            try? await connection.close()
            throw error
        }
    }

    private static func check(_ db: any SQLDatabase, at path: String, name: String, requireOrderFlow: Bool) async throws
        -> Contents
    {
        // A copy cut off short of its last page is damaged, whatever the pages it still has say:
        // SQLite reads the missing bytes as zeros (a cut inside free space even passes the
        // integrity check), and reading what was cut away (the schema, say) fails as if the file
        // were not SQLite at all. Its header says how long it is.
        if let expectedBytes = declaredSize(path), fileSize(path) < expectedBytes {
            throw BackupError.damaged(
                name,
                problems: [
                    "the file ends \(expectedBytes - fileSize(path)) bytes short of its last page: it was cut off"
                ])
        }
        let problems: [String]
        let contents: Contents
        do {
            problems = try await db.raw("PRAGMA integrity_check").all().map {
                try $0.decode(column: "integrity_check", as: String.self)
            }
            contents = try await Contents.read(db, kind: .sqlite)
        } catch {
            throw BackupError.unreadable(name, reason: reason(error))
        }
        guard problems == ["ok"] else { throw BackupError.damaged(name, problems: problems.filter { $0 != "ok" }) }
        if requireOrderFlow && !contents.isOrderFlow { throw BackupError.notOrderFlow(name) }
        return contents
    }

    /// The size an SQLite file's header declares (page size × page count), when the header says
    /// its page count is current (the "version-valid-for" number matches the change counter).
    static func declaredSize(_ path: String) -> Int64? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let header = try? handle.read(upToCount: 100), header.count == 100,
            header.starts(with: Data("SQLite format 3\u{0}".utf8))
        else { return nil }
        func number(_ offset: Int, _ bytes: Int) -> Int64 {
            header[offset..<offset + bytes].reduce(0) { $0 << 8 | Int64($1) }
        }
        guard number(24, 4) == number(92, 4) else { return nil }
        let pageSize = number(16, 2) == 1 ? 65_536 : number(16, 2)
        return pageSize * number(28, 4)
    }

    /// Refuses a database that another connection holds open. An open SQLite connection in WAL
    /// mode keeps a shared lock on the file, so an exclusive lock can be had only when nothing
    /// else, in this process or another, has it open.
    static func ensureNotInUse(_ target: String, logger: Logger) async throws {
        guard FileManager.default.fileExists(atPath: target) else { return }
        let connection = try await SQLiteConnection.open(storage: .file(path: target), logger: logger)
        var inUse = false
        do {
            for statement in [
                "PRAGMA busy_timeout = 0", "PRAGMA locking_mode = EXCLUSIVE", "BEGIN EXCLUSIVE", "COMMIT",
            ] {
                _ = try await connection.query(statement)
            }
        } catch let error as SQLiteError
            where [.busy, .locked, .busyTimeout, .busyInRecovery, .busyInSnapshot].contains(error.reason)
        {
            inUse = true
        } catch {
            // A damaged or foreign target is what a restore is for: replace it.
            logger.warning(
                "the database to restore over could not be opened; replacing it",
                metadata: ["path": "\(target)", "error": "\(error)"])
        }
        try? await connection.close()
        if inUse { throw BackupError.databaseInUse(target) }
    }

    /// Gives the restored file the old database's owner and mode, so that a server running as
    /// another user than the one restoring can still write it.
    private static func matchOwnership(of partial: String, to target: String, logger: Logger) {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: target) else { return }
        let kept = attributes.filter { [.ownerAccountID, .groupOwnerAccountID, .posixPermissions].contains($0.key) }
        do {
            try FileManager.default.setAttributes(kept, ofItemAtPath: partial)
        } catch {
            logger.warning(
                "the restored database could not be given the old one's owner and permissions; check them before starting the server",
                metadata: ["path": "\(target)", "error": "\(error)"])
        }
    }

    /// A URI that opens `path` read-only and immutable.
    static func readOnlyURI(_ path: String) -> String {
        let escaped = path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? path
        return "file:\(escaped)?mode=ro&immutable=1"
    }

    static func reason(_ error: any Error) -> String {
        if let error = error as? SQLiteError { return error.message }
        if let error = error as? SQLiteFailure { return error.message }
        return String(describing: error)
    }
}
