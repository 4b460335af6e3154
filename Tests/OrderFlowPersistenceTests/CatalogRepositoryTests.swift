import OrderFlowDomain
import OrderFlowPersistence
import OrderFlowTestSupport
import Testing

@Suite("Catalog in storage", .databaseSlots)
struct CatalogRepositoryTests {
    @Test(arguments: TestDatabase.kinds)
    func productsAndLocationsRoundTrip(kind: Database.Kind) async throws {
        try await TestDatabase.with(kind) { database in
            try await Samples.seed(database)
            let catalog = CatalogRepository(database: database)
            #expect(try await catalog.product(SKU("COFFEE")) == Samples.coffee)
            #expect(try await catalog.locations() == Samples.locations.sorted { $0.id < $1.id })
            await #expect(
                throws: DomainError.conflict(code: "product_exists", message: "product 'COFFEE' already exists")
            ) {
                try await catalog.create(Samples.coffee)
            }
            await #expect(throws: DomainError.self) { try await catalog.create(Samples.qcStore) }
            let snapshot = try await catalog.snapshot(
                location: Samples.qcStore.id, skus: [SKU("COFFEE"), SKU("NOPE")], defaultImageURL: nil)
            #expect(snapshot.locations.keys.map(\.rawValue) == ["QC-T-001"])
            #expect(snapshot.products.keys.map(\.rawValue) == ["COFFEE"])
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func whatWasFoundIsKeptAndWhatWasMissingIsAskedForAgain(kind: Database.Kind) async throws {
        try await TestDatabase.with(kind) { database in
            try await Samples.seed(database)
            let catalog = CatalogRepository(database: database)
            let newStore = Location(id: LocationID("QC-T-009"), name: "New", region: "BKK", format: .qcSmallFormat)
            var tea = Samples.coffee
            tea.sku = SKU("TEA")
            var snapshot = try await catalog.snapshot(
                location: newStore.id, skus: [SKU("COFFEE"), SKU("TEA")], defaultImageURL: nil)
            #expect(snapshot.locations.isEmpty && snapshot.products.keys.map(\.rawValue) == ["COFFEE"])
            // Created after they were asked for (here or on another instance): found now.
            try await catalog.create(newStore)
            try await catalog.create(tea)
            snapshot = try await catalog.snapshot(
                location: newStore.id, skus: [SKU("COFFEE"), SKU("TEA")], defaultImageURL: nil)
            #expect(snapshot.locations[newStore.id] == newStore)
            #expect(snapshot.products[SKU("TEA")] == tea && snapshot.products[SKU("COFFEE")] == Samples.coffee)
            // What was read is kept: catalog rows never change, so the database is not asked again.
            try await database.transaction { db in
                try await db.raw("DELETE FROM stock WHERE sku = 'COFFEE'").run()
                try await db.raw("DELETE FROM products WHERE sku = 'COFFEE'").run()
            }
            #expect(try await catalog.product(SKU("COFFEE")) == Samples.coffee)
            #expect(try await CatalogRepository(database: database).location(newStore.id) == newStore)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func searchByTextAndCategoryInPages(kind: Database.Kind) async throws {
        try await TestDatabase.with(kind) { database in
            try await Samples.seed(database)
            let catalog = CatalogRepository(database: database)
            var query = ProductQuery()
            query.text = "WAT"
            #expect(try await catalog.search(query).products.map(\.sku.rawValue) == ["WATER"])
            query = ProductQuery()
            query.category = "beverages"
            query.limit = 1
            let first = try await catalog.search(query)
            #expect(first.products.map(\.sku.rawValue) == ["COFFEE"])
            query.afterSKU = first.nextAfterSKU
            let second = try await catalog.search(query)
            #expect(second.products.map(\.sku.rawValue) == ["WATER"])
            #expect(second.nextAfterSKU == nil)
        }
    }
}
