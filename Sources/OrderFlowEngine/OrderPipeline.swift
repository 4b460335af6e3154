import Foundation
import Logging
import OrderFlowDomain
import OrderFlowPersistence
import SQLKit

/// The saga every order runs through: allocate → pay → release, and the compensation of a
/// cancelled order, plus customer notifications. Each step reads the order, calls outside
/// systems if it must (with an idempotency key from the order and the step), then writes in one
/// transaction the new state, a status-history row, the outbox events, the finished job's
/// deletion and the next job. A crash leaves the old state or the new one.
public struct OrderPipeline: Sendable {
    public enum Step: String, Sendable, CaseIterable {
        case allocate = "order.allocate"
        case pay = "order.pay"
        case release = "order.release"
        case compensate = "order.compensate"
        case notify = "order.notify"
    }

    public let database: Database
    let payments: any PaymentProvider
    let notifiers: [any NotificationSender]
    let settings: EngineSettings
    let clock: any WallClock
    let logger: Logger
    let metrics: PipelineMetrics
    static let actor = "pipeline"

    public init(
        database: Database, payments: any PaymentProvider, notifiers: [any NotificationSender],
        settings: EngineSettings, clock: any WallClock, logger: Logger, metrics: PipelineMetrics
    ) {
        self.database = database
        self.payments = payments
        self.notifiers = notifiers
        self.settings = settings
        self.clock = clock
        self.logger = logger
        self.metrics = metrics
    }

    var orders: OrderRepository { OrderRepository(database: database) }

    // MARK: Jobs other parts ask for

    /// The first job of a new order: written with the order, in the same transaction.
    public func firstJob(for order: Order, at now: Timestamp) -> NewJob {
        nextJob(.allocate, order.id, at: now)
    }

    /// The jobs a cancellation needs: compensation, and telling the customer.
    public func cancellationJobs(for order: Order, at now: Timestamp) -> [NewJob] {
        [nextJob(.compensate, order.id, at: now)] + notificationJobs(for: order, at: now)
    }

    /// One job per step and order (the dedupe key), so a step is never queued twice.
    func nextJob(_ step: Step, _ order: OrderID, at now: Timestamp) -> NewJob {
        NewJob(
            kind: step.rawValue, orderID: order, dedupeKey: "\(step.rawValue):\(order)",
            maxAttempts: settings.maxAttempts, runAt: now)
    }

    /// Notification jobs for the status an order just reached, one per configured medium with an address.
    public func notificationJobs(for order: Order, at now: Timestamp) -> [NewJob] {
        guard let template = NotificationTemplate.forStatus(order.status, failed: order.failureReason != nil) else {
            return []
        }
        return notifiers.compactMap { sender in
            guard recipient(of: order, medium: sender.medium) != nil else { return nil }
            let payload =
                (try? JSONEncoder().encode(NotifyPayload(template: template, medium: sender.medium))).map {
                    String(decoding: $0, as: UTF8.self)
                } ?? "{}"
            return NewJob(
                kind: Step.notify.rawValue, orderID: order.id,
                dedupeKey: "notify:\(order.id):\(template.rawValue):\(sender.medium)",
                payload: payload, maxAttempts: max(settings.maxAttempts, 10), runAt: now)
        }
    }

    func recipient(of order: Order, medium: String) -> String? {
        medium == "email" ? order.customer.email : order.customer.phone
    }

    struct NotifyPayload: Codable {
        var template: NotificationTemplate
        var medium: String
    }

    // MARK: Running a job

    /// Runs the step a job names; returns normally when the job is finished (its deletion
    /// committed with the step's writes). Throws to have the job retried.
    public func run(_ job: Job, owner: String) async throws {
        guard let step = Step(rawValue: job.kind), let orderID = job.orderID else {
            throw PipelineError.permanent("unknown job kind '\(job.kind)'")
        }
        guard let stored = try await orders.find(orderID) else {
            // The order is gone (never committed, or removed): nothing to do.
            try await JobRepository(database: database).complete(job, owner: owner)
            return
        }
        switch step {
        case .allocate: try await allocate(stored.order, job: job, owner: owner)
        case .pay: try await pay(stored.order, job: job, owner: owner)
        case .release: try await release(stored.order, job: job, owner: owner)
        case .compensate: try await compensate(stored.order, job: job, owner: owner)
        case .notify: try await notify(stored.order, job: job, owner: owner)
        }
    }

