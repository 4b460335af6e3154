import OrderFlowDomain
import Synchronization

/// Per channel: closed while it works; open after `threshold` consecutive failures, pausing
/// delivery (so no retries are spent) for `cooldown`; then half-open, letting one probe through,
/// whose outcome closes or reopens it.
public final class CircuitBreaker: Sendable {
    public typealias State = CircuitState

    public let threshold: Int
    public let cooldownSeconds: Double
    private struct Status {
        var state: State = .closed
        var failures = 0
        var openedAt: Timestamp?
        var probing = false
        var lastSuccess: Timestamp?
        var lastFailure: Timestamp?
    }
    private let status = Mutex(Status())

    public init(threshold: Int, cooldownSeconds: Double) {
        self.threshold = max(1, threshold)
        self.cooldownSeconds = cooldownSeconds
    }

    public var state: State { status.withLock { $0.state } }
    public var lastSuccess: Timestamp? { status.withLock { $0.lastSuccess } }
    public var lastFailure: Timestamp? { status.withLock { $0.lastFailure } }

    /// How many transmissions may go now: 0 while open, 1 probe when half-open, `normal` when closed.
    public func permits(_ normal: Int, now: Timestamp) -> Int {
        status.withLock { status in
            switch status.state {
            case .closed:
                return normal
            case .open:
                guard let opened = status.openedAt, now >= opened.adding(seconds: cooldownSeconds) else { return 0 }
                status.state = .halfOpen
                status.probing = true
                return 1
            case .halfOpen:
                if status.probing { return 0 }
                status.probing = true
                return 1
            }
        }
    }

    /// When the open circuit will let a probe through.
    public func reopensAt() -> Timestamp? {
        status.withLock { $0.state == .open ? $0.openedAt?.adding(seconds: cooldownSeconds) : nil }
    }

    public func recordSuccess(at now: Timestamp) {
        status.withLock { status in
            status.state = .closed
            status.failures = 0
            status.probing = false
            status.openedAt = nil
            status.lastSuccess = now
        }
    }

    /// A failure that says the channel is down (network, timeout, 5xx); not a refusal of one message.
    public func recordFailure(at now: Timestamp) {
        status.withLock { status in
            status.lastFailure = now
            status.failures += 1
            if status.state == .halfOpen || status.failures >= threshold {
                status.state = .open
                status.openedAt = now
                status.probing = false
            }
        }
    }

    /// The probe ended without telling anything about the channel (the lease was lost, say).
    public func releaseProbe() {
        status.withLock { status in
            if status.state == .halfOpen { status.probing = false }
        }
    }
}

/// A downstream channel as the running instance knows it: its settings, its circuit, and the
/// wake-up its delivery loop sleeps on. The relay delivers through it; the monitor reads its
/// circuit for channel health and `o2o_channel_up`.
public struct DownstreamChannel: Sendable {
    public let settings: ChannelSettings
    public let breaker: CircuitBreaker
    /// The channel's delivery loop sleeps on this; fan-out wakes it.
    public let wakeup = Wakeup()

    public init(settings: ChannelSettings) {
        self.settings = settings
        breaker = CircuitBreaker(threshold: settings.circuitFailures, cooldownSeconds: settings.circuitCooldownSeconds)
    }

    public var name: String { settings.name }
}
