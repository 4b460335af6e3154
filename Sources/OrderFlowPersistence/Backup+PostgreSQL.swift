import Foundation
import Logging
import NIOSSL
import PostgresKit
import SQLKit

extension Backup {
    /// Dumps one snapshot: a REPEATABLE READ transaction exports it, pg_dump reads it, and the
    /// summary's counts come from the same snapshot, so they match the file exactly.
    static func backupPostgres(
        _ database: Database, settings: DatabaseLocation.PostgresSettings, to path: String, overwrite: Bool,
        logger: Logger
    ) async throws -> Summary {
        let pgDump = try await PostgresTool.find("pg_dump")
        try await checkReachable(settings, logger: logger)
        let server = try await database.read { db in
            try await db.raw("SELECT current_setting('server_version_num')::int / 10000 AS major").first()?.decode(
                column: "major", as: Int.self) ?? 0
        }
        guard pgDump.major >= server else {
            throw BackupError.toolTooOld("pg_dump", path: pgDump.path, version: pgDump.version, serverVersion: server)
        }
        return try await writeBackup(to: path, overwrite: overwrite) { partial in
            try await database.outsideTransaction { db in
                try await db.inTransaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY") { db in
                    guard
                        let snapshot = try await db.raw("SELECT pg_export_snapshot() AS id").first()?.decode(
                            column: "id", as: String.self)
                    else {
                        throw BackupError.dumpFailed(
                            "pg_export_snapshot()", status: 1, message: "PostgreSQL returned no snapshot")
                    }
                    let contents = try await Contents.read(db, kind: .postgres)
                    let arguments =
                        ["--format=custom", "--no-owner", "--snapshot=\(snapshot)", "--file=\(partial)"]
                        + connectionArguments(settings)
                    _ = try await pgDump.output(arguments, settings: settings) {
                        BackupError.dumpFailed(pgDump.path, status: $0, message: $1)
                    }
                    return contents
                }
            }
        }
    }

    /// Checks the archive's table of contents first (readable, OrderFlow's, no newer than the
    /// database), then lets pg_restore replace everything in one transaction.
    static func restorePostgres(
        from path: String, to location: DatabaseLocation, settings: DatabaseLocation.PostgresSettings, logger: Logger
    ) async throws -> Summary {
        let pgRestore = try await PostgresTool.find("pg_restore")
        try await checkReachable(settings, logger: logger)
        let listing = try await pgRestore.output(
            ["--list", path], settings: settings, failure: { BackupError.unreadable(path, reason: $1) })
        let archived = archivedTables(listing)
        guard archived.contains("schema_migrations") else { throw BackupError.notOrderFlow(path) }

        let database = try await Database.open(location, logger: logger)
        let present = try await database.withRunning { database in
            try await database.read { db in try await Contents.read(db, kind: .postgres).tables }
        }
        // --clean drops only what the archive holds: tables of later migrations would stay behind,
        // unrecorded, and the next migration would fail on them.
        let extra = present.subtracting(archived).sorted()
        guard extra.isEmpty else { throw BackupError.targetHasNewerTables(path, tables: extra) }

        let arguments =
            ["--clean", "--if-exists", "--no-owner", "--single-transaction"] + connectionArguments(settings) + [path]
        _ = try await pgRestore.output(arguments, settings: settings) {
            BackupError.restoreFailed(pgRestore.path, status: $0, message: $1)
        }

        let restored = try await Database.open(location, logger: logger)
        let contents = try await restored.withRunning { database in
            try await database.read { db in try await Contents.read(db, kind: .postgres) }
        }
        return Summary(
            path: path, bytes: fileSize(path), tables: contents.tables.count, orders: contents.orders,
            schemaVersion: contents.schemaVersion)
    }

    /// Connects once, outside the pool, so that a wrong host, password or database name is
    /// reported at once and by its name; the pool retries quietly for a minute instead.
    static func checkReachable(_ settings: DatabaseLocation.PostgresSettings, logger: Logger) async throws {
        let location = DatabaseLocation.postgres(settings).description
        do {
            let tls: PostgresConnection.Configuration.TLS
            switch settings.tlsMode {
            case "require", "verify-ca", "verify-full":
                tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case "prefer", "allow": tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            default: tls = .disable
            }
            let configuration = PostgresConnection.Configuration(
                host: settings.host, port: settings.port, username: settings.username,
                password: settings.password, database: settings.database, tls: tls)
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            try await connection.close()
        } catch let error as PSQLError {
            let reason = error.serverInfo?[.message] ?? error.underlying.map { "\($0)" } ?? "\(error.code)"
            throw BackupError.cannotConnect(location, reason: reason)
        } catch {
            throw BackupError.cannotConnect(location, reason: "\(error)")
        }
    }

    /// The tables in a `pg_restore --list` listing: lines like `215; 1259 16385 TABLE public orders postgres`.
    static func archivedTables(_ listing: String) -> Set<String> {
        var tables: Set<String> = []
        for line in listing.split(separator: "\n") where !line.hasPrefix(";") {
            let words = line.split(separator: " ")
            guard let index = words.firstIndex(of: "TABLE"), index + 2 < words.count, words[index + 1] != "DATA" else {
                continue
            }
            tables.insert(String(words[index + 2]))
        }
        return tables
    }

    /// Host, port, user and database as flags; the password goes through the environment only.
    static func connectionArguments(_ settings: DatabaseLocation.PostgresSettings) -> [String] {
        [
            "--host=\(settings.host)", "--port=\(settings.port)", "--username=\(settings.username)",
            "--dbname=\(settings.database)",
        ]
    }
}

