import OrderFlowDomain
import OrderFlowPersistence

/// Alert rules, alerts and silences as people handle them. Alerts are about channels and the
/// whole flow, not about one store's orders, so reading them needs only the route's permission;
/// every change is audited with its caller.
public struct AlertService: Sendable {
    let alerts: AlertRepository
    /// Configured channels: a rule or silence may name only these.
    let channels: [String]
    let clock: any WallClock

    init(database: Database, channels: [String], clock: any WallClock) {
        alerts = AlertRepository(database: database)
        self.channels = channels
        self.clock = clock
    }

    // MARK: Rules

    public func rules() async throws -> [AlertRule] {
        try await alerts.rules()
    }

    public func create(_ rule: AlertRule, by caller: Caller) async throws -> AlertRule {
        try check(rule)
        let now = clock.now()
        return try await alerts.create(
            rule, now: now,
            audit: caller.audit("alertrule.create", targetType: "alert_rule", at: now, details: ["name": rule.name]))
    }

    public func update(_ rule: AlertRule, by caller: Caller) async throws -> AlertRule {
        try check(rule)
        let now = clock.now()
        return try await alerts.update(
            rule, now: now,
            audit: caller.audit(
                "alertrule.update", targetType: "alert_rule", targetID: rule.id.map(String.init), at: now,
                details: ["name": rule.name]))
    }

    /// Deletes a rule and resolves its active alerts.
    public func deleteRule(_ id: Int64, by caller: Caller) async throws {
        let now = clock.now()
        try await alerts.delete(
            id, by: caller.name, now: now,
            audit: caller.audit("alertrule.delete", targetType: "alert_rule", targetID: String(id), at: now))
    }

    private func check(_ rule: AlertRule) throws {
        var problems = rule.problems()
        if let channel = rule.channel, !channels.contains(channel) {
            problems.append(
                FieldError(
                    field: "channel", rule: "unknown_channel", message: "'\(channel)' is not a configured channel"))
        }
        if !problems.isEmpty { throw DomainError.validationFailed(problems) }
    }

    // MARK: Alerts

    /// Newest first; `states` empty means every state.
    public func alerts(states: [AlertState], channel: String?, beforeID: Int64?, limit: Int) async throws -> (
        alerts: [Alert], nextBeforeID: Int64?
    ) {
        try await alerts.alerts(states: states, channel: channel, beforeID: beforeID, limit: limit)
    }

    /// An alert with its history and its notifications.
    public func alert(_ id: Int64) async throws -> (
        alert: Alert, history: [AlertHistoryEntry], notifications: [AlertNotification]
    ) {
        guard let alert = try await alerts.alert(id) else { throw AlertError.alertNotFound(id) }
        return (alert, try await alerts.history(of: id), try await alerts.notifications(of: id))
    }

    /// Someone takes an alert: a comment, and optionally until when (then it fires again if the
    /// condition still holds).
    public func acknowledge(_ id: Int64, comment: String, expiresAt: Timestamp?, by caller: Caller) async throws
        -> Alert
    {
        let now = clock.now()
        var errors: [FieldError] = []
        if !Formats.isText(comment, maxLength: 500) {
            errors.append(FieldError(field: "comment", rule: "format", message: "must be 1–500 characters"))
        }
        if let expiresAt, expiresAt <= now {
            errors.append(FieldError(field: "expiresAt", rule: "range", message: "must be in the future"))
        }
        if !errors.isEmpty { throw DomainError.validationFailed(errors) }
        return try await alerts.acknowledge(
            id, by: caller.name, comment: comment, expiresAt: expiresAt, now: now,
            audit: caller.audit(
                "alert.acknowledge", targetType: "alert", targetID: String(id), at: now, details: ["comment": comment]))
    }

    /// Someone resolves an alert; if its condition still holds, the next evaluation opens a new one.
    public func resolve(_ id: Int64, comment: String?, by caller: Caller) async throws -> Alert {
        let comment = comment.flatMap { $0.isEmpty ? nil : $0 }
        if let comment, !Formats.isText(comment, maxLength: 500) {
            throw DomainError.validationFailed([
                FieldError(field: "comment", rule: "format", message: "must be at most 500 characters")
            ])
        }
        let now = clock.now()
        return try await alerts.resolve(
            id, by: caller.name, comment: comment, now: now,
            audit: caller.audit(
                "alert.resolve", targetType: "alert", targetID: String(id), at: now,
                details: comment.map { ["comment": $0] } ?? [:]))
    }

    // MARK: Silences

    /// Silences newest first, each with whether it is active now.
    public func silences(includeExpired: Bool) async throws -> [(silence: Silence, active: Bool)] {
        let now = clock.now()
        return try await alerts.silences(includeExpired: includeExpired, now: now).map { ($0, $0.isActive(at: now)) }
    }

    /// Silences what `matchers` match (alertname, channel, severity, kind) from `startsAt` (now
    /// by default) until `endsAt`.
    public func silence(
        _ matchers: [SilenceMatcher], from startsAt: Timestamp?, until endsAt: Timestamp, comment: String,
        by caller: Caller
    ) async throws -> Silence {
        let now = clock.now()
        let starts = startsAt ?? now
        var errors: [FieldError] = []
        let names: Set<String> = ["alertname", "channel", "severity", "kind"]
        if matchers.isEmpty || matchers.count > 10 {
            errors.append(FieldError(field: "matchers", rule: "range", message: "give 1–10 matchers"))
        }
        for (index, matcher) in matchers.enumerated() {
            if !names.contains(matcher.name) {
                errors.append(
                    FieldError(
                        field: "matchers[\(index)].name", rule: "enum",
                        message: "must be alertname, channel, severity or kind"))
            }
            if matcher.value.isEmpty || !Formats.isAtMost(matcher.value, 100) {
                errors.append(
                    FieldError(field: "matchers[\(index)].value", rule: "format", message: "must be 1–100 characters"))
            }
        }
        if endsAt <= starts || endsAt <= now {
            errors.append(
                FieldError(field: "endsAt", rule: "range", message: "must be after startsAt and in the future"))
        }
        if !Formats.isText(comment, maxLength: 500) {
            errors.append(FieldError(field: "comment", rule: "format", message: "must be 1–500 characters"))
        }
        if !errors.isEmpty { throw DomainError.validationFailed(errors) }
        let described = matchers.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
        return try await alerts.createSilence(
            matchers: matchers, startsAt: starts, endsAt: endsAt, by: caller.name, comment: comment, now: now,
            audit: caller.audit(
                "silence.create", targetType: "silence", at: now, details: ["matchers": described, "comment": comment]))
    }

    /// Silences what an alert matches (its rule, and its channel when it has one) for `hours`.
    public func silence(alert id: Int64, forHours hours: Double, by caller: Caller) async throws -> (
        alert: Alert, silence: Silence
    ) {
        guard let alert = try await alerts.alert(id) else { throw AlertError.alertNotFound(id) }
        var matchers = [SilenceMatcher(name: "alertname", value: alert.ruleName)]
        if let channel = alert.channel { matchers.append(SilenceMatcher(name: "channel", value: channel)) }
        let silence = try await silence(
            matchers, from: nil, until: clock.now().adding(seconds: hours * 3_600),
            comment: "silenced from the dashboard for \(Int(hours)) h",
            by: caller)
        return (alert, silence)
    }

    /// Ends a silence now (it stays listed as expired).
    public func expireSilence(_ id: Int64, by caller: Caller) async throws {
        let now = clock.now()
        try await alerts.expireSilence(
            id, now: now, audit: caller.audit("silence.expire", targetType: "silence", targetID: String(id), at: now))
    }
}
