import Foundation
import OrderFlowPersistence
import OrderFlowTestSupport
import Testing

@Suite("Database locations")
struct DatabaseLocationTests {
    /// TLS is used whenever the server offers it, unless the URL says otherwise.
    @Test func postgresPrefersTLSUnlessTold() throws {
        guard
            case .postgres(let plain) = try DatabaseLocation(parsing: "postgres://orderflow:secret@db.internal/orders")
        else {
            Issue.record("not PostgreSQL")
            return
        }
        #expect(plain.tlsMode == "prefer" && plain.port == 5432 && plain.password == "secret")
        guard
            case .postgres(let told) = try DatabaseLocation(
                parsing: "postgresql://u@h:6432/d?sslmode=disable&max_connections=3")
        else {
            Issue.record("not PostgreSQL")
            return
        }
        #expect(told.tlsMode == "disable" && told.port == 6432 && told.maxConnections == 3)
        #expect(
            "\(try DatabaseLocation(parsing: "postgres://orderflow:secret@db.internal/orders"))".contains("secret")
                == false)
    }

    /// A new SQLite database, and the write-ahead log beside it, are readable by their owner only
    /// from the start: they hold password hashes and secrets.
    @Test func aNewSQLiteDatabaseIsItsOwnersOnly() async throws {
        let (location, drop) = try await TestDatabase.create(.sqlite)
        guard case .sqlite(let path) = location else { return }
        let database = try await Database.open(location, logger: TestDatabase.logger)
        try await database.withRunning { database in
            try await database.transaction { db in try await db.raw("CREATE TABLE notes (text TEXT)").run() }
            for file in [path, path + "-wal"] {
                let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? NSNumber
                #expect(mode?.intValue == 0o600, "\(file): \(String(mode?.intValue ?? 0, radix: 8))")
            }
        }
        await drop()
    }
}