    /// Commits a step: the order (if changed), its history row, events, the job's end and the next jobs.
    private func commit(
        _ job: Job, owner: String, order: Order?, expectedVersion: Int, history: StatusChange?, events: [OutboxEvent],
        next: [NewJob], extra: (@Sendable (any SQLDatabase) async throws -> Void)? = nil
    ) async throws {
        try await database.transaction { db in
            if let extra { try await extra(db) }
            if let order {
                try await OrderRepository.update(
                    order, expectedVersion: expectedVersion, linesChanged: [], history: history, events: events, in: db)
            }
            try await JobRepository.complete(job, owner: owner, in: db)
            try await JobRepository.enqueue(next, in: db)
        }
    }

    // MARK: Allocate

    func allocate(_ current: Order, job: Job, owner: String) async throws {
        guard current.status == .open else {
            return try await commit(
                job, owner: owner, order: nil, expectedVersion: 0, history: nil, events: [], next: [])
        }
        let now = clock.now()
        var order = current
        if order.isForceAllocation {
            // QC small-format stores allocate from the ship-from store without a stock check (story 2.4).
            let change = try order.move(
                to: .allocated, reason: "force-allocated at \(order.shipFromLocationID)", actor: Self.actor, at: now)
            try await commit(
                job, owner: owner, order: order, expectedVersion: current.version, history: change,
                events: [.forOrder("order.allocated", order, at: now)], next: [nextJob(.pay, order.id, at: now)])
            metrics.stepCompleted(.allocate)
            return
        }
        let request = ReservationRequest(
            reservationID: "order-\(order.id)", location: order.shipFromLocationID, orderID: order.id,
            items: Self.stockItems(order))
        order.reservationID = request.reservationID
        let change = try order.move(
            to: .allocated, reason: "stock reserved at \(order.shipFromLocationID)", actor: Self.actor, at: now)
        let allocated = order
        let reserved = try await database.transaction { db -> Bool in
            do {
                _ = try await db.withSavepoint { try await InventoryRepository.reserve(request, at: now, in: $0) }
            } catch DomainError.insufficientStock(let short) {
                let reason = "insufficient stock: " + short.map(\.message).joined(separator: "; ")
                var failed = current
                let change = try failed.fail(reason: reason, actor: Self.actor, at: now)
                try await OrderRepository.update(
                    failed, expectedVersion: current.version, linesChanged: [], history: change,
                    events: [.forOrder("order.failed", failed, reason: reason, at: now)], in: db)
                try await JobRepository.complete(job, owner: owner, in: db)
                try await JobRepository.enqueue(notificationJobs(for: failed, at: now), in: db)
                return false
            }
            try await OrderRepository.update(
                allocated, expectedVersion: current.version, linesChanged: [], history: change,
                events: [.forOrder("order.allocated", allocated, at: now)], in: db)
            try await JobRepository.complete(job, owner: owner, in: db)
            try await JobRepository.enqueue([nextJob(.pay, allocated.id, at: now)], in: db)
            return true
        }
        if reserved { metrics.stepCompleted(.allocate) } else { metrics.orderFailed(reason: "stock") }
    }

    /// One reservation item per SKU: lines of one SKU (a bundle and a single, say) add up.
    static func stockItems(_ order: Order) -> [ReservationRequest.Item] {
        var quantities: [SKU: Int] = [:]
        for line in order.lines { quantities[line.sku, default: 0] += line.quantity }
        return quantities.sorted { $0.key < $1.key }.map { ReservationRequest.Item(sku: $0.key, quantity: $0.value) }
    }

    // MARK: Pay

    func pay(_ current: Order, job: Job, owner: String) async throws {
        guard current.status == .allocated, current.paymentStatus == .awaitingPayment else {
            return try await commit(
                job, owner: owner, order: nil, expectedVersion: 0, history: nil, events: [], next: [])
        }
        var order = current
        switch order.paymentMethod {
        case .cod:
            let now = clock.now()
            let change = try order.setPayment(
                .codPending, reason: "cash on delivery: \(order.totals.orderTotal.formatted(places: 2)) to collect",
                actor: Self.actor, at: now)
            try await commit(
                job, owner: owner, order: order, expectedVersion: current.version, history: change, events: [],
                next: [nextJob(.release, order.id, at: now)])
            metrics.stepCompleted(.pay)
        case .card:
            let result = try await payments.charge(
                ChargeRequest(
                    idempotencyKey: "order-\(order.id)-charge", orderID: order.id, amount: order.totals.orderTotal,
                    customerID: order.customer.id))
            let now = clock.now()
            switch result {
            case .approved(let reference):
                order.paymentReference = reference
                let change = try order.setPayment(
                    .paid, reason: "card payment \(reference)", actor: Self.actor, at: now)
                try await commit(
                    job, owner: owner, order: order, expectedVersion: current.version, history: change,
                    events: [.forOrder("order.paid", order, at: now)], next: [nextJob(.release, order.id, at: now)])
                metrics.stepCompleted(.pay)
            case .declined(let reason):
                // Compensate what allocation did, in the same transaction as the failure.
                let reservation = order.reservationID
                let message = "payment declined: \(reason)"
                let change = try order.fail(reason: message, actor: Self.actor, at: now, payment: .failed)
                try await commit(
                    job, owner: owner, order: order, expectedVersion: current.version, history: change,
                    events: [.forOrder("order.failed", order, reason: message, at: now)],
                    next: notificationJobs(for: order, at: now)
                ) { db in
                    if let reservation { _ = try await InventoryRepository.release(reservation, at: now, in: db) }
                }
                metrics.orderFailed(reason: "payment")
            }
        }
    }

