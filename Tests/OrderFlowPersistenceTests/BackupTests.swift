import Foundation
import OrderFlowDomain
import OrderFlowPersistence
import OrderFlowTestSupport
import SQLKit
import Testing

// One test at a time: run all at once, their copies, dumps and child processes starve the
// pipeline tests' 2-second step limit on a 2-core machine.
@Suite("Backup and restore", .serialized, .databaseSlots)
struct BackupTests {
    static let start = Timestamp(microseconds: 1_795_000_000_000_000)
    static let logger = TestDatabase.logger

    @Test(arguments: TestDatabase.kinds)
    func restoreBringsBackWhatWasBackedUpAndNothingLater(kind: Database.Kind) async throws {
        try await Self.withScratch(kind) { files, location in
            let backup = files.path("orderflow.backup")

            let (backedUp, summary) = try await Self.using(location) { database in
                try await Migrator(database: database, logger: Self.logger).migrate()
                try await Samples.seed(database)
                let repository = OrderRepository(database: database)
                try await Samples.create(try Samples.order("ORD-1", at: Self.start), in: repository)
                let claim = IdempotencyClaim(
                    scope: "caller", key: "k-2", requestHash: "h", statusCode: 201, responseBody: "{}")
                try await Samples.create(
                    try Samples.order("ORD-2", at: Self.start.adding(seconds: 1)), in: repository, idempotency: claim)
                let summary = try await Backup.backup(database: database, to: backup, logger: Self.logger)
                return (try await Fingerprint.of(database), summary)
            }
            #expect(summary.orders == 2)
            #expect(summary.schemaVersion == Migrations.all.map(\.version).max())
            #expect(summary.tables > Fingerprint.tables.count)
            #expect(summary.bytes == Self.size(of: backup))
            #expect(try Self.permissions(of: backup) == 0o600, "a backup holds secrets: its owner's only")

            // After the backup: a new order, a cancellation, a stock change, rows deleted.
            try await Self.using(location) { database in
                try await Self.changeEverything(database)
                #expect(try await Fingerprint.of(database) != backedUp)
            }

            let restored = try await Backup.restore(from: backup, to: location, logger: Self.logger)
            #expect(restored.orders == 2)
            #expect(restored.schemaVersion == summary.schemaVersion)
            #expect(restored.tables == summary.tables)
            try await Self.using(location) { database in
                #expect(try await Fingerprint.of(database) == backedUp)
                try await Self.expectUsable(database)
            }

            let (fresh, dropFresh) = try await TestDatabase.create(kind)
            defer { Task { await dropFresh() } }
            #expect(try await Backup.orderCount(at: fresh, logger: Self.logger) == 0)
            _ = try await Backup.restore(from: backup, to: fresh, logger: Self.logger)
            #expect(try await Backup.orderCount(at: fresh, logger: Self.logger) == 2)
            try await Self.using(fresh) { database in
                #expect(try await Fingerprint.of(database) == backedUp)
                try await Self.expectUsable(database)
            }
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func backupTakenDuringWritesIsConsistent(kind: Database.Kind) async throws {
        let files = try Folder()
        defer { files.remove() }
        try await TestDatabase.with(kind) { database in
            try await Samples.seed(database, stock: 10_000)
            let repository = OrderRepository(database: database)
            let writer = Task {
                for index in 0..<60 {
                    try await Samples.create(
                        try Samples.order("ORD-W\(index)", at: Self.start.adding(seconds: Double(index))),
                        in: repository)
                }
            }
            try await Task.sleep(for: .milliseconds(50))
            let summary = try await Backup.backup(
                database: database, to: files.path("during.backup"), logger: Self.logger)
            try await writer.value
            #expect(try await database.count("orders") == 60)

            let (copy, drop) = try await TestDatabase.create(kind)
            defer { Task { await drop() } }
            _ = try await Backup.restore(from: files.path("during.backup"), to: copy, logger: Self.logger)
            try await Self.using(copy) { restored in
                let orders = try await restored.count("orders")
                #expect(orders == summary.orders, "the summary counts what the file holds")
                // Each order is written with two lines, one history row and one event, in one
                // transaction: a copy that is one moment sees all of them or none.
                #expect(try await restored.count("order_lines") == 2 * orders)
                #expect(try await restored.count("order_status_history") == orders)
                #expect(try await restored.count("outbox") == orders)
            }
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func refusesDamagedForeignOrWrongKindFilesAndChangesNothing(kind: Database.Kind) async throws {
        try await Self.withScratch(kind) { files, location in
            let before = try await Self.using(location) { database in
                try await Migrator(database: database, logger: Self.logger).migrate()
                try await Samples.seed(database)
                try await Samples.create(
                    try Samples.order("ORD-1", at: Self.start), in: OrderRepository(database: database))
                _ = try await Backup.backup(database: database, to: files.path("good.backup"), logger: Self.logger)
                return try await Fingerprint.of(database)
            }

            // Not a database at all.
            try Data("these are not the orders you are looking for\n".utf8).write(
                to: URL(fileURLWithPath: files.path("notes.txt")))
            // A real backup cut in half, as an interrupted copy leaves it.
            let good = try Data(contentsOf: URL(fileURLWithPath: files.path("good.backup")))
            try good.prefix(good.count / 2).write(to: URL(fileURLWithPath: files.path("truncated.backup")))
            // The same, with only its last bytes missing: SQLite's integrity check alone would pass
            // it; pg_restore reads its table of contents and fails in the data, inside its transaction.
            try good.dropLast(64).write(to: URL(fileURLWithPath: files.path("cut.backup")))
            // A sound backup of a database that is not OrderFlow's.
            let (foreign, dropForeign) = try await TestDatabase.create(kind)
            defer { Task { await dropForeign() } }
            try await Self.using(foreign) { database in
                try await database.transaction { db in try await db.raw("CREATE TABLE recipes (name TEXT)").run() }
                _ = try await Backup.backup(database: database, to: files.path("foreign.backup"), logger: Self.logger)
            }
            // A backup of the other kind of database.
            let otherKind = files.path("other-kind.backup")
            if kind == .sqlite {
                try Data("PGDMP\u{1}\u{e}\u{0}".utf8).write(to: URL(fileURLWithPath: otherKind))
            } else {
                let (sqlite, dropSQLite) = try await TestDatabase.create(.sqlite)
                defer { Task { await dropSQLite() } }
                try await Self.using(sqlite) { database in
                    _ = try await Backup.backup(database: database, to: otherKind, logger: Self.logger)
                }
            }

            for (file, expected) in [
                ("notes.txt", ["unreadable"]),
                ("truncated.backup", kind == .sqlite ? ["unreadable", "damaged"] : ["unreadable", "restoreFailed"]),
                ("cut.backup", kind == .sqlite ? ["damaged"] : ["restoreFailed"]),
                ("foreign.backup", ["notOrderFlow"]),
                ("other-kind.backup", ["wrongKind"]),
                ("missing.backup", ["backupMissing"]),
            ] {
                let error = await #expect(throws: BackupError.self, "\(file)") {
                    try await Backup.restore(from: files.path(file), to: location, logger: Self.logger)
                }
                #expect(expected.contains(error.map(Self.name) ?? ""), "\(file): \(String(describing: error))")
                #expect(error.map { "\($0)".contains("nothing was changed") } ?? false, "\(file): the message says so")
            }
            let after = try await Self.using(location) { database in try await Fingerprint.of(database) }
            #expect(after == before)
            if case .sqlite(let path) = location {
                let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
                #expect(
                    try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.contains(".partial-") }
                        == [], "no half-written copy is left behind")
            }
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func backupRefusesToOverwriteUnlessAsked(kind: Database.Kind) async throws {
        let files = try Folder()
        defer { files.remove() }
        let existing = files.path("existing.backup")
        let keep = Data("yesterday's backup\n".utf8)
        try keep.write(to: URL(fileURLWithPath: existing))
        try await TestDatabase.with(kind) { database in
            try await Samples.seed(database)
            try await Samples.create(
                try Samples.order("ORD-1", at: Self.start), in: OrderRepository(database: database))

            await #expect(throws: BackupError.destinationExists(existing)) {
                try await Backup.backup(database: database, to: existing, logger: Self.logger)
            }
            #expect(try Data(contentsOf: URL(fileURLWithPath: existing)) == keep)

            let summary = try await Backup.backup(
                database: database, to: existing, overwrite: true, logger: Self.logger)
            #expect(summary.orders == 1)
            #expect(try Data(contentsOf: URL(fileURLWithPath: existing)) != keep)

            let nowhere = files.path("no/such/folder/x.backup")
            await #expect(throws: BackupError.destinationFolderMissing(nowhere)) {
                try await Backup.backup(database: database, to: nowhere, logger: Self.logger)
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: files.root).sorted() == ["existing.backup"])
    }

    /// A table the backup does not have: SQLite's restore replaces the whole file, so it is gone;
    /// pg_restore --clean would leave it behind, unrecorded, so PostgreSQL refuses.
    @Test(arguments: TestDatabase.kinds)
    func tablesNewerThanTheBackup(kind: Database.Kind) async throws {
        try await Self.withScratch(kind) { files, location in
            let before = try await Self.using(location) { database in
                try await Migrator(database: database, logger: Self.logger).migrate()
                _ = try await Backup.backup(database: database, to: files.path("a.backup"), logger: Self.logger)
                try await database.transaction { db in try await db.raw("CREATE TABLE later_feature (id INTEGER)").run()
                }
                return try await Fingerprint.of(database)
            }
            if kind == .sqlite {
                _ = try await Backup.restore(from: files.path("a.backup"), to: location, logger: Self.logger)
                try await Self.using(location) { database in
                    await #expect(throws: (any Error).self) { try await database.count("later_feature") }
                }
            } else {
                await #expect(
                    throws: BackupError.targetHasNewerTables(files.path("a.backup"), tables: ["later_feature"])
                ) {
                    try await Backup.restore(from: files.path("a.backup"), to: location, logger: Self.logger)
                }
                let after = try await Self.using(location) { database in try await Fingerprint.of(database) }
                #expect(after == before)
            }
        }
    }

