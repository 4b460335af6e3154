import Foundation
import OrderFlowDomain
import OrderFlowPersistence

/// How the pipeline runs: workers, leases, retries, downstream channels and providers.
public struct EngineSettings: Sendable {
    /// Batches of jobs run at once per instance.
    public var workerConcurrency = 8
    /// The most jobs of one kind a worker claims and runs as one batch (one transaction).
    public var batchSize = 64
    /// How long a claimed job or transmission belongs to this instance before another may take it.
    public var leaseSeconds: Double = 30
    /// A step that runs longer is abandoned and retried.
    public var stepTimeoutSeconds: Double = 20
    public var maxAttempts = 8
    /// First retry after this, doubling each time up to `maxBackoffSeconds`, with jitter.
    public var backoffSeconds: Double = 1
    public var maxBackoffSeconds: Double = 300
    /// How often idle loops look for new work (new work also wakes them at once).
    public var pollSeconds: Double = 0.25
    /// After a claim that found less than a full batch, how long a loop lets more work gather
    /// before it claims again: at moderate load one batch of many instead of many batches of one
    /// or two, each with its claim, transaction and commit (Kafka's `linger.ms`). A full batch
    /// claims again at once.
    public var lingerSeconds: Double = 0.005
    public var channels: [ChannelSettings] = []
    public var payment: PaymentSettings?
    public var notifications = NotificationSettings()

    public init() {}

    public var subscriptions: [ChannelSubscription] {
        channels.map {
            ChannelSubscription(channel: $0.name, eventTypes: $0.events, ackThresholdSeconds: $0.ackThresholdSeconds)
        }
    }
}

/// The card payment provider's HTTP API (see docs/pipeline.md for what it must answer).
public struct PaymentSettings: Sendable, Hashable {
    public var url: String
    public var token: String?
    public var timeoutSeconds: Double

    public init(url: String, token: String? = nil, timeoutSeconds: Double = 10) {
        self.url = url
        self.token = token
        self.timeoutSeconds = timeoutSeconds
    }
}

/// Where customer notifications go; each medium is off until configured.
public struct NotificationSettings: Sendable, Hashable {
    /// `smtp://host:port`.
    public var smtpURL: String?
    public var smtpFrom = "orders@orderflow.invalid"
    /// An HTTP endpoint that takes `{"to", "message", "idempotencyKey"}`.
    public var smsURL: String?
    public var smsToken: String?

    public init() {}
}
