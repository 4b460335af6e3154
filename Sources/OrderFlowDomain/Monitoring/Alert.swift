import Foundation

/// An alert: one rule breached for one subject (a channel, or everything), from pending to resolved.
public struct Alert: Sendable, Hashable {
    public var id: Int64
    public var ruleID: Int64
    public var ruleName: String
    public var kind: AlertRuleKind
    public var fingerprint: String
    public var channel: String?
    public var severity: AlertSeverity
    public var state: AlertState
    public var summary: String
    public var value: Double?
    public var threshold: Double
    public var pendingSince: Timestamp
    public var firedAt: Timestamp?
    public var acknowledgedAt: Timestamp?
    public var acknowledgedBy: String?
    public var acknowledgementComment: String?
    public var acknowledgementExpiresAt: Timestamp?
    public var resolvedAt: Timestamp?
    public var resolvedBy: String?
    /// A silence matched it when it last changed: no one was notified.
    public var silenced: Bool
    public var lastEvaluatedAt: Timestamp

    /// The labels silences match and notifications carry.
    public var labels: [String: String] {
        Self.labels(rule: ruleName, kind: kind, severity: severity, channel: channel)
    }

    public static func labels(rule: String, kind: AlertRuleKind, severity: AlertSeverity, channel: String?) -> [String:
        String]
    {
        var labels = ["alertname": rule, "severity": severity.rawValue, "kind": kind.rawValue, "source": "orderflow"]
        if let channel { labels["channel"] = channel }
        return labels
    }

    public var lifecycle: AlertLifecycle.Active {
        AlertLifecycle.Active(
            state: state, pendingSince: pendingSince, acknowledgementExpiresAt: acknowledgementExpiresAt)
    }

    public init(
        id: Int64, ruleID: Int64, ruleName: String, kind: AlertRuleKind, fingerprint: String, channel: String? = nil,
        severity: AlertSeverity, state: AlertState, summary: String, value: Double? = nil, threshold: Double,
        pendingSince: Timestamp, firedAt: Timestamp? = nil, acknowledgedAt: Timestamp? = nil,
        acknowledgedBy: String? = nil, acknowledgementComment: String? = nil,
        acknowledgementExpiresAt: Timestamp? = nil, resolvedAt: Timestamp? = nil, resolvedBy: String? = nil,
        silenced: Bool, lastEvaluatedAt: Timestamp
    ) {
        self.id = id
        self.ruleID = ruleID
        self.ruleName = ruleName
        self.kind = kind
        self.fingerprint = fingerprint
        self.channel = channel
        self.severity = severity
        self.state = state
        self.summary = summary
        self.value = value
        self.threshold = threshold
        self.pendingSince = pendingSince
        self.firedAt = firedAt
        self.acknowledgedAt = acknowledgedAt
        self.acknowledgedBy = acknowledgedBy
        self.acknowledgementComment = acknowledgementComment
        self.acknowledgementExpiresAt = acknowledgementExpiresAt
        self.resolvedAt = resolvedAt
        self.resolvedBy = resolvedBy
        self.silenced = silenced
        self.lastEvaluatedAt = lastEvaluatedAt
    }
}

public struct AlertHistoryEntry: Sendable, Hashable {
    public var at: Timestamp
    public var from: AlertState?
    public var to: AlertState
    public var actor: String
    public var comment: String?
    public var value: Double?

    public init(
        at: Timestamp, from: AlertState? = nil, to: AlertState, actor: String, comment: String? = nil,
        value: Double? = nil
    ) {
        self.at = at
        self.from = from
        self.to = to
        self.actor = actor
        self.comment = comment
        self.value = value
    }
}

public struct Silence: Sendable, Hashable {
    public var id: Int64
    public var matchers: [SilenceMatcher]
    public var startsAt: Timestamp
    public var endsAt: Timestamp
    public var createdBy: String
    public var comment: String
    public var createdAt: Timestamp

    public func isActive(at now: Timestamp) -> Bool { startsAt <= now && now < endsAt }

    public init(
        id: Int64, matchers: [SilenceMatcher], startsAt: Timestamp, endsAt: Timestamp, createdBy: String,
        comment: String, createdAt: Timestamp
    ) {
        self.id = id
        self.matchers = matchers
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.createdBy = createdBy
        self.comment = comment
        self.createdAt = createdAt
    }
}

/// A notification of an alert to one notifier, with its delivery receipt.
public struct AlertNotification: Sendable, Hashable {
    public enum Event: String, Sendable { case firing, resolved }
    public enum State: String, Sendable { case pending, sent, failed }

    public var id: Int64
    public var alertID: Int64
    public var notifier: String
    public var event: Event
    public var state: State
    public var attempts: Int
    public var lastError: String?
    public var sentAt: Timestamp?
    /// Set when this notification stands in for one that failed on another notifier.
    public var fallbackFor: String?

    public init(
        id: Int64, alertID: Int64, notifier: String, event: Event, state: State, attempts: Int,
        lastError: String? = nil, sentAt: Timestamp? = nil, fallbackFor: String? = nil
    ) {
        self.id = id
        self.alertID = alertID
        self.notifier = notifier
        self.event = event
        self.state = state
        self.attempts = attempts
        self.lastError = lastError
        self.sentAt = sentAt
        self.fallbackFor = fallbackFor
    }
}

public enum AlertError: Error, Equatable {
    case ruleNotFound(Int64)
    case duplicateRuleName(String)
    case alertNotFound(Int64)
    case silenceNotFound(Int64)
    /// Resolved alerts cannot be acknowledged or resolved again.
    case alertNotActive(Int64)
}

/// Notifications to queue for an alert: to whom, about what, and whether earlier ones for the
/// same event are sent again.
public struct AlertNotificationPlan: Sendable, Hashable {
    public var event: AlertNotification.Event
    public var notifiers: [String]
    /// Send again what was sent before (a re-fire after an acknowledgement expired).
    public var again: Bool

    public init(event: AlertNotification.Event, notifiers: [String], again: Bool = false) {
        self.event = event
        self.notifiers = notifiers
        self.again = again
    }
}

/// Who hears of an alert, and when.
public enum AlertNotificationPolicy {
    /// For an alert that moved from `from` (nil: just opened) to `to`: a firing alert tells
    /// `recipients` unless it is silenced (everyone again when it fires after an acknowledgement
    /// ran out); a resolved one tells those that were told it fired (`toldOfFiring`); other moves,
    /// and silenced alerts, tell no one.
    public static func plans(
        from: AlertState?, to: AlertState, silenced: Bool, recipients: [String], toldOfFiring: [String]
    ) -> [AlertNotificationPlan] {
        guard !silenced else { return [] }
        switch to {
        case .firing:
            return [AlertNotificationPlan(event: .firing, notifiers: recipients, again: from == .acknowledged)]
        case .resolved:
            return toldOfFiring.isEmpty ? [] : [AlertNotificationPlan(event: .resolved, notifiers: toldOfFiring)]
        case .pending, .acknowledged: return []
        }
    }

    /// A silence began or ended for an active alert: one still firing whose silence ended tells
    /// `recipients` now.
    public static func silenceChanged(state: AlertState, silenced: Bool, recipients: [String])
        -> [AlertNotificationPlan]
    {
        !silenced && state == .firing ? [AlertNotificationPlan(event: .firing, notifiers: recipients)] : []
    }
}