    @Test func sqliteRestoreRefusesADatabaseStillOpen() async throws {
        let files = try Folder()
        defer { files.remove() }
        try await TestDatabase.with(.sqlite) { database in
            try await Samples.seed(database)
            _ = try await Backup.backup(database: database, to: files.path("a.backup"), logger: Self.logger)
            try await Samples.create(
                try Samples.order("ORD-1", at: Self.start), in: OrderRepository(database: database))
            await #expect(throws: BackupError.databaseInUse(Self.path(of: database.location))) {
                try await Backup.restore(from: files.path("a.backup"), to: database.location, logger: Self.logger)
            }
            #expect(try await database.count("orders") == 1)
        }
    }

    /// What backups are for: the database file is damaged and will not even open.
    @Test func sqliteRestoreReplacesADamagedDatabase() async throws {
        let files = try Folder()
        defer { files.remove() }
        let (location, drop) = try await TestDatabase.create(.sqlite)
        defer { Task { await drop() } }
        let backedUp = try await Self.using(location) { database in
            try await Migrator(database: database, logger: Self.logger).migrate()
            try await Samples.seed(database)
            try await Samples.create(
                try Samples.order("ORD-1", at: Self.start), in: OrderRepository(database: database))
            _ = try await Backup.backup(database: database, to: files.path("a.backup"), logger: Self.logger)
            return try await Fingerprint.of(database)
        }
        try Data(repeating: 0x5A, count: 8192).write(to: URL(fileURLWithPath: Self.path(of: location)))
        await #expect(throws: (any Error).self) { try await Backup.orderCount(at: location, logger: Self.logger) }

        _ = try await Backup.restore(from: files.path("a.backup"), to: location, logger: Self.logger)
        let restored = try await Self.using(location) { database in try await Fingerprint.of(database) }
        #expect(restored == backedUp)
    }

    @Test(.enabled(if: TestDatabase.postgresURL != nil))
    func postgresNamesAServerItCannotReach() async throws {
        let files = try Folder()
        defer { files.remove() }
        let (location, drop) = try await TestDatabase.create(.postgres)
        guard case .postgres(var missing) = location else { return }
        await drop()
        missing.database += "_gone"
        let error = await #expect(throws: BackupError.self) {
            try await Backup.restore(from: files.path("any.backup"), to: .postgres(missing), logger: Self.logger)
        }
        #expect(error.map(Self.name) == "backupMissing")
        try Data("PGDMP".utf8).write(to: URL(fileURLWithPath: files.path("any.backup")))
        let unreachable = await #expect(throws: BackupError.self) {
            try await Backup.restore(from: files.path("any.backup"), to: .postgres(missing), logger: Self.logger)
        }
        #expect(unreachable.map(Self.name) == "cannotConnect")
        #expect(
            unreachable.map { "\($0)".contains("\"\(missing.database)\" does not exist") } ?? false,
            "\(String(describing: unreachable))")
        await #expect(throws: BackupError.self) {
            try await Backup.orderCount(at: .postgres(missing), logger: Self.logger)
        }
    }

    // MARK: - Helpers

    /// Every kind of change after the backup: a new order, a cancellation, stock, deleted rows.
    static func changeEverything(_ database: Database) async throws {
        let repository = OrderRepository(database: database)
        try await Samples.create(try Samples.order("ORD-3", at: start.adding(seconds: 10)), in: repository)
        var order = try #require(try await repository.find(OrderID("ORD-1"))).order
        let version = order.version
        let change = try order.cancel(reason: "customer asked", actor: "clerk", at: start.adding(seconds: 11))
        try await repository.update(
            order, expectedVersion: version, history: change,
            events: [.forOrder("order.cancelled", order, at: order.updatedAt)])
        _ = try await InventoryRepository(database: database, clock: SystemClock()).setOnHand(
            7, sku: Samples.coffee.sku, at: Samples.qcStore.id)
        try await database.transaction { db in try await db.raw("DELETE FROM idempotency_keys").run() }
    }

    /// A restored database is migrated and takes writes (its keys and sequences came back too).
    static func expectUsable(_ database: Database) async throws {
        #expect(try await Migrator(database: database, logger: logger).migrate() == [])
        let repository = OrderRepository(database: database)
        #expect(
            try await Samples.create(try Samples.order("ORD-9", at: start.adding(seconds: 20)), in: repository)
                == .created)
        let order = try #require(try await repository.find(OrderID("ORD-9")))
        #expect(order.history.count == 1)
    }

    /// A folder for backup files and a fresh, empty database of `kind`, both removed afterwards.
    static func withScratch(_ kind: Database.Kind, _ body: (Folder, DatabaseLocation) async throws -> Void) async throws
    {
        let files = try Folder()
        defer { files.remove() }
        let (location, drop) = try await TestDatabase.create(kind)
        defer { Task { await drop() } }
        try await body(files, location)
    }

    static func using<T: Sendable>(_ location: DatabaseLocation, _ body: @Sendable (Database) async throws -> T)
        async throws -> T
    {
        let database = try await Database.open(
            location, options: DatabaseOptions(sqliteSynchronous: "normal"), logger: logger)
        return try await database.withRunning(body)
    }

    /// The error's case, as in `unreadable`.
    static func name(_ error: BackupError) -> String {
        Mirror(reflecting: error).children.first?.label ?? "\(error)"
    }

    static func size(of path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? -1
    }

    static func permissions(of path: String) throws -> Int {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber).intValue
            & 0o777
    }

    static func path(of location: DatabaseLocation) -> String {
        guard case .sqlite(let path) = location else { return "" }
        return URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// What a test database holds, in a form to compare before and after.
    struct Fingerprint: Equatable {
        static let tables = [
            "locations", "products", "stock", "orders", "order_lines", "order_status_history", "outbox",
            "idempotency_keys", "schema_migrations",
        ]

        var orders: [StoredOrder?]
        var stock: [StockLevel]
        var counts: [String: Int]

        static func of(_ database: Database) async throws -> Fingerprint {
            let repository = OrderRepository(database: database)
            var orders: [StoredOrder?] = []
            for id in ["ORD-1", "ORD-2", "ORD-3"] { orders.append(try await repository.find(OrderID(id))) }
            let stock = try await InventoryRepository(database: database, clock: SystemClock()).levels(
                of: Samples.coffee.sku)
            var counts: [String: Int] = [:]
            for table in tables { counts[table] = try await database.count(table) }
            return Fingerprint(
                orders: orders, stock: stock.sorted { $0.location.rawValue < $1.location.rawValue }, counts: counts)
        }
    }

    /// A temporary folder for backup files, removed at the end of a test.
    struct Folder {
        let root: String

        init() throws {
            root =
                FileManager.default.temporaryDirectory.appendingPathComponent(
                    "orderflow-backup-test-\(UUID().uuidString)"
                ).path
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        }

        func path(_ name: String) -> String { "\(root)/\(name)" }

        func remove() { try? FileManager.default.removeItem(atPath: root) }
    }
}
