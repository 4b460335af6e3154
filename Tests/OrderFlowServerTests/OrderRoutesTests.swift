import Foundation
import HTTPTypes
import HummingbirdTesting
import OrderFlowDomain
import OrderFlowPersistence
import OrderFlowTestSupport
import Testing

@Suite("Order routes", .databaseSlots)
struct OrderRoutesTests {
    @Test(arguments: TestDatabase.kinds)
    func createReadAndSearch(kind: Database.Kind) async throws {
        try await TestApp.run(kind) { app in
            let created = try await app.send(.post, "/api/orders", json: TestApp.orderBody("ord-7"))
            #expect(created.status == .created)
            let order = created.json
            #expect(order["orderId"] as? String == "ORD-7")
            #expect(order["status"] as? Int == 1000)
            #expect(order["paymentStatus"] as? String == "awaiting_payment")
            let totals = try #require(order["totals"] as? [String: String])
            #expect(
                totals == [
                    "subTotal": "388.0000", "totalDiscount": "5.0000", "totalTaxes": "0.0000",
                    "informationalTaxes": "25.3831",
                    "totalFees": "25.0000", "totalCharge": "413.0000", "orderTotal": "413.0000",
                    "roundingAdjustment": "0.0000",
                ])
            let lines = try #require(order["lines"] as? [[String: Any]])
            #expect(lines[0]["shortDescription"] as? String == "Coffee 250 g", "enriched from the catalog")
            #expect(created.headers[.requestID] != nil)

            let read = try await app.send(.get, "/api/orders/Ord-7")
            #expect(read.status == .ok)
            #expect((read.json["totals"] as? [String: String]) == totals)
            let history = try #require(read.json["history"] as? [[String: Any]])
            #expect(history.map { $0["status"] as? Int } == [1000])
            #expect(history.first?["actor"] as? String == "admin")

            let today = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-3600))
            let found = try await app.send(
                .get, "/api/orders/search?statusFrom=1000&statusTo=1000&createdFrom=\(today)&q=somchai")
            #expect(found.status == .ok)
            let items = try #require(found.json["items"] as? [[String: Any]])
            #expect(items.map { $0["orderId"] as? String } == ["ORD-7"])
            #expect(items.first?["lineCount"] as? Int == 2)
            #expect(items.first?["orderTotal"] as? String == "413.0000")

            let none = try await app.send(.get, "/api/orders/search?status=2000,3000")
            #expect((none.json["items"] as? [Any])?.isEmpty == true)
            #expect(none.json["nextCursor"] == nil)

            let missing = try await app.send(.get, "/api/orders/NOPE-1")
            #expect(missing.status == .notFound)
            #expect(missing.error["code"] as? String == "not_found")
        }
    }

    @Test func searchPagesWithACursor() async throws {
        try await TestApp.run { app in
            for index in 1...5 { try await app.send(.post, "/api/orders", json: TestApp.orderBody("ORD-\(index)")) }
            var seen: [String] = []
            var path = "/api/orders/search?limit=2"
            while true {
                let page = try await app.send(.get, path)
                seen += (page.json["items"] as? [[String: Any]] ?? []).compactMap { $0["orderId"] as? String }
                guard let cursor = page.json["nextCursor"] as? String else { break }
                path = "/api/orders/search?limit=2&cursor=\(cursor)"
            }
            #expect(seen == ["ORD-5", "ORD-4", "ORD-3", "ORD-2", "ORD-1"])
            let bad = try await app.send(.get, "/api/orders/search?cursor=garbage")
            #expect(bad.status == .badRequest)
            #expect(bad.fieldRules == ["cursor format"])
            let badLimit = try await app.send(.get, "/api/orders/search?limit=500")
            #expect(badLimit.fieldRules == ["limit range"])
            let badRange = try await app.send(.get, "/api/orders/search?statusFrom=7000&statusTo=3000")
            #expect(badRange.fieldRules == ["statusFrom range"])
        }
    }

    @Test func idempotencyKeyReplaysAndRefusesAnotherBody() async throws {
        try await TestApp.run { app in
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "retry-1"]
            let first = try await app.send(.post, "/api/orders", json: TestApp.orderBody("ORD-1"), headers: key)
            #expect(first.status == .created)
            let again = try await app.send(.post, "/api/orders", json: TestApp.orderBody("ORD-1"), headers: key)
            #expect(again.status == .created)
            #expect(again.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(again.json["orderId"] as? String == "ORD-1")
            #expect((again.json["createdAt"] as? String) == (first.json["createdAt"] as? String))
            let before = try await app.orderTables()

            var other = TestApp.orderBody("ORD-1")
            other["channel"] = "web"
            let conflict = try await app.send(.post, "/api/orders", json: other, headers: key)
            #expect(conflict.status == .conflict)
            #expect(conflict.error["code"] as? String == "idempotency_key_reused")
            #expect(try await app.orderTables() == before)
            #expect(before == [1, 2, 1, 1, 1])
        }
    }

    @Test func duplicateOrderIDIsAConflictOnRuleA() async throws {
        try await TestApp.run { app in
            try await app.send(.post, "/api/orders", json: TestApp.orderBody("ORD-1"))
            let before = try await app.orderTables()
            let duplicate = try await app.send(.post, "/api/orders", json: TestApp.orderBody("ord-1"))
            #expect(duplicate.status == .conflict)
            #expect(duplicate.error["code"] as? String == "duplicate_order")
            #expect(duplicate.fieldRules == ["orderId A"])
            #expect(try await app.orderTables() == before)
        }
    }

    /// Each bad request: how it is sent, the status, error code and (field rule) pairs expected.
    static let badRequests:
        [(
            name: String, change: @Sendable (inout [String: Any]) -> Void, raw: String?, status: Int, code: String,
            fields: [String]
        )] = [
            ("malformed JSON", { _ in }, #"{"orderId": "ORD-1", "lines": ["#, 400, "invalid_request", ["body json"]),
            ("empty body", { _ in }, "", 400, "invalid_request", ["body json"]),
            (
                "quantity as text", { body in body["lines"] = [["sku": "COFFEE", "quantity": "two"]] }, nil, 400,
                "invalid_request", ["lines[0].quantity type"]
            ),
            (
                "missing customer", { body in body["customer"] = nil }, nil, 400, "invalid_request",
                ["customer required"]
            ),
            (
                "null order ID", { body in body["orderId"] = NSNull() }, nil, 400, "invalid_request",
                ["orderId required"]
            ),
            (
                "unknown field", { body in body["isForceAlocation"] = true }, nil, 400, "invalid_request",
                ["isForceAlocation unknown_field"]
            ),
            (
                "unknown payment method", { body in body["paymentMethod"] = "bitcoin" }, nil, 400, "invalid_request",
                ["paymentMethod enum"]
            ),
            (
                "over-long order ID", { body in body["orderId"] = String(repeating: "A", count: 41) }, nil, 422,
                "validation_failed", ["orderId A"]
            ),
            (
                "zero quantity", { body in body["lines"] = [["sku": "COFFEE", "quantity": 0]] }, nil, 422,
                "validation_failed", ["lines[0].quantity H"]
            ),
            (
                "negative quantity", { body in body["lines"] = [["sku": "COFFEE", "quantity": -3]] }, nil, 422,
                "validation_failed", ["lines[0].quantity H"]
            ),
            (
                "unknown SKU", { body in body["lines"] = [["sku": "NOPE", "quantity": 1]] }, nil, 422,
                "validation_failed", ["lines[0].sku H"]
            ),
            (
                "unknown store", { body in body["shipFromLocationId"] = "NOWHERE" }, nil, 422, "validation_failed",
                ["shipFromLocationId B"]
            ),
            (
                "over-long customer name",
                { body in body["customer"] = ["name": String(repeating: "n", count: 101), "phone": "0812345678"] }, nil,
                422, "validation_failed", ["customer.name G"]
            ),
            (
                "too many decimals",
                { body in body["lines"] = [["sku": "COFFEE", "quantity": 1, "unitPrice": "1.23456"]] }, nil, 422,
                "validation_failed", ["lines[0].unitPrice H"]
            ),
            (
                "QC order not force-allocated and paid by card",
                { body in
                    body["isForceAllocation"] = false
                    body["paymentMethod"] = "card"
                }, nil, 422, "validation_failed", ["isForceAllocation C", "paymentMethod I"]
            ),
        ]

    @Test(arguments: badRequests.indices)
    func badInputIsRefusedWithFieldAndRuleAndChangesNothing(index: Int) async throws {
        let bad = Self.badRequests[index]
        try await TestApp.run { app in
            var body = TestApp.orderBody()
            bad.change(&body)
            let response = try await app.send(.post, "/api/orders", json: body, raw: bad.raw)
            #expect(response.status.code == bad.status, "\(bad.name)")
            #expect(response.error["code"] as? String == bad.code, "\(bad.name)")
            #expect(response.fieldRules == bad.fields, "\(bad.name): \(response.text)")
            #expect(response.error["requestId"] as? String == response.headers[.requestID])
            #expect(try await app.orderTables() == [0, 0, 0, 0, 0], "\(bad.name) changed nothing")
        }
    }

    @Test func wrongContentTypeAndOversizedBodies() async throws {
        try await TestApp.run(configure: { $0.maxBodyBytes = 4096 }) { app in
            let text = try await app.send(.post, "/api/orders", raw: "orderId=1", headers: [.contentType: "text/plain"])
            #expect(text.status == .unsupportedMediaType)
            #expect(text.error["code"] as? String == "unsupported_media_type")
            var body = TestApp.orderBody()
            body["custRef"] = String(repeating: "x", count: 5000)
            let large = try await app.send(.post, "/api/orders", json: body)
            #expect(large.status == .contentTooLarge)
            #expect(large.error["code"] as? String == "payload_too_large")
            #expect(try await app.orderTables() == [0, 0, 0, 0, 0])
        }
    }

    @Test func cancelFollowsTheTransitionTable() async throws {
        try await TestApp.run { app in
            try await app.send(.post, "/api/orders", json: TestApp.orderBody("ORD-1"))
            let noReason = try await app.send(.post, "/api/orders/ORD-1/cancel", json: ["reason": "  "])
            #expect(noReason.status == .unprocessableContent)
            #expect(noReason.fieldRules == ["reason required"])

            let cancelled = try await app.send(.post, "/api/orders/ORD-1/cancel", json: ["reason": "Customer called"])
            #expect(cancelled.status == .ok)
            #expect(cancelled.json["status"] as? Int == 9000)
            #expect(cancelled.json["paymentStatus"] as? String == "voided")
            let history = cancelled.json["history"] as? [[String: Any]] ?? []
            #expect(history.map { $0["status"] as? Int } == [1000, 9000])
            #expect(history.last?["reason"] as? String == "Customer called")
            let before = try await app.orderTables()

            let again = try await app.send(.post, "/api/orders/ORD-1/cancel", json: ["reason": "twice"])
            #expect(again.status == .conflict)
            #expect(again.error["code"] as? String == "illegal_transition")
            #expect(try await app.orderTables() == before)
            #expect(
                try await OrderRepository(database: app.database).events(of: OrderID("ORD-1")).map(\.type) == [
                    "order.created", "order.cancelled",
                ])

            let unknown = try await app.send(.post, "/api/orders/NOPE-9/cancel", json: ["reason": "x"])
            #expect(unknown.status == .notFound)
        }
    }

    @Test func lineChangesEnforceFR8() async throws {
        try await TestApp.run { app in
            try await app.send(.post, "/api/orders", json: TestApp.orderBody("ORD-1"))
            let quantity = try await app.send(
                .patch, "/api/orders/ORD-1/lines/1", json: ["quantity": 3, "reason": "customer wants three"])
            #expect(quantity.status == .ok)
            #expect((quantity.json["totals"] as? [String: String])?["subTotal"] == "547.0000") // 3 × 159 + 70
            #expect(quantity.json["version"] as? Int == 2)

            // Line 2 was accepted at 12.50: 15.00 is the ceiling.
            let ceiling = try await app.send(
                .patch, "/api/orders/ORD-1/lines/2",
                json: ["sku": "NOODLES", "unitPrice": "15.00", "reason": "substitute"])
            #expect(ceiling.status == .ok)
            let lines = ceiling.json["lines"] as? [[String: Any]] ?? []
            #expect(lines.last?["sku"] as? String == "NOODLES")
            #expect(lines.last?["originalUnitPrice"] as? String == "12.5000")
            let before = try await app.orderTables()
            let tooDear = try await app.send(
                .patch, "/api/orders/ORD-1/lines/2", json: ["unitPrice": "15.0001", "reason": "price up"])
            #expect(tooDear.status == .unprocessableContent)
            #expect(tooDear.fieldRules == ["unitPrice FR8"])
            let unknownLine = try await app.send(
                .patch, "/api/orders/ORD-1/lines/9", json: ["quantity": 1, "reason": "x"])
            #expect(unknownLine.status == .notFound)

            // Once released, lines are locked.
            let repository = OrderRepository(database: app.database)
            var order = try #require(try await repository.find(OrderID("ORD-1"))).order
            let version = order.version
            let allocated = try order.move(to: .allocated, reason: nil, actor: "test", at: order.updatedAt)
            try await repository.update(order, expectedVersion: version, history: allocated, events: [])
            let released = try order.move(to: .released, reason: nil, actor: "test", at: order.updatedAt)
            try await repository.update(order, expectedVersion: version + 1, history: released, events: [])
            let locked = try await app.send(
                .patch, "/api/orders/ORD-1/lines/1", json: ["quantity": 1, "reason": "too late"])
            #expect(locked.status == .conflict)
            #expect(locked.error["code"] as? String == "order_locked")
            #expect(locked.fieldRules == ["status FR8"])
            #expect(try await app.orderTables()[0...1] == before[0...1])
        }
    }
}
