import Foundation
import HTTPTypes
import HummingbirdTesting
import OrderFlowDomain
import OrderFlowEngine
import OrderFlowPersistence
import OrderFlowTestSupport
import Testing

@Suite("Pipeline routes: ship events, delivery status, dead letters", .databaseSlots)
struct PipelineRoutesTests {
    @Test(arguments: TestDatabase.kinds)
    func shipAndDeliveryEventsMoveAnOrderOnce(kind: Database.Kind) async throws {
        try await TestApp.run(kind) { app in
            try await app.send(.post, "/api/orders", json: TestApp.orderBody("SHIP-1"))
            let early = try await app.send(
                .post, "/api/fulfillment/ship-events", json: ["eventId": "e0", "orderId": "SHIP-1", "type": "picking"])
            #expect(early.status == .conflict)
            #expect(early.error["code"] as? String == "not_released")
            try await app.engine.drain()

            let picking = try await app.send(
                .post, "/api/fulfillment/ship-events", json: ["eventId": "e1", "orderId": "ship-1", "type": "picking"])
            #expect(picking.status == .ok)
            #expect(picking.json["outcome"] as? String == "applied")
            #expect(picking.json["status"] as? Int == 3500)
            let again = try await app.send(
                .post, "/api/fulfillment/ship-events", json: ["eventId": "e1", "orderId": "SHIP-1", "type": "picking"])
            #expect(again.json["outcome"] as? String == "duplicate")
            let shipped = try await app.send(
                .post, "/api/fulfillment/ship-events",
                json: [
                    "eventId": "e2", "orderId": "SHIP-1", "type": "shipped", "trackingId": "TRK-42", "carrier": "grab",
                ])
            #expect(shipped.json["status"] as? Int == 7000)

            let wrongTracking = try await app.send(
                .put, "/api/delivery/status",
                json: ["eventId": "d0", "orderId": "SHIP-1", "status": "in_transit", "trackingId": "TRK-41"])
            #expect(wrongTracking.error["code"] as? String == "tracking_mismatch")
            let failed = try await app.send(
                .put, "/api/delivery/status", json: ["eventId": "d1", "orderId": "SHIP-1", "status": "failed"])
            #expect(failed.status == .unprocessableContent)
            #expect(failed.fieldRules == ["reason required"])
            let delivered = try await app.send(
                .put, "/api/delivery/status",
                json: ["eventId": "d2", "orderId": "SHIP-1", "status": "delivered", "trackingId": "TRK-42"])
            #expect(delivered.json["status"] as? Int == 7500)
            #expect(delivered.json["paymentStatus"] as? String == "cod_collected")
            let late = try await app.send(
                .put, "/api/delivery/status",
                json: ["eventId": "d3", "orderId": "SHIP-1", "status": "out_for_delivery"])
            #expect(late.json["outcome"] as? String == "ignored_out_of_order")

            let order = try await app.send(.get, "/api/orders/SHIP-1")
            #expect(order.json["status"] as? Int == 7500)
            let badType = try await app.send(
                .post, "/api/fulfillment/ship-events",
                json: ["eventId": "e9", "orderId": "SHIP-1", "type": "teleported"])
            #expect(badType.fieldRules == ["type enum"])
        }
    }

    @Test func storeManagersPostEventsForTheirStoreOnly() async throws {
        try await TestApp.run { app in
            try await app.send(.post, "/api/orders", json: TestApp.orderBody("OTHER-1", store: "QC-T-002"))
            try await app.engine.drain()
            let manager = try await app.token(for: ["store_manager"], store: "QC-T-001")
            let response = try await app.send(
                .post, "/api/fulfillment/ship-events", json: ["eventId": "x", "orderId": "OTHER-1", "type": "picking"],
                token: manager)
            #expect(response.status == .notFound)
        }
    }

