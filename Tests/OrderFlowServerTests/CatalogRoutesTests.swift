import Foundation
import HTTPTypes
import HummingbirdTesting
import OrderFlowPersistence
import OrderFlowTestSupport
import Testing

@Suite("Catalog and inventory routes", .databaseSlots)
struct CatalogRoutesTests {
    @Test func productsCreateReadAndSearch() async throws {
        try await TestApp.run { app in
            let product: [String: Any] = [
                "sku": "TEA-1", "name": "Green tea", "category": "Beverages", "unitPrice": "89", "taxRate": "7",
            ]
            let created = try await app.send(.post, "/api/products", json: product)
            #expect(created.status == .created)
            #expect(created.json["unitPrice"] as? String == "89.0000")
            #expect(created.json["category"] as? String == "beverages")
            #expect(created.json["taxIncluded"] as? Bool == true)

            let duplicate = try await app.send(.post, "/api/products", json: product)
            #expect(duplicate.status == .conflict)
            #expect(duplicate.error["code"] as? String == "product_exists")

            let invalid = try await app.send(
                .post, "/api/products", json: ["sku": "bad sku", "name": "", "category": "x", "unitPrice": "-1"])
            #expect(invalid.status == .unprocessableContent)
            #expect(invalid.fieldRules == ["sku format", "name format", "unitPrice format"])
            #expect(try await app.database.count("products") == 4)

            let read = try await app.send(.get, "/api/products/TEA-1")
            #expect(read.json["name"] as? String == "Green tea")
            #expect(try await app.send(.get, "/api/products/NOPE").status == .notFound)

            let search = try await app.send(.get, "/api/products?q=tea")
            #expect((search.json["items"] as? [[String: Any]])?.map { $0["sku"] as? String } == ["TEA-1"])
            let page = try await app.send(.get, "/api/products?category=beverages&limit=2")
            #expect((page.json["items"] as? [[String: Any]])?.map { $0["sku"] as? String } == ["COFFEE", "TEA-1"])
            let cursor = try #require(page.json["nextCursor"] as? String)
            let next = try await app.send(.get, "/api/products?category=beverages&limit=2&cursor=\(cursor)")
            #expect((next.json["items"] as? [[String: Any]])?.map { $0["sku"] as? String } == ["WATER"])
        }
    }

    @Test func locations() async throws {
        try await TestApp.run { app in
            let created = try await app.send(
                .post, "/api/locations", json: ["id": "qc-x-9", "name": "Ari", "region": "bkk", "format": "qc_smf"])
            #expect(created.status == .created)
            #expect(created.json["id"] as? String == "QC-X-9")
            #expect(created.json["region"] as? String == "BKK")
            let list = try await app.send(.get, "/api/locations")
            #expect((list.json["items"] as? [Any])?.count == 4)
            let badFormat = try await app.send(
                .post, "/api/locations", json: ["id": "X", "name": "Y", "region": "Z", "format": "mall"])
            #expect(badFormat.status == .badRequest)
            #expect(badFormat.fieldRules == ["format enum"])
        }
    }

    @Test func inventoryReadSetReserveRelease() async throws {
        try await TestApp.run(stock: 10) { app in
            let stock = try await app.send(.get, "/api/inventory/COFFEE")
            #expect(stock.json["totalOnHand"] as? Int == 30)
            #expect(try await app.send(.get, "/api/inventory/NOPE").status == .notFound)

            let set = try await app.send(.put, "/api/inventory/COFFEE/locations/QC-T-001", json: ["onHand": 12])
            #expect(set.json["available"] as? Int == 12)
            let unknownLocation = try await app.send(
                .put, "/api/inventory/COFFEE/locations/NOWHERE", json: ["onHand": 1])
            #expect(unknownLocation.status == .notFound)

            let reserve: [String: Any] = [
                "reservationId": "R-1", "locationId": "QC-T-001", "orderId": "ORD-1",
                "items": [["sku": "COFFEE", "quantity": 5], ["sku": "WATER", "quantity": 2]],
            ]
            let reserved = try await app.send(.post, "/api/inventory/reserve", json: reserve)
            #expect(reserved.status == .created)
            #expect(reserved.json["status"] as? String == "reserved")
            let replay = try await app.send(.post, "/api/inventory/reserve", json: reserve)
            #expect(replay.status == .ok)
            var changed = reserve
            changed["items"] = [["sku": "COFFEE", "quantity": 6]]
            let reused = try await app.send(.post, "/api/inventory/reserve", json: changed)
            #expect(reused.error["code"] as? String == "reservation_id_reused")

            let short = try await app.send(
                .post, "/api/inventory/reserve",
                json: ["reservationId": "R-2", "locationId": "QC-T-001", "items": [["sku": "COFFEE", "quantity": 8]]])
            #expect(short.status == .conflict)
            #expect(short.error["code"] as? String == "insufficient_stock")
            #expect(short.fieldRules == ["items[0].quantity stock"])

            let invalid = try await app.send(
                .post, "/api/inventory/reserve",
                json: [
                    "reservationId": "R-3", "locationId": "QC-T-001",
                    "items": [["sku": "COFFEE", "quantity": 1], ["sku": "COFFEE", "quantity": 0]],
                ])
            #expect(invalid.status == .unprocessableContent)
            #expect(invalid.fieldRules == ["items[1].sku unique", "items[1].quantity range"])
            #expect(try await app.database.count("reservations") == 1)

            let released = try await app.send(.post, "/api/inventory/release", json: ["reservationId": "R-1"])
            #expect(released.json["status"] as? String == "released")
            #expect(try await app.send(.post, "/api/inventory/release", json: ["reservationId": "R-1"]).status == .ok)
            #expect(
                try await app.send(.post, "/api/inventory/release", json: ["reservationId": "R-404"]).status
                    == .notFound)
            let after = try await app.send(.get, "/api/inventory/COFFEE")
            #expect(after.json["totalAvailable"] as? Int == 32)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func fiftyConcurrentReservationsOverHTTP(kind: Database.Kind) async throws {
        try await TestApp.run(kind, stock: 10) { app in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        try await app.send(
                            .post, "/api/inventory/reserve",
                            json: [
                                "reservationId": "R-\(index)", "locationId": "QC-T-002",
                                "items": [["sku": "WATER", "quantity": 1]],
                            ]
                        ).status.code
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 201 }.count == 10)
            #expect(statuses.filter { $0 == 409 }.count == 40)
            let stock = try await app.send(.get, "/api/inventory/WATER")
            let levels = stock.json["locations"] as? [[String: Any]] ?? []
            #expect(levels.first { $0["locationId"] as? String == "QC-T-002" }?["available"] as? Int == 0)
        }
    }
}
