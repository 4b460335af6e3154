/// What an alert rule watches. Per-channel kinds without a channel apply to every channel,
/// each on its own (one alert per channel).
public enum AlertRuleKind: String, Sendable, CaseIterable, Codable {
    /// Failed transmissions ÷ decided transmissions created in the window, above the threshold.
    case failureRatio = "failure_ratio"
    /// Orders created in the window at or below the threshold (0: none at all).
    case noNewOrders = "no_new_orders"
    /// Transmissions delayed right now (past their deadline, unacknowledged), above the threshold.
    case delayedCount = "delayed_count"
    /// Delayed or late-acknowledged ÷ all transmissions created in the window, above the threshold.
    case delayedRatio = "delayed_ratio"
    /// 95th percentile of acknowledgement latency (seconds) in the window, above the threshold.
    case latencyP95 = "latency_p95"
    /// The channel's latest `minVolume` delivery attempts all failed, the newest within the window.
    case channelDown = "channel_down"
    /// Dead letters opened in the window, above the threshold.
    case deadLetterGrowth = "dead_letter_growth"

    public var isPerChannel: Bool {
        switch self {
        case .failureRatio, .delayedCount, .delayedRatio, .latencyP95, .channelDown: true
        case .noNewOrders, .deadLetterGrowth: false
        }
    }

    /// Whether a measured value breaches the threshold.
    public func breaches(_ value: Double, threshold: Double) -> Bool {
        switch self {
        case .noNewOrders: value <= threshold
        case .channelDown: value >= 1
        default: value > threshold
        }
    }

    public var unit: String {
        switch self {
        case .failureRatio, .delayedRatio: "ratio"
        case .latencyP95: "seconds"
        case .channelDown: "down"
        default: "count"
        }
    }
}

public enum AlertSeverity: String, Sendable, CaseIterable, Codable, Comparable {
    case info, warning, critical

    public static func < (lhs: AlertSeverity, rhs: AlertSeverity) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// A rule as configured: what to measure, over which window, how bad is bad, for how long.
public struct AlertRule: Sendable, Hashable, Codable {
    public var id: Int64?
    /// Also the `alertname` label: letters, digits and `_`, as Prometheus names alerts.
    public var name: String
    public var kind: AlertRuleKind
    /// For per-channel kinds: one channel, or nil for each channel.
    public var channel: String?
    public var threshold: Double
    public var windowSeconds: Int
    /// How long the condition must hold before the alert fires (0: at once).
    public var forSeconds: Int
    public var severity: AlertSeverity
    /// Fewer events than this in the window is no data, not a verdict (ratios, latency, down).
    public var minVolume: Int
    public var enabled: Bool
    public var description: String?

    public init(
        id: Int64? = nil, name: String, kind: AlertRuleKind, channel: String? = nil, threshold: Double,
        windowSeconds: Int = 300,
        forSeconds: Int = 60, severity: AlertSeverity = .warning, minVolume: Int = 1, enabled: Bool = true,
        description: String? = nil
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.channel = channel
        self.threshold = threshold
        self.windowSeconds = windowSeconds
        self.forSeconds = forSeconds
        self.severity = severity
        self.minVolume = minVolume
        self.enabled = enabled
        self.description = description
    }

    /// Every problem with the rule, field by field.
    public func problems() -> [FieldError] {
        var errors: [FieldError] = []
        if name.isEmpty || name.count > 64
            || !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) || name.first!.isNumber
        {
            errors.append(
                FieldError(
                    field: "name", rule: "format",
                    message: "must be 1–64 letters, digits or '_', not starting with a digit"))
        }
        if let channel, !kind.isPerChannel {
            errors.append(
                FieldError(
                    field: "channel", rule: "not_applicable",
                    message: "\(kind.rawValue) rules are not per channel; leave out '\(channel)'"))
        }
        if !threshold.isFinite || threshold < 0 {
            errors.append(FieldError(field: "threshold", rule: "range", message: "must be a finite number ≥ 0"))
        } else if (kind == .failureRatio || kind == .delayedRatio) && threshold >= 1 {
            errors.append(
                FieldError(field: "threshold", rule: "range", message: "a ratio threshold must be below 1 (0.05 is 5%)")
            )
        }
        if windowSeconds < 10 || windowSeconds > 7 * 86_400 {
            errors.append(FieldError(field: "windowSeconds", rule: "range", message: "must be 10 s to 7 days"))
        }
        if forSeconds < 0 || forSeconds > 86_400 {
            errors.append(FieldError(field: "forSeconds", rule: "range", message: "must be 0 s to 1 day"))
        }
        if minVolume < 0 || minVolume > 1_000_000 {
            errors.append(FieldError(field: "minVolume", rule: "range", message: "must be 0 to 1,000,000"))
        }
        if let description, !Formats.isAtMost(description, 500) {
            errors.append(FieldError(field: "description", rule: "format", message: "must be at most 500 characters"))
        }
        return errors
    }
}

