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
}