    // MARK: Release

    func release(_ current: Order, job: Job, owner: String) async throws {
        // Exactly one release per order: only an allocated, paid (or COD) order moves to 3000.
        guard current.status == .allocated, [.paid, .codPending].contains(current.paymentStatus) else {
            return try await commit(
                job, owner: owner, order: nil, expectedVersion: 0, history: nil, events: [], next: [])
        }
        let now = clock.now()
        var order = current
        if order.paymentMethod == .cod { order.paymentStatus = .codConfirmed }
        let change = try order.move(
            to: .released, reason: "released to fulfilment as one release", actor: Self.actor, at: now)
        try await commit(
            job, owner: owner, order: order, expectedVersion: current.version, history: change,
            events: [.forOrder("order.released", order, at: now)], next: notificationJobs(for: order, at: now))
        metrics.stepCompleted(.release)
    }

    // MARK: Compensate

    /// Undoes what a cancelled order had taken: its stock reservation, its card payment.
    func compensate(_ current: Order, job: Job, owner: String) async throws {
        guard current.status == .cancelled else {
            return try await commit(
                job, owner: owner, order: nil, expectedVersion: 0, history: nil, events: [], next: [])
        }
        var order = current
        var done: [String] = []
        if order.paymentStatus == .paid, let reference = order.paymentReference {
            try await payments.refund(
                reference: reference, amount: order.totals.orderTotal, idempotencyKey: "order-\(order.id)-refund")
            order.paymentStatus = .refunded
            done.append("payment \(reference) refunded")
        }
        let now = clock.now()
        let reservation = order.reservationID
        if reservation != nil { done.append("stock released") }
        let changed = order != current
        let history =
            changed || !done.isEmpty
            ? StatusChange(
                status: order.status, paymentStatus: order.paymentStatus, at: now,
                reason: "compensated: " + (done.isEmpty ? "nothing to undo" : done.joined(separator: ", ")),
                actor: Self.actor)
            : nil
        if changed {
            order.version += 1
            order.updatedAt = now
        }
        let compensated = order
        try await database.transaction { db in
            if let reservation {
                _ = try? await db.withSavepoint { try await InventoryRepository.release(reservation, at: now, in: $0) }
            }
            if changed {
                try await OrderRepository.update(
                    compensated, expectedVersion: current.version, linesChanged: [], history: history,
                    events: [.forOrder("order.refunded", compensated, at: now)], in: db)
            } else if let history {
                try await OrderRepository.appendHistory(history, of: compensated.id, in: db)
            }
            try await JobRepository.complete(job, owner: owner, in: db)
        }
        metrics.stepCompleted(.compensate)
    }

    // MARK: Notify

    func notify(_ order: Order, job: Job, owner: String) async throws {
        let payload = try JSONDecoder().decode(NotifyPayload.self, from: Data(job.payload.utf8))
        let key = job.dedupeKey ?? "notify:\(order.id):\(payload.template.rawValue):\(payload.medium)"
        let receipts = NotificationReceiptRepository(database: database)
        guard let sender = notifiers.first(where: { $0.medium == payload.medium }),
            let recipient = recipient(of: order, medium: payload.medium),
            try await !receipts.exists(key)
        else {
            return try await commit(
                job, owner: owner, order: nil, expectedVersion: 0, history: nil, events: [], next: [])
        }
        try await sender.send(
            to: recipient, subject: payload.template.subject(order), message: payload.template.message(order), key: key)
        let now = clock.now()
        try await commit(job, owner: owner, order: nil, expectedVersion: 0, history: nil, events: [], next: []) { db in
            try await NotificationReceiptRepository.record(
                key, order: order.id, medium: payload.medium, recipient: recipient, at: now, in: db)
        }
        metrics.notificationSent(payload.medium)
    }
}

/// A step failure that no retry will fix.
public enum PipelineError: Error, CustomStringConvertible {
    case permanent(String)

    public var description: String {
        switch self {
        case .permanent(let message): message
        }
    }
}
