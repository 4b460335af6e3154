import AsyncHTTPClient
import Logging
import Metrics
import OrderFlowDomain
import OrderFlowPersistence
import OrderFlowRuntime
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
    /// Orders as callers see and change them.
    public let orders: OrderService
    public let catalog: CatalogService
    public let deadLetters: DeadLetterService
    /// The worker and relay wait on this until storage is ready (migrations done).
    public let ready: StartGate

    /// - Parameters:
    ///   - payments: the card provider; by default the HTTP provider of `settings.payment`.
    ///   - notifiers: by default the SMTP and SMS senders `settings.notifications` configures.
    ///   - defaultImageURL: the image of an order line whose product has none.
    public init(
        database: Database, settings: EngineSettings, clock: any WallClock, logger: Logger, metrics: any MetricsFactory,
        payments: (any PaymentProvider)? = nil, notifiers: [any NotificationSender]? = nil,
        sender: WebhookSender = WebhookSender(),
        owner: String = InstanceName.make(), defaultImageURL: String? = nil
    ) {
        let payments =
            payments ?? settings.payment.map { HTTPPaymentProvider(settings: $0) } ?? MissingPaymentProvider()
        let notifiers = notifiers ?? Self.notifiers(settings.notifications)
        let pipelineMetrics = PipelineMetrics(factory: metrics)
        let ready = StartGate()
        self.ready = ready
        pipeline = OrderPipeline(
            database: database, payments: payments, notifiers: notifiers, settings: settings, clock: clock,
            logger: logger, metrics: pipelineMetrics)
        worker = JobWorker(
            database: database, pipeline: pipeline, settings: settings, clock: clock, logger: logger,
            metrics: pipelineMetrics, owner: owner, ready: ready)
        relay = OutboxRelay(
            database: database, settings: settings, sender: sender, clock: clock, logger: logger,
            metrics: pipelineMetrics, owner: owner, ready: ready)
        let fulfillment = FulfillmentEvents(database: database, pipeline: pipeline, clock: clock)
        self.fulfillment = fulfillment
        self.settings = settings
        let wake: @Sendable () -> Void = { [worker, relay] in
            worker.wake()
            relay.wake()
        }
        orders = OrderService(
            database: database, pipeline: pipeline, fulfillment: fulfillment, metrics: pipelineMetrics, clock: clock,
            defaultImageURL: defaultImageURL, wake: wake)
        catalog = CatalogService(database: database, clock: clock)
        deadLetters = DeadLetterService(database: database, clock: clock, wake: wake)
    }

    static func notifiers(_ settings: NotificationSettings) -> [any NotificationSender] {
        var senders: [any NotificationSender] = []
        if let url = settings.smtpURL, let smtp = SMTPClient(url: url, from: settings.smtpFrom) { senders.append(smtp) }
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
