import Foundation
import Logging
import OrderFlowDomain
import OrderFlowPersistence
import SQLKit
import Synchronization

/// The saga every order runs through: allocate → pay → release, and the compensation of a
/// cancelled order, plus customer notifications.
///
/// Jobs run in batches of one kind (`JobWorker`): their orders are read in one query, each step
/// decides and calls outside systems if it must (with an idempotency key from the order and the
/// step), and then one transaction writes every step's new state, status-history rows, outbox
/// events, the finished jobs' deletion and the next jobs. A crash leaves the old state or the new
/// one; a step refused at writing (its order changed, its lease lost) leaves the others written.
public struct OrderPipeline: Sendable {
    public enum Step: String, Sendable, CaseIterable {
        case allocate = "order.allocate"
        case pay = "order.pay"
        case release = "order.release"
        case compensate = "order.compensate"
        case notify = "order.notify"

        /// Whether the step calls an outside system (the payment provider, a notifier) before its
        /// writes; the others decide from the order alone, at once.
        public var callsOutside: Bool { self == .pay || self == .compensate || self == .notify }
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

    // MARK: Running jobs

    /// Runs one job alone: its step, then its writes in a transaction of their own. Returns when
    /// the job is finished; throws to have it retried (`JobRepository.Failure.leaseLost` when
    /// another worker holds it now).
    public func run(_ job: Job, owner: String) async throws {
        let orders = try await self.orders(of: [job])
        let decision = try await decide(job, order: job.orderID.flatMap { orders[$0] })
        if let error = try await commit([(job, decision)], owner: owner)[job.id] { throw error }
    }

    /// The orders a batch of jobs works on, in two queries.
    func orders(of jobs: [Job]) async throws -> [OrderID: Order] {
        try await orders.orders(jobs.compactMap(\.orderID))
    }

    /// What one job's step decided: its calls to outside systems are made; its writes wait for the
    /// batch's transaction.
    struct Decision: Sendable {
        /// Writes the step's changes inside the batch's transaction (in a savepoint of its own,
        /// gathering rows that go out with the batch's in `writes`), and returns what to count once
        /// they are committed.
        let write: @Sendable (_ db: any SQLDatabase, _ writes: StepWrites) async throws -> Counted

        typealias Counted = @Sendable () -> Void

        /// The job ends with nothing to write (the order moved on, or is gone).
        static let nothing = Decision { _, _ in {} }
    }

    /// Runs the step a job names as far as its writes: reads, decisions, calls to outside systems
    /// (each with an idempotency key from the order and the step). `order` is nil when it is gone.
    func decide(_ job: Job, order: Order?) async throws -> Decision {
        guard let step = Step(rawValue: job.kind), job.orderID != nil else {
            throw PipelineError.permanent("unknown job kind '\(job.kind)'")
        }
        // The order is gone (never committed, or removed): nothing to do.
        guard let order else { return .nothing }
        switch step {
        case .allocate: return allocate(order)
        case .pay: return try await pay(order)
        case .release: return try release(order)
        case .compensate: return try await compensate(order)
        case .notify: return try await notify(order, job: job)
        }
    }

    /// Writes the decisions of a batch of jobs in one transaction: each job's own changes in a
    /// savepoint, so a refused one (its order changed meanwhile, its lease taken over) leaves the
    /// others written; then the history rows, outbox events and next jobs of all, and the deletion
    /// of every finished job, in one statement each. Returns the error of each job that was not
    /// finished; what committed is counted.
    func commit(_ batch: [(job: Job, decision: Decision)], owner: String) async throws -> [Int64: any Error] {
        let (failures, counted) = try await database.transaction { db in
            let held = try await JobRepository.held(batch.map(\.job), owner: owner, in: db)
            let writes = StepWrites()
            var failures: [Int64: any Error] = [:]
            var finished: [Job] = []
            var counted: [Decision.Counted] = []
            for (job, decision) in batch {
                guard held.contains(job.id) else {
                    failures[job.id] = JobRepository.Failure.leaseLost(jobID: job.id)
                    continue
                }
                let own = StepWrites()
                do {
                    let count =
                        batch.count == 1
                        ? try await decision.write(db, own)
                        : try await db.withSavepoint { db in try await decision.write(db, own) }
                    writes.append(own)
                    finished.append(job)
                    counted.append(count)
                } catch {
                    failures[job.id] = error
                }
            }
            try await writes.flush(into: db)
            try await JobRepository.complete(finished, owner: owner, in: db)
            return (failures, counted)
        }
        for count in counted { count() }
        return failures
    }