/// One of PostgreSQL's client programs (pg_dump, pg_restore) and its version.
struct PostgresTool: Sendable {
    let name: String
    let path: String
    let version: String
    let major: Int

    /// The newest `name` on PATH or in Debian's /usr/lib/postgresql/*/bin.
    static func find(_ name: String) async throws -> PostgresTool {
        var found: [PostgresTool] = []
        for path in candidates(name) {
            guard let result = try? await ChildProcess.run(path, ["--version"]), result.status == 0 else { continue }
            // "pg_dump (PostgreSQL) 15.5 (Debian 15.5-0+deb12u1)"
            let words = result.output.split(separator: " ")
            guard let index = words.firstIndex(of: "(PostgreSQL)"), index + 1 < words.count else { continue }
            let version = String(words[index + 1]).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let major = version.split(separator: ".").first.flatMap({ Int($0) }) else { continue }
            found.append(PostgresTool(name: name, path: path, version: version, major: major))
        }
        guard let newest = found.max(by: { $0.major < $1.major }) else { throw BackupError.toolMissing(name) }
        return newest
    }

    private static func candidates(_ name: String) -> [String] {
        let environment = ProcessInfo.processInfo.environment
        var folders = (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
        let debian = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: debian)) ?? []
        folders += versions.sorted().map { "\(debian)/\($0)/bin" }
        var seen: Set<String> = []
        return folders.map { "\($0)/\(name)" }.filter { path in
            FileManager.default.isExecutableFile(atPath: path)
                && seen.insert(URL(fileURLWithPath: path).resolvingSymlinksInPath().path).inserted
        }
    }

    /// Runs the tool against the server in `settings` and returns what it printed; a non-zero
    /// exit throws `failure(status, the last lines of its error output)`.
    func output(
        _ arguments: [String], settings: DatabaseLocation.PostgresSettings, failure: (Int32, String) -> BackupError
    ) async throws -> String {
        let result = try await ChildProcess.run(path, arguments, environment: Self.environment(settings))
        guard result.status == 0 else {
            let message = result.errors.split(separator: "\n").suffix(10).joined(separator: "\n")
            throw failure(result.status, message.isEmpty ? "it printed no reason" : message)
        }
        return result.output
    }

    /// libpq reads the password and TLS mode from here: nothing secret appears in `ps`.
    static func environment(_ settings: DatabaseLocation.PostgresSettings) -> [String: String] {
        var environment = ["PGSSLMODE": settings.tlsMode, "PGAPPNAME": "orderflow-backup", "PGCONNECT_TIMEOUT": "10"]
        if let password = settings.password { environment["PGPASSWORD"] = password }
        return environment
    }
}

/// A child process run to completion, its output collected through temporary files (pipes
/// would need reading while it runs, or it blocks when one fills).
enum ChildProcess {
    struct Result: Sendable {
        var status: Int32
        var output: String
        var errors: String
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) async throws
        -> Result
    {
        let folder = FileManager.default.temporaryDirectory
        let outputFile = folder.appendingPathComponent("orderflow-\(UUID().uuidString).out")
        let errorFile = folder.appendingPathComponent("orderflow-\(UUID().uuidString).err")
        defer {
            try? FileManager.default.removeItem(at: outputFile)
            try? FileManager.default.removeItem(at: errorFile)
        }
        _ = FileManager.default.createFile(
            atPath: outputFile.path, contents: nil, attributes: [.posixPermissions: 0o600])
        _ = FileManager.default.createFile(
            atPath: errorFile.path, contents: nil, attributes: [.posixPermissions: 0o600])
        let output = try FileHandle(forWritingTo: outputFile)
        let errors = try FileHandle(forWritingTo: errorFile)
        defer {
            try? output.close()
            try? errors.close()
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = errors
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                process.terminationHandler = { _ in continuation.resume() }
                do {
                    try process.run()
                } catch {
                    process.terminationHandler = nil
                    continuation.resume(throwing: error)
                }
            }
        } onCancel: {
            if process.isRunning { process.terminate() }
        }
        return Result(
            status: process.terminationStatus,
            output: String(decoding: (try? Data(contentsOf: outputFile)) ?? Data(), as: UTF8.self),
            errors: String(decoding: (try? Data(contentsOf: errorFile)) ?? Data(), as: UTF8.self))
    }
}
