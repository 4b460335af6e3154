import Foundation
import Logging
import Metrics
import OrderFlowDomain
import OrderFlowEngine
import OrderFlowPersistence
import OrderFlowSimulator
import OrderFlowTestSupport
import Prometheus
import Synchronization
import Testing

/// A card provider that answers as told and remembers every call.
final class FakePayments: PaymentProvider, Sendable {
    enum Behaviour: Sendable {
        case approve
        case decline(String)
        case unavailable
        /// Unavailable for one order, approving the others.
        case unavailableFor(String)
        case slow(Double)
    }
    let behaviour: Mutex<Behaviour>
    let charges = Mutex<[ChargeRequest]>([])
    let refunds = Mutex<[(reference: String, key: String)]>([])

    init(_ behaviour: Behaviour = .approve) { self.behaviour = Mutex(behaviour) }

    func charge(_ request: ChargeRequest) async throws -> ChargeResult {
        charges.withLock { $0.append(request) }
        switch behaviour.withLock({ $0 }) {
        case .approve: return .approved(reference: "PAY-\(request.orderID)")
        case .decline(let reason): return .declined(reason: reason)
        case .unavailable: throw ProviderUnavailable(description: "provider down")
        case .unavailableFor(let order) where request.orderID.rawValue == order:
            throw ProviderUnavailable(description: "provider down for \(order)")
        case .unavailableFor: return .approved(reference: "PAY-\(request.orderID)")
        case .slow(let seconds):
            try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            return .approved(reference: "PAY-\(request.orderID)")
        }
    }

    func refund(reference: String, amount: Money, idempotencyKey: String) async throws {
        refunds.withLock { $0.append((reference, idempotencyKey)) }
    }
}

/// A notification medium that records what it was asked to send.
final class FakeNotifier: NotificationSender, Sendable {
    let medium: String
    let sent = Mutex<[(recipient: String, subject: String, key: String)]>([])
    let failuresLeft = Mutex(0)

    init(medium: String) { self.medium = medium }

    func send(to recipient: String, subject: String, message: String, key: String) async throws {
        if failuresLeft.withLock({ count in
            defer { if count > 0 { count -= 1 } }
            return count > 0
        }) {
            throw ProviderUnavailable(description: "medium down")
        }
        sent.withLock { $0.append((recipient, subject, key)) }
    }
}

/// A fresh database with the sample catalog, an engine on a manual clock, fake providers and a
/// simulated downstream (a real HTTP server) for the channels.
struct EngineHarness {
    let database: Database
    let engine: Engine
    let clock: ManualClock
    let payments: FakePayments
    let email: FakeNotifier
    let sms: FakeNotifier
    let simulator: Simulator
    let registry: PrometheusCollectorRegistry

    static let secret = "test-webhook-secret"

    static func run(
        _ kind: Database.Kind = .sqlite, stock: Int = 100, payments: FakePayments = FakePayments(),
        configure: @Sendable (inout EngineSettings) -> Void = { _ in },
        _ body: @Sendable (EngineHarness) async throws -> Void
    ) async throws {
        var simulatorSettings = Simulator.Settings()
        simulatorSettings.port = 0
        simulatorSettings.webhookSecret = secret
        simulatorSettings.commerceLatencyMilliseconds = 0...0
        simulatorSettings.advanceSeconds = 0
        let simulator = Simulator(settings: simulatorSettings, apiKey: { _ in nil }, logger: TestDatabase.logger)
        let simulatorTask = Task { try await simulator.run() }
        defer { simulatorTask.cancel() }
        var port: Int?
        for _ in 0..<200 where port == nil {
            port = simulator.boundPort.withLock { $0 }
            if port == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        let base = "http://127.0.0.1:\(try #require(port))"
        try await TestDatabase.with(kind) { database in
            try await Samples.seed(database, stock: stock)
            var settings = EngineSettings()
            settings.backoffSeconds = 1
            settings.maxAttempts = 3
            // Real time, not the manual clock: generous, so a step on a loaded machine (the whole
            // suite runs in parallel on 2 cores) never times out by accident. The timeout test sets its own.
            settings.stepTimeoutSeconds = 30
            settings.channels = [
                ChannelSettings(
                    name: "commerce", url: "\(base)/commerce/events", events: ["order.*"], timeoutSeconds: 2,
                    maxAttempts: 5,
                    backoffSeconds: 1, maxBackoffSeconds: 8, secret: secret, circuitFailures: 3,
                    circuitCooldownSeconds: 10),
                ChannelSettings(
                    name: "fulfillment", url: "\(base)/fulfillment/events",
                    events: ["order.released", "order.cancelled"],
                    timeoutSeconds: 2, secret: secret),
            ]
            configure(&settings)
            let clock = ManualClock(Timestamp(microseconds: 1_800_000_000_000_000))
            let registry = PrometheusCollectorRegistry()
            let email = FakeNotifier(medium: "email")
            let sms = FakeNotifier(medium: "sms")
            let engine = Engine(
                database: database, settings: settings, clock: clock, logger: TestDatabase.logger,
                metrics: PrometheusMetricsFactory(registry: registry), payments: payments, notifiers: [email, sms],
                owner: "test-worker")
            try await body(
                EngineHarness(
                    database: database, engine: engine, clock: clock, payments: payments, email: email, sms: sms,
                    simulator: simulator, registry: registry))
        }
    }

    var orders: OrderRepository { OrderRepository(database: database) }

    /// Accepts an order the way the API does: order, history, event and first job in one transaction.
    @discardableResult
    func place(_ id: String, store: Location = Samples.qcStore, configure: (inout OrderDraft) -> Void = { _ in })
        async throws -> Order
    {
        var draft = Samples.draft(id, store: store)
        if store.format == .standard { draft.isForceAllocation = false }
        configure(&draft)
        let order = try OrderIntake.prepare(draft, catalog: Samples.snapshot, at: clock.now())
        let history = StatusChange(
            status: .open, paymentStatus: .awaitingPayment, at: order.createdAt, reason: nil, actor: "test")
        _ = try await orders.create(
            order, history: history, event: .forOrder("order.created", order, at: order.createdAt), idempotency: nil,
            jobs: [engine.pipeline.firstJob(for: order, at: order.createdAt)])
        return order
    }

    func order(_ id: String) async throws -> StoredOrder {
        try #require(try await orders.find(OrderID(id)))
    }

    func stock(_ sku: String, at location: Location = Samples.warehouse) async throws -> StockLevel {
        try #require(
            try await InventoryRepository(database: database).levels(of: SKU(sku)).first { $0.location == location.id })
    }

    func metric(_ line: String) -> Bool {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self).split(separator: "\n").contains { $0 == line }
    }
}