    // MARK: Allocate

    func allocate(_ current: Order) -> Decision {
        guard current.status == .open else { return .nothing }
        return Decision { db, writes in
            let now = clock.now()
            var order = current
            if order.isForceAllocation {
                // QC small-format stores allocate from the ship-from store without a stock check (story 2.4).
                let change = try order.move(
                    to: .allocated, reason: "force-allocated at \(order.shipFromLocationID)", actor: Self.actor, at: now
                )
                try await writes.update(
                    order, from: current, history: change, events: [.forOrder("order.allocated", order, at: now)],
                    next: [nextJob(.pay, order.id, at: now)], in: db)
                return { metrics.stepCompleted(.allocate) }
            }
            let request = ReservationRequest(
                reservationID: "order-\(order.id)", location: order.shipFromLocationID, orderID: order.id,
                items: Self.stockItems(order))
            do {
                _ = try await db.withSavepoint { try await InventoryRepository.reserve(request, at: now, in: $0) }
            } catch DomainError.insufficientStock(let short) {
                let reason = "insufficient stock: " + short.map(\.message).joined(separator: "; ")
                var failed = current
                let change = try failed.fail(reason: reason, actor: Self.actor, at: now)
                try await writes.update(
                    failed, from: current, history: change,
                    events: [.forOrder("order.failed", failed, reason: reason, at: now)],
                    next: notificationJobs(for: failed, at: now), in: db)
                return { metrics.orderFailed(reason: "stock") }
            }
            order.reservationID = request.reservationID
            let change = try order.move(
                to: .allocated, reason: "stock reserved at \(order.shipFromLocationID)", actor: Self.actor, at: now)
            try await writes.update(
                order, from: current, history: change, events: [.forOrder("order.allocated", order, at: now)],
                next: [nextJob(.pay, order.id, at: now)], in: db)
            return { metrics.stepCompleted(.allocate) }
        }
    }

    /// One reservation item per SKU: lines of one SKU (a bundle and a single, say) add up.
    static func stockItems(_ order: Order) -> [ReservationRequest.Item] {
        var quantities: [SKU: Int] = [:]
        for line in order.lines { quantities[line.sku, default: 0] += line.quantity }
        return quantities.sorted { $0.key < $1.key }.map { ReservationRequest.Item(sku: $0.key, quantity: $0.value) }
    }

    // MARK: Pay

    func pay(_ current: Order) async throws -> Decision {
        guard current.status == .allocated, current.paymentStatus == .awaitingPayment else { return .nothing }
        var order = current
        switch order.paymentMethod {
        case .cod:
            let now = clock.now()
            let change = try order.setPayment(
                .codPending, reason: "cash on delivery: \(order.totals.orderTotal.formatted(places: 2)) to collect",
                actor: Self.actor, at: now)
            let pending = order
            return Decision { db, writes in
                try await writes.update(
                    pending, from: current, history: change, events: [], next: [nextJob(.release, pending.id, at: now)],
                    in: db)
                return { metrics.stepCompleted(.pay) }
            }
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
                let paid = order
                return Decision { db, writes in
                    try await writes.update(
                        paid, from: current, history: change, events: [.forOrder("order.paid", paid, at: now)],
                        next: [nextJob(.release, paid.id, at: now)], in: db)
                    return { metrics.stepCompleted(.pay) }
                }
            case .declined(let reason):
                // Compensate what allocation did, in the same transaction as the failure.
                let reservation = order.reservationID
                let message = "payment declined: \(reason)"
                let change = try order.fail(reason: message, actor: Self.actor, at: now, payment: .failed)
                let failed = order
                return Decision { db, writes in
                    if let reservation { _ = try await InventoryRepository.release(reservation, at: now, in: db) }
                    try await writes.update(
                        failed, from: current, history: change,
                        events: [.forOrder("order.failed", failed, reason: message, at: now)],
                        next: notificationJobs(for: failed, at: now), in: db)
                    return { metrics.orderFailed(reason: "payment") }
                }
            }
        }
    }