    /// An event ID is its store's own: a store that sends an ID first cannot make another store's
    /// event with that ID a "duplicate" that changes nothing.
    @Test(arguments: TestDatabase.kinds)
    func oneStoreCannotTakeAnotherStoresEventID(kind: Database.Kind) async throws {
        try await TestApp.run(kind) { app in
            try await app.send(.post, "/api/orders", json: TestApp.orderBody("HERE-1", store: "QC-T-001"))
            try await app.send(.post, "/api/orders", json: TestApp.orderBody("THERE-1", store: "QC-T-002"))
            try await app.engine.drain()
            let here = try await app.token(for: ["store_manager"], store: "QC-T-001")
            let squat = try await app.send(
                .post, "/api/fulfillment/ship-events",
                json: ["eventId": "carrier-77", "orderId": "HERE-1", "type": "picking"], token: here)
            #expect(squat.json["outcome"] as? String == "applied")
            let there = try await app.token(for: ["store_manager"], store: "QC-T-002")
            let theirs = try await app.send(
                .post, "/api/fulfillment/ship-events",
                json: ["eventId": "carrier-77", "orderId": "THERE-1", "type": "picking"], token: there)
            #expect(theirs.json["outcome"] as? String == "applied")
            #expect(theirs.json["status"] as? Int == 3500)
            // Within one store an ID is still recognised when it comes again.
            let again = try await app.send(
                .post, "/api/fulfillment/ship-events",
                json: ["eventId": "carrier-77", "orderId": "THERE-1", "type": "picking"], token: there)
            #expect(again.json["outcome"] as? String == "duplicate")
        }
    }

    @Test func cancellingThroughTheAPIRunsCompensation() async throws {
        try await TestApp.run { app in
            try await app.send(.post, "/api/orders", json: TestApp.orderBody("CAN-1"))
            try await app.engine.drain()
            let cancelled = try await app.send(
                .post, "/api/orders/CAN-1/cancel", json: ["reason": "customer changed their mind"])
            #expect(cancelled.json["status"] as? Int == 9000)
            try await app.engine.drain()
            let history = try await app.send(.get, "/api/orders/CAN-1").json["history"] as? [[String: Any]] ?? []
            // Force-allocated and COD: nothing was taken, so compensation has nothing to add.
            #expect(history.last?["reason"] as? String == "customer changed their mind")
            #expect(history.last?["paymentStatus"] as? String == "voided")
            #expect(try await JobRepository(database: app.database).count() == 0)
        }
    }

    @Test func deadLettersCanBeListedInspectedReplayedAndDiscardedWithAudit() async throws {
        try await TestApp.run { app in
            // A card order with no payment provider configured ends, after its attempts, as a dead letter.
            var body = TestApp.orderBody("DLQ-1", store: "STD-T-001")
            body["paymentMethod"] = "card"
            body["isForceAllocation"] = false
            try await app.send(.post, "/api/orders", json: body)
            for _ in 0..<10 {
                try await app.engine.drain()
                app.clock.advance(seconds: 400)
            }
            let list = try await app.send(.get, "/api/dead-letters?state=open&source=job")
            let items = try #require(list.json["items"] as? [[String: Any]])
            #expect(items.count == 1)
            let id = try #require(items.first?["id"] as? Int)
            #expect(items.first?["kind"] as? String == "order.pay")
            #expect((items.first?["error"] as? String)?.contains("no payment provider is configured") == true)
            #expect(items.first?["attempts"] as? Int == 8)

            let one = try await app.send(.get, "/api/dead-letters/\(id)")
            #expect(one.json["orderId"] as? String == "DLQ-1")
            #expect(try await app.send(.get, "/api/dead-letters/999").status == .notFound)
            let outOfRange = try await app.send(.get, "/api/dead-letters/9223372036854775808")
            #expect(outOfRange.status == .badRequest)
            #expect(outOfRange.fieldRules == ["parameters type"])
            let badJSON = try await app.send(.post, "/api/dead-letters/\(id)/replay", json: ["payload": "{not json"])
            #expect(badJSON.fieldRules == ["payload json"])

            let replayed = try await app.send(
                .post, "/api/dead-letters/\(id)/replay", json: ["note": "provider configured"])
            #expect(replayed.json["state"] as? String == "replayed")
            #expect(replayed.json["resolvedBy"] as? String == "admin")
            #expect(
                try await JobRepository(database: app.database).jobs(of: OrderID("DLQ-1")).map(\.kind) == ["order.pay"])
            let twice = try await app.send(.post, "/api/dead-letters/\(id)/discard", json: [:])
            #expect(twice.status == .conflict)
            #expect(twice.error["code"] as? String == "dead_letter_resolved")
            #expect(try await app.auditCount("deadletter.replay") == 1)

            let viewer = try await app.token(for: ["management"])
            #expect(try await app.send(.get, "/api/dead-letters", token: viewer).status == .forbidden)
            let developer = try await app.token(for: ["developer"])
            #expect(try await app.send(.get, "/api/dead-letters", token: developer).status == .ok)
        }
    }
}