/// One evaluation of a rule for one subject (a channel, or everything).
public enum RuleMeasurement: Sendable, Hashable {
    /// A value, and whether it breaches the rule.
    case value(Double, breached: Bool)
    /// Not enough to judge (no traffic, fewer than `minVolume` events): never a recovery.
    case noData
}

public enum AlertState: String, Sendable, CaseIterable, Codable {
    /// The condition holds, but not yet for the rule's `for` duration.
    case pending
    case firing
    /// Someone took it, with a comment and maybe an expiry; it is still active.
    case acknowledged
    /// The condition cleared (or a person resolved it). A new breach is a new alert.
    case resolved

    public var isActive: Bool { self != .resolved }
}

/// The alert lifecycle as a pure function: given an alert's state and a measurement, what
/// happens next.
public enum AlertLifecycle {
    /// The parts of an active alert the lifecycle looks at.
    public struct Active: Sendable, Hashable {
        public var state: AlertState
        public var pendingSince: Timestamp
        public var acknowledgementExpiresAt: Timestamp?

        public init(state: AlertState, pendingSince: Timestamp, acknowledgementExpiresAt: Timestamp? = nil) {
            self.state = state
            self.pendingSince = pendingSince
            self.acknowledgementExpiresAt = acknowledgementExpiresAt
        }
    }

    public enum Transition: Sendable, Hashable {
        /// No alert, or nothing changes.
        case none
        /// A new alert starts pending (or firing at once when `for` is 0).
        case open(AlertState)
        case fire
        /// An acknowledgement expired while the condition still holds: it fires again.
        case refire
        case resolve
    }

    public static func next(_ alert: Active?, measurement: RuleMeasurement, forSeconds: Int, now: Timestamp)
        -> Transition
    {
        guard case .value(_, let breached) = measurement else {
            // Missing data never counts as recovery, nor as a breach.
            return .none
        }
        guard let alert else {
            guard breached else { return .none }
            return .open(forSeconds == 0 ? .firing : .pending)
        }
        guard breached else { return .resolve }
        switch alert.state {
        case .pending:
            return now.microseconds - alert.pendingSince.microseconds >= Int64(forSeconds) * 1_000_000 ? .fire : .none
        case .acknowledged:
            if let expiry = alert.acknowledgementExpiresAt, now >= expiry { return .refire }
            return .none
        case .firing, .resolved:
            return .none
        }
    }

    /// The identity of an alert: the rule and the subject it is about.
    public static func fingerprint(rule: String, channel: String?) -> String {
        channel.map { "\(rule){channel=\($0)}" } ?? rule
    }
}

/// A silence: alerts whose labels match every matcher, between `startsAt` and `endsAt`, notify
/// no one (they are still tracked and listed).
public struct SilenceMatcher: Sendable, Hashable, Codable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    public static func matches(_ matchers: [SilenceMatcher], labels: [String: String]) -> Bool {
        !matchers.isEmpty && matchers.allSatisfy { labels[$0.name] == $0.value }
    }
}

/// Percentiles by the nearest-rank method: p(q) is the smallest value with at least q of all
/// values at or below it.
public enum Percentile {
    /// The 1-based rank of p(q) among `count` sorted values; nil when there are none.
    public static func rank(_ q: Double, of count: Int) -> Int? {
        guard count > 0 else { return nil }
        return min(max(Int((q * Double(count)).rounded(.up)), 1), count)
    }
}