    // MARK: Release

    func release(_ current: Order) throws -> Decision {
        // Exactly one release per order: only an allocated, paid (or COD) order moves to 3000.
        guard current.status == .allocated, [.paid, .codPending].contains(current.paymentStatus) else {
            return .nothing
        }
        return Decision { db, writes in
            let now = clock.now()
            var order = current
            if order.paymentMethod == .cod { order.paymentStatus = .codConfirmed }
            let change = try order.move(
                to: .released, reason: "released to fulfilment as one release", actor: Self.actor, at: now)
            try await writes.update(
                order, from: current, history: change, events: [.forOrder("order.released", order, at: now)],
                next: notificationJobs(for: order, at: now), in: db)
            return { metrics.stepCompleted(.release) }
        }
    }

    // MARK: Compensate

    /// Undoes what a cancelled order had taken: its stock reservation, its card payment.
    func compensate(_ current: Order) async throws -> Decision {
        guard current.status == .cancelled else { return .nothing }
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
        return Decision { db, writes in
            if let reservation {
                _ = try? await db.withSavepoint { try await InventoryRepository.release(reservation, at: now, in: $0) }
            }
            if changed {
                try await writes.update(
                    compensated, from: current, history: history,
                    events: [.forOrder("order.refunded", compensated, at: now)], next: [], in: db)
            } else if let history {
                writes.history(history, of: compensated.id)
            }
            return { metrics.stepCompleted(.compensate) }
        }
    }

    // MARK: Notify

    func notify(_ order: Order, job: Job) async throws -> Decision {
        let payload = try JSONDecoder().decode(NotifyPayload.self, from: Data(job.payload.utf8))
        let key = job.dedupeKey ?? "notify:\(order.id):\(payload.template.rawValue):\(payload.medium)"
        let receipts = NotificationReceiptRepository(database: database)
        guard let sender = notifiers.first(where: { $0.medium == payload.medium }),
            let recipient = recipient(of: order, medium: payload.medium),
            try await !receipts.exists(key)
        else { return .nothing }
        try await sender.send(
            to: recipient, subject: payload.template.subject(order), message: payload.template.message(order), key: key)
        let now = clock.now()
        return Decision { db, _ in
            try await NotificationReceiptRepository.record(
                key, order: order.id, medium: payload.medium, recipient: recipient, at: now, in: db)
            return { metrics.notificationSent(payload.medium) }
        }
    }
}

/// The rows a batch of steps adds — status history, outbox events, next jobs — gathered while each
/// step writes its order, and written together in one statement per table.
final class StepWrites: Sendable {
    private struct Rows {
        var history: [(order: OrderID, change: StatusChange)] = []
        var events: [OutboxEvent] = []
        var jobs: [NewJob] = []
    }
    private let rows = Mutex(Rows())

    /// Writes a changed order's row now (refused if it changed since it was read), and gathers its
    /// history row, events and next jobs.
    func update(
        _ order: Order, from current: Order, history: StatusChange?, events: [OutboxEvent], next: [NewJob],
        in db: any SQLDatabase
    ) async throws {
        try await OrderRepository.updateRow(order, expectedVersion: current.version, in: db)
        rows.withLock { rows in
            if let history { rows.history.append((order.id, history)) }
            rows.events += events
            rows.jobs += next
        }
    }

    /// A history row without a change to the order (a compensation note).
    func history(_ change: StatusChange, of order: OrderID) {
        rows.withLock { $0.history.append((order, change)) }
    }

    /// Takes over what another step gathered (once its own writes are in).
    func append(_ other: StepWrites) {
        let added = other.rows.withLock { $0 }
        rows.withLock { rows in
            rows.history += added.history
            rows.events += added.events
            rows.jobs += added.jobs
        }
    }

    func flush(into db: any SQLDatabase) async throws {
        let all = rows.withLock { $0 }
        try await OrderRepository.insertHistory(all.history, into: db)
        try await OrderRepository.insertEvents(all.events, into: db)
        try await JobRepository.enqueue(all.jobs, in: db)
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
