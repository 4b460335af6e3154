import Foundation
import OrderFlowDomain
import OrderFlowEngine
import OrderFlowPersistence
import OrderFlowTestSupport
import Testing

@Suite("Ship events and delivery status", .databaseSlots)
struct FulfillmentTests {
    typealias Update = FulfillmentEvents.Update

    func released(_ h: EngineHarness, _ id: String) async throws {
        try await h.place(id)
        try await h.engine.drain()
        #expect(try await h.order(id).order.status == .released)
    }

    func ship(
        _ h: EngineHarness, _ id: String, _ event: FulfillmentEvents.ShipEvent, eventID: String, tracking: String? = nil
    ) async throws -> FulfillmentEvents.Outcome {
        try await h.engine.fulfillment.apply(
            ship: event,
            Update(
                eventID: eventID, orderID: OrderID(id), trackingID: tracking, carrier: tracking == nil ? nil : "grab"),
            actor: "slick"
        ) { _ in true }.0
    }

    func deliver(
        _ h: EngineHarness, _ id: String, _ status: FulfillmentEvents.DeliveryStatus, eventID: String,
        tracking: String? = "TRK-1", reason: String? = nil
    ) async throws -> FulfillmentEvents.Outcome {
        try await h.engine.fulfillment.apply(
            delivery: status,
            Update(eventID: eventID, orderID: OrderID(id), trackingID: tracking, carrier: "grab", reason: reason),
            actor: "grab"
        ) { _ in true }.0
    }

    @Test(arguments: TestDatabase.kinds)
    func anOrderWalksFromReleasedToDeliveredAndCODIsCollected(kind: Database.Kind) async throws {
        try await EngineHarness.run(kind) { h in
            try await released(h, "FUL-1")
            #expect(try await ship(h, "FUL-1", .picking, eventID: "e1") == .applied)
            #expect(try await ship(h, "FUL-1", .picked, eventID: "e2") == .applied)
            #expect(try await ship(h, "FUL-1", .packing, eventID: "e3") == .applied)
            #expect(try await ship(h, "FUL-1", .packed, eventID: "e4") == .applied)
            #expect(try await ship(h, "FUL-1", .shipped, eventID: "e5", tracking: "TRK-1") == .applied)
            #expect(try await deliver(h, "FUL-1", .inTransit, eventID: "d1") == .applied)
            #expect(try await deliver(h, "FUL-1", .outForDelivery, eventID: "d2") == .applied)
            #expect(try await deliver(h, "FUL-1", .failed, eventID: "d3", reason: "nobody home") == .applied)
            #expect(try await deliver(h, "FUL-1", .rescheduled, eventID: "d4") == .applied)
            #expect(try await deliver(h, "FUL-1", .delivered, eventID: "d5") == .applied)
            let stored = try await h.order("FUL-1")
            #expect(stored.order.status == .delivered)
            #expect(stored.order.paymentStatus == .codCollected)
            #expect(stored.order.trackingID == "TRK-1")
            #expect(stored.order.carrier == "grab")
            #expect(
                stored.history.map(\.status.rawValue).suffix(10) == [
                    3500, 3600, 3600, 3700, 7000, 7200, 7300, 7400, 7200, 7500,
                ])
            #expect(stored.history.last?.status == .delivered)
            #expect(stored.history.contains { $0.reason == "ship.packing" && $0.status == .picked })
            #expect(stored.history.contains { $0.reason == "delivery.failed: nobody home" })
            try await h.engine.drain()
            let subjects = h.email.sent.withLock { $0.map(\.subject) }
            #expect(
                subjects == [
                    "Order FUL-1 is confirmed", "Order FUL-1 is on its way", "Order FUL-1 is out for delivery",
                    "We could not deliver order FUL-1", "Order FUL-1 was delivered",
                ])
        }
    }

    @Test func duplicatesAndLateEventsChangeNothing() async throws {
        try await EngineHarness.run { h in
            try await released(h, "FUL-2")
            #expect(try await ship(h, "FUL-2", .packed, eventID: "p1") == .applied, "skipping ahead is fine")
            let version = try await h.order("FUL-2").order.version
            #expect(try await ship(h, "FUL-2", .packed, eventID: "p1") == .duplicate)
            #expect(try await ship(h, "FUL-2", .picking, eventID: "p0") == .ignoredOutOfOrder)
            #expect(try await ship(h, "FUL-2", .packed, eventID: "p2") == .noChange)
            let stored = try await h.order("FUL-2")
            #expect(stored.order.status == .packed)
            #expect(stored.order.version == version)
            #expect(
                try await h.orders.events(of: OrderID("FUL-2")).map(\.type).filter { $0 == "order.packed" }.count == 1)
        }
    }

    @Test func eventsForOrdersNotReadyOrCancelledOrMismatchedAreRefused() async throws {
        try await EngineHarness.run { h in
            try await h.place("FUL-3")
            await #expect(
                throws: DomainError.conflict(
                    code: "not_released", message: "order FUL-3 is 1000 Open; ship events start at 3000 Released")
            ) {
                _ = try await ship(h, "FUL-3", .picking, eventID: "x1")
            }
            try await h.engine.drain()
            await #expect(throws: DomainError.self) { _ = try await deliver(h, "FUL-3", .delivered, eventID: "x2") }
            #expect(try await ship(h, "FUL-3", .shipped, eventID: "x3", tracking: "TRK-9") == .applied)
            await #expect(
                throws: DomainError.conflict(
                    code: "tracking_mismatch", message: "order FUL-3 ships with tracking ID TRK-9, not TRK-1")
            ) {
                _ = try await deliver(h, "FUL-3", .inTransit, eventID: "x4")
            }
            await #expect(throws: DomainError.self) {
                _ = try await deliver(h, "FUL-3", .failed, eventID: "x5", tracking: "TRK-9")
            }
            await #expect(throws: DomainError.notFound(kind: "order", id: "NOPE")) {
                _ = try await ship(h, "NOPE", .picking, eventID: "x6")
            }
            // A refused event is not remembered: the same ID can come again once it makes sense.
            #expect(try await deliver(h, "FUL-3", .inTransit, eventID: "x4", tracking: "TRK-9") == .applied)

            try await h.place("FUL-4")
            var order = try await h.order("FUL-4").order
            let version = order.version
            let change = try order.cancel(reason: "x", actor: "t", at: h.clock.now())
            try await h.orders.update(order, expectedVersion: version, history: change, events: [])
            await #expect(throws: DomainError.illegalTransition(from: .cancelled, to: .picking)) {
                _ = try await ship(h, "FUL-4", .picking, eventID: "y1")
            }
        }
    }
}
