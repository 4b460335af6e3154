import Foundation
import OrderFlowDomain
import OrderFlowPersistence

/// Events from the fulfilment centre (ship events) and the carrier (delivery status), applied to
/// orders once each: an event ID seen before changes nothing and is answered as a duplicate.
///
/// Events may arrive out of order. One that moves an order forward is applied, even if it skips
/// steps (`packed` before `picking`); one that would move it backwards is recorded and ignored.
/// An event for an order that is not released yet, or cancelled, is refused (409).
public struct FulfillmentEvents: Sendable {
    public enum ShipEvent: String, Sendable, CaseIterable {
        case picking, picked, packing, packed, shipped

        /// The status the event means; `packing` changes none (it is noted in the history).
        public var status: OrderStatus? {
            switch self {
            case .picking: .picking
            case .picked: .picked
            case .packing: nil
            case .packed: .packed
            case .shipped: .fulfilled
            }
        }
    }

    public enum DeliveryStatus: String, Sendable, CaseIterable {
        case shipped
        case inTransit = "in_transit"
        case outForDelivery = "out_for_delivery"
        case failed, rescheduled, delivered

        public var status: OrderStatus {
            switch self {
            case .shipped: .shipped
            case .inTransit, .rescheduled: .inTransit
            case .outForDelivery: .outForDelivery
            case .failed: .deliveryFailed
            case .delivered: .delivered
            }
        }
    }

    public enum Outcome: String, Sendable {
        /// The order moved (or, for `packing`, the history noted it).
        case applied
        /// This event ID was handled before; nothing changed.
        case duplicate
        /// The order is already past this point.
        case ignoredOutOfOrder = "ignored_out_of_order"
        /// The order is already at this status.
        case noChange = "no_change"
    }

    public struct Update: Sendable {
        public var eventID: String
        public var orderID: OrderID
        public var trackingID: String?
        public var carrier: String?
        public var reason: String?
        public var occurredAt: Timestamp?

        public init(
            eventID: String, orderID: OrderID, trackingID: String? = nil, carrier: String? = nil, reason: String? = nil,
            occurredAt: Timestamp? = nil
        ) {
            self.eventID = eventID
            self.orderID = orderID
            self.trackingID = trackingID
            self.carrier = carrier
            self.reason = reason
            self.occurredAt = occurredAt
        }
    }

    let database: Database
    let pipeline: OrderPipeline
    let clock: any WallClock

    public init(database: Database, pipeline: OrderPipeline, clock: any WallClock) {
        self.database = database
        self.pipeline = pipeline
        self.clock = clock
    }

    public func apply(ship event: ShipEvent, _ update: Update, actor: String, visible: @Sendable (Order) -> Bool)
        async throws -> (Outcome, StoredOrder)
    {
        try await apply(update, kind: "ship.\(event.rawValue)", target: event.status, actor: actor, visible: visible) {
            order in
            guard order.status >= .released else {
                throw DomainError.conflict(
                    code: "not_released",
                    message: "order \(order.id) is \(order.status); ship events start at 3000 Released")
            }
        }
    }

    public func apply(
        delivery status: DeliveryStatus, _ update: Update, actor: String, visible: @Sendable (Order) -> Bool
    ) async throws -> (Outcome, StoredOrder) {
        if status == .failed, (update.reason ?? "").trimmingSpaces().isEmpty {
            throw DomainError.validationFailed([
                FieldError(field: "reason", rule: "required", message: "a failed delivery needs a reason")
            ])
        }
        return try await apply(
            update, kind: "delivery.\(status.rawValue)", target: status.status, actor: actor, visible: visible
        ) { order in
            guard order.status >= .fulfilled else {
                throw DomainError.conflict(
                    code: "not_shipped",
                    message: "order \(order.id) is \(order.status); delivery updates start at 7000 Fulfilled")
            }
            if let tracking = update.trackingID, let known = order.trackingID, tracking != known {
                throw DomainError.conflict(
                    code: "tracking_mismatch",
                    message: "order \(order.id) ships with tracking ID \(known), not \(tracking)")
            }
            if let carrier = update.carrier, let known = order.carrier, carrier.lowercased() != known.lowercased() {
                throw DomainError.conflict(
                    code: "carrier_mismatch", message: "order \(order.id) ships with \(known), not \(carrier)")
            }
        }
    }

