import OrderFlowDomain
import OrderFlowPersistence
import OrderFlowTestSupport
import Testing

@Suite("Stock and reservations", .databaseSlots)
struct InventoryRepositoryTests {
    func request(_ id: String, _ items: [(String, Int)], at location: Location = Samples.qcStore) -> ReservationRequest
    {
        ReservationRequest(
            reservationID: id, location: location.id, orderID: nil,
            items: items.map { .init(sku: SKU($0.0), quantity: $0.1) })
    }

    func level(_ inventory: InventoryRepository, _ sku: String, at location: Location = Samples.qcStore) async throws
        -> StockLevel?
    {
        try await inventory.levels(of: SKU(sku)).first { $0.location == location.id }
    }

    @Test(arguments: TestDatabase.kinds)
    func reservesAllItemsOrNone(kind: Database.Kind) async throws {
        try await TestDatabase.with(kind) { database in
            try await Samples.seed(database, stock: 10)
            let inventory = InventoryRepository(database: database)
            let (reservation, replayed) = try await inventory.reserve(request("R-1", [("COFFEE", 4), ("WATER", 10)]))
            #expect(!replayed)
            #expect(reservation.status == .reserved)
            #expect(try await level(inventory, "COFFEE")?.available == 6)
            #expect(try await level(inventory, "WATER")?.available == 0)

            await #expect(
                throws: DomainError.insufficientStock([
                    FieldError(
                        field: "items[1].quantity", rule: "stock",
                        message: "1 × WATER requested, 0 available at QC-T-001")
                ])
            ) {
                try await inventory.reserve(request("R-2", [("COFFEE", 1), ("WATER", 1)]))
            }
            // Nothing of the refused reservation stuck.
            #expect(try await level(inventory, "COFFEE")?.reserved == 4)
            #expect(try await database.count("reservations") == 1)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func reservationIDsAreIdempotent(kind: Database.Kind) async throws {
        try await TestDatabase.with(kind) { database in
            try await Samples.seed(database, stock: 10)
            let inventory = InventoryRepository(database: database)
            _ = try await inventory.reserve(request("R-1", [("COFFEE", 3)]))
            let (again, replayed) = try await inventory.reserve(request("R-1", [("COFFEE", 3)]))
            #expect(replayed)
            #expect(again.items.map(\.quantity) == [3])
            #expect(try await level(inventory, "COFFEE")?.reserved == 3)
            await #expect(throws: DomainError.self) { try await inventory.reserve(request("R-1", [("COFFEE", 4)])) }
            #expect(try await level(inventory, "COFFEE")?.reserved == 3)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func releaseGivesStockBackOnce(kind: Database.Kind) async throws {
        try await TestDatabase.with(kind) { database in
            try await Samples.seed(database, stock: 10)
            let inventory = InventoryRepository(database: database)
            _ = try await inventory.reserve(request("R-1", [("COFFEE", 3), ("WATER", 2)]))
            let released = try await inventory.release("R-1")
            #expect(released.status == .released)
            #expect(released.releasedAt != nil)
            _ = try await inventory.release("R-1")
            #expect(try await level(inventory, "COFFEE")?.reserved == 0)
            #expect(try await level(inventory, "WATER")?.reserved == 0)
            await #expect(throws: DomainError.notFound(kind: "reservation", id: "NOPE")) {
                try await inventory.release("NOPE")
            }
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func concurrentReleasesReleaseOnce(kind: Database.Kind) async throws {
        try await TestDatabase.with(kind) { database in
            try await Samples.seed(database, stock: 10)
            let inventory = InventoryRepository(database: database)
            _ = try await inventory.reserve(request("R-1", [("COFFEE", 3)]))
            _ = try await inventory.reserve(request("R-2", [("COFFEE", 2)]))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<10 { group.addTask { _ = try await inventory.release("R-1") } }
                try await group.waitForAll()
            }
            #expect(try await level(inventory, "COFFEE")?.reserved == 2)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func fiftyConcurrentReservationsForTheLastTenUnits(kind: Database.Kind) async throws {
        try await TestDatabase.with(kind) { database in
            try await Samples.seed(database, stock: 10)
            let inventory = InventoryRepository(database: database)
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        do {
                            _ = try await inventory.reserve(request("R-\(index)", [("COFFEE", 1)]))
                            return true
                        } catch {
                            return false
                        }
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 10)
            let stock = try #require(try await level(inventory, "COFFEE"))
            #expect(stock.reserved == 10)
            #expect(stock.available == 0)
            #expect(try await database.count("reservations") == 10)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func onHandCannotDropBelowReserved(kind: Database.Kind) async throws {
        try await TestDatabase.with(kind) { database in
            try await Samples.seed(database, stock: 10)
            let inventory = InventoryRepository(database: database)
            _ = try await inventory.reserve(request("R-1", [("COFFEE", 6)]))
            await #expect(throws: DomainError.self) {
                try await inventory.setOnHand(5, sku: SKU("COFFEE"), at: Samples.qcStore.id)
            }
            #expect(try await level(inventory, "COFFEE")?.onHand == 10)
            let level = try await inventory.setOnHand(6, sku: SKU("COFFEE"), at: Samples.qcStore.id)
            #expect(level.available == 0)
            await #expect(throws: DomainError.notFound(kind: "product", id: "NOPE")) {
                try await inventory.setOnHand(1, sku: SKU("NOPE"), at: Samples.qcStore.id)
            }
        }
    }
}
