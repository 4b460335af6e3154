import AsyncHTTPClient
import Logging
import Metrics
import OrderFlowDomain
import OrderFlowStore
import ServiceLifecycle
import Synchronization

/// The pipeline as one piece: the saga, the job worker, the outbox relay and the fulfilment
/// event handling, built from settings. `services` are the ones to run (worker and relay).
public struct Engine: Sendable {
    public let pipeline: OrderPipeline
    public let worker: JobWorker
    public let relay: OutboxRelay
    public let fulfillment: FulfillmentEvents
    public let settings: EngineSettings
    /// The worker and relay wait on this until storage is ready (migrations done).
    public let ready: StartGate

    /// - Parameters:
    ///   - payments: the card provider; by default the HTTP provider of `settings.payment`.
    ///   - notifiers: by default the SMTP and SMS senders `settings.notifications` configures.
    public init(
        database: Database, settings: EngineSettings, clock: any WallClock, logger: Logger, metrics: any MetricsFactory,
        payments: (any PaymentProvider)? = nil, notifiers: [any NotificationSender]? = nil, sender: WebhookSender = WebhookSender(),
        owner: String = JobWorker.instanceName()
    ) {
        let payments = payments ?? settings.payment.map { HTTPPaymentProvider(settings: $0) } ?? MissingPaymentProvider()
        let notifiers = notifiers ?? Self.notifiers(settings.notifications)
        let pipelineMetrics = PipelineMetrics(factory: metrics)
        let ready = StartGate()
        self.ready = ready
        pipeline = OrderPipeline(
            database: database, payments: payments, notifiers: notifiers, settings: settings, clock: clock, logger: logger, metrics: pipelineMetrics)
        worker = JobWorker(database: database, pipeline: pipeline, settings: settings, clock: clock, logger: logger, metrics: pipelineMetrics, owner: owner, ready: ready)
        relay = OutboxRelay(database: database, settings: settings, sender: sender, clock: clock, logger: logger, metrics: pipelineMetrics, owner: owner, ready: ready)
        fulfillment = FulfillmentEvents(database: database, pipeline: pipeline, clock: clock)
        self.settings = settings
    }

    static func notifiers(_ settings: NotificationSettings) -> [any NotificationSender] {
        var senders: [any NotificationSender] = []
        if let url = settings.smtpURL, let smtp = SMTPSender(url: url, from: settings.smtpFrom) { senders.append(smtp) }
        if let url = settings.smsURL { senders.append(HTTPSMSSender(url: url, token: settings.smsToken)) }
        return senders
    }

    /// The background services to run: the job worker and the outbox relay, or none when
    /// `workerConcurrency` is 0 (an instance that only takes orders in; others on the same
    /// database run the pipeline and deliver events).
    public var services: [any Service] {
        settings.workerConcurrency > 0 ? [worker, relay] : []
    }

    /// New work was committed: run it now rather than at the next poll.
    public func wake() {
        worker.wake()
        relay.wake()
    }

    /// Runs every due job and delivers every due transmission until nothing is left (tests, tools).
    public func drain(rounds: Int = 50) async throws {
        for _ in 0..<rounds {
            let jobs = try await worker.runDue()
            let sent = try await relay.runOnce()
            if jobs == 0 && sent == 0 { return }
        }
    }
}

/// A one-way gate: closed until `open()`, then open for good.
public final class StartGate: Sendable {
    private struct State {
        var open = false
        var next = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    public var isOpen: Bool { state.withLock { $0.open } }

    /// Returns once the gate is open (at once if it is), or when the task is cancelled (a
    /// shutdown before start-up finished must not hang on a gate that will never open).
    public func wait() async {
        let id = state.withLock { state -> Int in
            state.next += 1
            return state.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state -> Bool in
                    if state.open || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}

extension StartGate {
    /// Waits for the gate, or for a graceful shutdown (one before start-up finished must not hang
    /// on a gate that will never open); true when the gate opened.
    public func waitUnlessShuttingDown() async -> Bool {
        await cancelWhenGracefulShutdown { await self.wait() }
        return isOpen
    }

    /// Once the gate opens, runs `pass` and then again every `seconds`, until graceful shutdown,
    /// which also cuts a wait short. A failed pass is logged; the next one runs on time.
    public func repeatUntilShutdown(
        every seconds: Double, logger: Logger, failure: String, _ pass: @escaping @Sendable () async throws -> Void
    ) async throws {
        guard await waitUnlessShuttingDown() else { return }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await pass()
                } catch {
                    if !Task.isCancelled { logger.error("\(failure)", metadata: ["error": "\(error)"]) }
                }
                try? await Task.sleep(for: .seconds(seconds))
            }
        }
    }
}