    private func apply(
        _ update: Update, kind: String, target: OrderStatus?, actor: String, visible: @Sendable (Order) -> Bool,
        check: (Order) throws -> Void
    ) async throws -> (Outcome, StoredOrder) {
        let orders = OrderRepository(database: database)
        for _ in 1...5 {
            guard let stored = try await orders.find(update.orderID), visible(stored.order) else {
                throw DomainError.notFound(kind: "order", id: update.orderID.rawValue)
            }
            let store = stored.order.shipFromLocationID
            if try await database.read({ db in
                try await InboundEventRepository.outcome(of: update.eventID, store: store, in: db)
            }) != nil {
                return (.duplicate, stored)
            }
            let current = stored.order
            if current.status == .cancelled {
                throw DomainError.illegalTransition(from: .cancelled, to: target ?? current.status)
            }
            try check(current)
            let now = clock.now()
            var order = current
            var outcome = Outcome.applied
            var history: StatusChange?
            var events: [OutboxEvent] = []
            var jobs: [NewJob] = []
            if order.trackingID == nil, let tracking = update.trackingID { order.trackingID = tracking }
            if order.carrier == nil, let carrier = update.carrier { order.carrier = carrier }
            let reason = [kind, update.reason].compactMap { $0 }.joined(separator: ": ")
            if let target {
                if target == current.status {
                    outcome = .noChange
                } else if current.status.canMove(to: target) {
                    if target == .delivered && order.paymentMethod == .cod
                        && order.paymentStatus.canMove(to: .codCollected)
                    {
                        order.paymentStatus = .codCollected
                    }
                    history = try order.move(to: target, reason: reason, actor: actor, at: now)
                    events.append(.forOrder(Self.eventType(target), order, reason: update.reason, at: now))
                    jobs = pipeline.notificationJobs(for: order, at: now)
                } else {
                    outcome = .ignoredOutOfOrder
                }
            } else if [.released, .picking, .picked].contains(current.status) {
                history = StatusChange(
                    status: current.status, paymentStatus: current.paymentStatus, at: now, reason: reason, actor: actor)
            } else {
                outcome = .ignoredOutOfOrder
            }
            let statusMoved = order.status != current.status
            let detailsChanged = order.trackingID != current.trackingID || order.carrier != current.carrier
            if !statusMoved && detailsChanged {
                order.version += 1
                order.updatedAt = now
            }
            let (final, recordedHistory, result, outboxEvents, newJobs) = (order, history, outcome, events, jobs)
            do {
                try await database.transaction { db in
                    guard
                        try await InboundEventRepository.record(
                            update.eventID, store: final.shipFromLocationID, kind: kind, order: final.id,
                            outcome: result.rawValue, at: now, in: db)
                    else {
                        throw DomainError.conflict(code: "duplicate_event", message: update.eventID)
                    }
                    if statusMoved || detailsChanged {
                        try await OrderRepository.update(
                            final, expectedVersion: current.version, linesChanged: [], history: recordedHistory,
                            events: outboxEvents, in: db)
                    } else if let recordedHistory {
                        try await OrderRepository.appendHistory(recordedHistory, of: final.id, in: db)
                    }
                    try await JobRepository.enqueue(newJobs, in: db)
                }
            } catch DomainError.concurrentUpdate {
                continue
            } catch DomainError.conflict(code: "duplicate_event", _) {
                continue
            }
            var answer = stored
            answer.order = final
            if let recordedHistory { answer.history.append(recordedHistory) }
            return (outcome, answer)
        }
        throw DomainError.concurrentUpdate("order \(update.orderID) is changing too often; retry")
    }

    /// The outbox event type for a status an order reached from outside.
    static func eventType(_ status: OrderStatus) -> String {
        switch status {
        case .picking: "order.picking"
        case .picked: "order.picked"
        case .packed: "order.packed"
        case .fulfilled: "order.fulfilled"
        case .shipped: "order.shipped"
        case .inTransit: "order.in_transit"
        case .outForDelivery: "order.out_for_delivery"
        case .deliveryFailed: "order.delivery_failed"
        case .delivered: "order.delivered"
        default: "order.status_changed"
        }
    }
}
