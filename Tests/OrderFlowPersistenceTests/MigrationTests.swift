import OrderFlowDomain
import OrderFlowPersistence
import OrderFlowTestSupport
import SQLKit
import Testing

@Suite("Migrations", .databaseSlots)
struct MigrationTests {
    @Test(arguments: TestDatabase.kinds)
    func applyRevertAndReapply(kind: Database.Kind) async throws {
        try await TestDatabase.with(kind, migrated: false) { (database: Database) async throws in
            let migrator = Migrator(database: database, logger: TestDatabase.logger)
            #expect(try await migrator.applied() == [])
            #expect(try await migrator.migrate() == Migrations.all.map(\.version))
            #expect(try await migrator.migrate() == [], "a second run applies nothing")
            #expect(try await database.count("orders") == 0)

            #expect(try await migrator.revert(to: 0) == Migrations.all.map(\.version).reversed())
            #expect(try await migrator.applied() == [])
            await #expect(throws: (any Error).self) { try await database.count("orders") }

            #expect(try await migrator.migrate() == Migrations.all.map(\.version))
            #expect(try await database.count("outbox") == 0)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func concurrentMigratorsApplyEachVersionOnce(kind: Database.Kind) async throws {
        try await TestDatabase.with(kind, migrated: false) { (database: Database) async throws in
            let results = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<4 {
                    group.addTask { try await Migrator(database: database, logger: TestDatabase.logger).migrate() }
                }
                return try await group.reduce(into: [Int]()) { $0 += $1 }
            }
            #expect(results.sorted() == Migrations.all.map(\.version))
            #expect(try await database.count("schema_migrations") == Migrations.all.count)
        }
    }

    /// Migration 8 gives every event received so far the store of its order (or none when the
    /// order is gone), and going back keeps them.
    @Test(arguments: TestDatabase.kinds)
    func inboundEventsMoveToTheirOrdersStore(kind: Database.Kind) async throws {
        try await TestDatabase.with(kind, migrated: false) { (database: Database) async throws in
            let migrator = Migrator(database: database, logger: TestDatabase.logger)
            _ = try await migrator.migrate()
            _ = try await migrator.revert(to: 7)
            try await Samples.seed(database)
            let order = try Samples.order("MIG-1", store: Samples.otherStore, at: Timestamp(microseconds: 1))
            try await Samples.create(order, in: OrderRepository(database: database))
            try await database.transaction { db in
                for (event, order) in [("e-1", "MIG-1"), ("e-2", "GONE-1")] {
                    try await db.raw(
                        """
                        INSERT INTO inbound_events (event_id, kind, order_id, received_at, outcome)
                        VALUES (\(bind: event), 'ship', \(bind: order), 1, 'applied')
                        """
                    ).run()
                }
            }
            // Later migrations come along (9: rate limits per key and user).
            #expect(try await migrator.migrate() == [8, 9])
            let rows = try await database.read { db in
                try await db.raw("SELECT location_id, event_id FROM inbound_events ORDER BY event_id").all()
            }
            #expect(
                try rows.map { try $0.decode(column: "location_id", as: String.self) } == [
                    Samples.otherStore.id.rawValue, "",
                ])
            #expect(try await migrator.revert(to: 7).sorted() == [8, 9])
            #expect(try await database.count("inbound_events") == 2)
        }
    }
}
