import Foundation
import OrderFlowDomain
import OrderFlowRuntime
import SQLKit

/// Alert rules, alerts and their history, silences, notification receipts, and leases.
public struct AlertRepository: Sendable {
    public let database: Database

    public init(database: Database) { self.database = database }

    // MARK: Rules

    public func rules() async throws -> [AlertRule] {
        try await database.read { db in try await Self.rules(where: "1 = 1", in: db) }
    }

    /// Inserts `rules` that do not exist by name yet (configuration seeds them at start-up; a rule
    /// changed through the API is left alone).
    @discardableResult
    public func seed(_ rules: [AlertRule], now: Timestamp) async throws -> Int {
        try await database.transaction { db in
            var added = 0
            for rule in rules
            where try await db.raw("SELECT id FROM alert_rules WHERE name = \(bind: rule.name)").first() == nil {
                _ = try await Self.insert(rule, origin: "configuration", now: now, in: db)
                added += 1
            }
            return added
        }
    }

    public func create(_ rule: AlertRule, now: Timestamp, audit: AuditEntry) async throws -> AlertRule {
        try await database.transaction { db in
            if try await db.raw("SELECT id FROM alert_rules WHERE name = \(bind: rule.name)").first() != nil {
                throw AlertError.duplicateRuleName(rule.name)
            }
            var created = rule
            created.id = try await Self.insert(rule, origin: "api", now: now, in: db)
            var entry = audit
            entry.targetID = String(created.id!)
            try await AuditRepository.append(entry, into: db)
            return created
        }
    }

    public func update(_ rule: AlertRule, now: Timestamp, audit: AuditEntry) async throws -> AlertRule {
        guard let id = rule.id else { throw AlertError.ruleNotFound(0) }
        return try await database.transaction { db in
            if try await db.raw("SELECT id FROM alert_rules WHERE name = \(bind: rule.name) AND id <> \(bind: id)")
                .first() != nil
            {
                throw AlertError.duplicateRuleName(rule.name)
            }
            guard
                try await db.raw(
                    """
                    UPDATE alert_rules SET name = \(bind: rule.name), kind = \(bind: rule.kind.rawValue),
                        channel = \(bind: rule.channel),
                        threshold = \(bind: rule.threshold), window_seconds = \(bind: rule.windowSeconds),
                            for_seconds = \(bind: rule.forSeconds),
                        severity = \(bind: rule.severity.rawValue), min_volume = \(bind: rule.minVolume),
                            enabled = \(bind: rule.enabled),
                        description = \(bind: rule.description), origin = 'api', updated_at = \(bind: now.microseconds)
                    WHERE id = \(bind: id) RETURNING id
                    """
                ).first() != nil
            else { throw AlertError.ruleNotFound(id) }
            try await AuditRepository.append(audit, into: db)
            return rule
        }
    }

    /// Deletes a rule and resolves its active alerts.
    public func delete(_ id: Int64, by actor: String, now: Timestamp, audit: AuditEntry) async throws {
        try await database.transaction { db in
            guard try await db.raw("DELETE FROM alert_rules WHERE id = \(bind: id) RETURNING id").first() != nil else {
                throw AlertError.ruleNotFound(id)
            }
            for alert in try await Self.alerts(
                where: "rule_id = \(bind: id) AND state <> 'resolved'", limit: 1_000, in: db)
            {
                try await Self.transition(
                    alert, to: .resolved, actor: actor, comment: "rule deleted", value: alert.value, now: now, in: db)
            }
            try await AuditRepository.append(audit, into: db)
        }
    }

    static func insert(_ rule: AlertRule, origin: String, now: Timestamp, in db: any SQLDatabase) async throws -> Int64
    {
        try await db.raw(
            """
            INSERT INTO alert_rules (name, kind, channel, threshold, window_seconds, for_seconds, severity,
                min_volume, enabled, description, origin, created_at, updated_at)
            VALUES (\(bind: rule.name), \(bind: rule.kind.rawValue), \(bind: rule.channel), \(bind: rule.threshold),
                \(bind: rule.windowSeconds),
                    \(bind: rule.forSeconds), \(bind: rule.severity.rawValue), \(bind: rule.minVolume),
                        \(bind: rule.enabled), \(bind: rule.description),
                    \(bind: origin), \(bind: now.microseconds), \(bind: now.microseconds))
            RETURNING id
            """
        ).first()!.decode(column: "id", as: Int64.self)
    }

    static func rules(where condition: SQLQueryString, in db: any SQLDatabase) async throws -> [AlertRule] {
        try await db.raw("SELECT * FROM alert_rules WHERE \(condition) ORDER BY name").all().map {
            try $0.decode(AlertRuleRow.self).rule()
        }
    }

    // MARK: Alerts

    public func active() async throws -> [Alert] {
        try await database.read { db in try await Self.alerts(where: "state <> 'resolved'", limit: 10_000, in: db) }
    }

    public func alert(_ id: Int64) async throws -> Alert? {
        try await database.read { db in try await Self.alerts(where: "id = \(bind: id)", limit: 1, in: db).first }
    }

    /// Newest first; `states` empty means every state.
    public func alerts(states: [AlertState], channel: String?, beforeID: Int64?, limit: Int) async throws -> (
        alerts: [Alert], nextBeforeID: Int64?
    ) {
        try await database.read { db in
            var condition: SQLQueryString = "1 = 1"
            if !states.isEmpty { condition = condition + " AND state IN (\(binds: states.map(\.rawValue)))" }
            if let channel { condition = condition + " AND channel = \(bind: channel)" }
            if let beforeID { condition = condition + " AND id < \(bind: beforeID)" }
            let alerts = try await Self.alerts(where: condition, limit: limit + 1, in: db)
            return (Array(alerts.prefix(limit)), alerts.count > limit ? alerts[limit - 1].id : nil)
        }
    }

    public func history(of id: Int64) async throws -> [AlertHistoryEntry] {
        try await database.read { db in
            try await db.raw("SELECT * FROM alert_history WHERE alert_id = \(bind: id) ORDER BY id").all().map {
                try $0.decode(AlertHistoryRow.self).entry()
            }
        }
    }

    /// Opens an alert for a breached rule, queueing the notifications `notify` plans for it; nil
    /// when an active one with that fingerprint exists.
    public func open(
        rule: AlertRule, channel: String?, state: AlertState, value: Double, summary: String, silenced: Bool,
        now: Timestamp,
        notify: [AlertNotificationPlan]
    ) async throws -> Alert? {
        try await database.transaction { db in
            let fingerprint = AlertLifecycle.fingerprint(rule: rule.name, channel: channel)
            guard
                let row = try await db.raw(
                    """
                    INSERT INTO alerts (rule_id, rule_name, kind, fingerprint, channel, severity, state, summary,
                        value, threshold, pending_since, fired_at,
                        silenced, last_evaluated_at)
                    VALUES (\(bind: rule.id ?? 0), \(bind: rule.name), \(bind: rule.kind.rawValue),
                        \(bind: fingerprint), \(bind: channel), \(bind: rule.severity.rawValue),
                            \(bind: state.rawValue), \(bind: summary), \(bind: value), \(bind: rule.threshold),
                                \(bind: now.microseconds),
                            \(bind: state == .firing ? now.microseconds : nil), \(bind: silenced),
                                \(bind: now.microseconds))
                    ON CONFLICT DO NOTHING
                    RETURNING id
                    """
                ).first()
            else { return nil }
            let id = try row.decode(column: "id", as: Int64.self)
            try await Self.history(
                id, from: nil, to: state, actor: "evaluator", comment: summary, value: value, now: now, in: db)
            for plan in notify { try await Self.enqueue(id, plan, now: now, in: db) }
            return try await Self.alerts(where: "id = \(bind: id)", limit: 1, in: db).first
        }
    }

    /// Moves an active alert to `state` (pending → firing, acknowledged → firing again, → resolved)
    /// and queues the notifications `notify` plans, given who was told it fired; false if someone
    /// else moved it first.
    @discardableResult
    public func advance(
        _ alert: Alert, to state: AlertState, value: Double?, summary: String?, silenced: Bool, actor: String,
        comment: String? = nil,
        now: Timestamp, notify: @escaping @Sendable (_ toldOfFiring: [String]) -> [AlertNotificationPlan]
    ) async throws -> Bool {
        try await database.transaction { db in
            if let summary {
                try await db.raw(
                    "UPDATE alerts SET summary = \(bind: summary), silenced = \(bind: silenced) WHERE id = \(bind: alert.id)"
                ).run()
            }
            guard
                try await Self.transition(
                    alert, to: state, actor: actor, comment: comment, value: value, now: now, in: db)
            else { return false }
            let told = try await db.raw(
                """
                SELECT notifier FROM alert_notifications WHERE alert_id = \(bind: alert.id) AND event = 'firing' AND
                    state = 'sent'
                """
            ).all().map { try $0.decode(column: "notifier", as: String.self) }
            for plan in notify(told) { try await Self.enqueue(alert.id, plan, now: now, in: db) }
            return true
        }
    }

    /// A silence began or ended for an active alert; `notify` plans who hears of it now.
    public func setSilenced(_ alert: Alert, _ silenced: Bool, notify: [AlertNotificationPlan], now: Timestamp)
        async throws
    {
        try await database.transaction { db in
            try await db.raw("UPDATE alerts SET silenced = \(bind: silenced) WHERE id = \(bind: alert.id)").run()
            for plan in notify { try await Self.enqueue(alert.id, plan, now: now, in: db) }
        }
    }

    /// Records the latest value of an active alert without changing its state.
    public func touch(_ alert: Alert, value: Double, summary: String, now: Timestamp) async throws {
        try await database.transaction { db in
            try await db.raw(
                """
                UPDATE alerts SET value = \(bind: value), summary = \(bind: summary),
                    last_evaluated_at = \(bind: now.microseconds)
                WHERE id = \(bind: alert.id) AND state <> 'resolved'
                """
            ).run()
        }
    }

    /// A person takes an alert: who, a comment, and optionally until when (then it fires again
    /// if the condition still holds). Audited.
    public func acknowledge(
        _ id: Int64, by actor: String, comment: String, expiresAt: Timestamp?, now: Timestamp, audit: AuditEntry
    ) async throws -> Alert {
        try await database.transaction { db in
            guard let alert = try await Self.alerts(where: "id = \(bind: id)", limit: 1, in: db).first else {
                throw AlertError.alertNotFound(id)
            }
            guard alert.state.isActive else { throw AlertError.alertNotActive(id) }
            try await db.raw(
                """
                UPDATE alerts SET state = 'acknowledged', acknowledged_at = \(bind: now.microseconds),
                    acknowledged_by = \(bind: actor),
                    ack_comment = \(bind: comment), ack_expires_at = \(bind: expiresAt?.microseconds)
                WHERE id = \(bind: id)
                """
            ).run()
            try await Self.history(
                id, from: alert.state, to: .acknowledged, actor: actor, comment: comment, value: alert.value, now: now,
                in: db)
            try await AuditRepository.append(audit, into: db)
            return try await Self.alerts(where: "id = \(bind: id)", limit: 1, in: db).first!
        }
    }

    /// A person resolves an alert. If the condition still holds, the next evaluation opens a new one.
    public func resolve(_ id: Int64, by actor: String, comment: String?, now: Timestamp, audit: AuditEntry) async throws
        -> Alert
    {
        try await database.transaction { db in
            guard let alert = try await Self.alerts(where: "id = \(bind: id)", limit: 1, in: db).first else {
                throw AlertError.alertNotFound(id)
            }
            guard alert.state.isActive else { throw AlertError.alertNotActive(id) }
            try await Self.transition(
                alert, to: .resolved, actor: actor, comment: comment, value: alert.value, now: now, in: db)
            try await AuditRepository.append(audit, into: db)
            return try await Self.alerts(where: "id = \(bind: id)", limit: 1, in: db).first!
        }
    }

    @discardableResult
    static func transition(
        _ alert: Alert, to state: AlertState, actor: String, comment: String?, value: Double?, now: Timestamp,
        in db: any SQLDatabase
    ) async throws -> Bool {
        let set: SQLQueryString
        switch state {
        case .firing:
            set = "state = 'firing', fired_at = COALESCE(fired_at, \(bind: now.microseconds)), ack_expires_at = NULL"
        case .resolved:
            set = "state = 'resolved', resolved_at = \(bind: now.microseconds), resolved_by = \(bind: actor)"
        case .pending, .acknowledged: set = "state = \(bind: state.rawValue)"
        }
        guard
            try await db.raw(
                """
                UPDATE alerts SET \(set), value = COALESCE(\(bind: value), value),
                    last_evaluated_at = \(bind: now.microseconds)
                WHERE id = \(bind: alert.id) AND state = \(bind: alert.state.rawValue) RETURNING id
                """
            ).first() != nil
        else { return false }
        try await history(
            alert.id, from: alert.state, to: state, actor: actor, comment: comment, value: value, now: now, in: db)
        return true
    }

    static func history(
        _ id: Int64, from: AlertState?, to: AlertState, actor: String, comment: String?, value: Double?, now: Timestamp,
        in db: any SQLDatabase
    ) async throws {
        try await db.raw(
            """
            INSERT INTO alert_history (alert_id, at, from_state, to_state, actor, comment, value)
            VALUES (\(bind: id), \(bind: now.microseconds), \(bind: from?.rawValue), \(bind: to.rawValue),
                \(bind: actor), \(bind: comment), \(bind: value))
            """
        ).run()
        LiveFeed.record(
            FeedEvent(
                topic: .alert, type: "alert.\(to.rawValue)",
                fields: [
                    ("alertId", .int(id)), ("from", from.map { .string($0.rawValue) } ?? .null),
                    ("to", .string(to.rawValue)), ("actor", .string(actor)),
                ]))
    }

    static func alerts(where condition: SQLQueryString, limit: Int, in db: any SQLDatabase) async throws -> [Alert] {
        try await db.raw("SELECT * FROM alerts WHERE \(condition) ORDER BY id DESC LIMIT \(bind: limit)").all().map {
            try $0.decode(AlertRow.self).alert()
        }
    }

    // MARK: Silences

    public func silences(includeExpired: Bool, now: Timestamp) async throws -> [Silence] {
        try await database.read { db in
            let condition: SQLQueryString = includeExpired ? "1 = 1" : "ends_at > \(bind: now.microseconds)"
            return try await db.raw("SELECT * FROM silences WHERE \(condition) ORDER BY id DESC LIMIT 500").all().map {
                try $0.decode(SilenceRow.self).silence()
            }
        }
    }

    public func createSilence(
        matchers: [SilenceMatcher], startsAt: Timestamp, endsAt: Timestamp, by actor: String, comment: String,
        now: Timestamp, audit: AuditEntry
    ) async throws -> Silence {
        let json = try JSONCoding.encode(matchers)
        return try await database.transaction { db in
            let id = try await db.raw(
                """
                INSERT INTO silences (matchers, starts_at, ends_at, created_by, comment, created_at)
                VALUES (\(bind: json), \(bind: startsAt.microseconds), \(bind: endsAt.microseconds), \(bind: actor),
                    \(bind: comment), \(bind: now.microseconds))
                RETURNING id
                """
            ).first()!.decode(column: "id", as: Int64.self)
            var entry = audit
            entry.targetID = String(id)
            try await AuditRepository.append(entry, into: db)
            return Silence(
                id: id, matchers: matchers, startsAt: startsAt, endsAt: endsAt, createdBy: actor, comment: comment,
                createdAt: now)
        }
    }

    /// Ends a silence now (it stays listed as expired).
    public func expireSilence(_ id: Int64, now: Timestamp, audit: AuditEntry) async throws {
        try await database.transaction { db in
            guard
                try await db.raw(
                    """
                    UPDATE silences SET ends_at = CASE WHEN ends_at > \(bind: now.microseconds) THEN
                        \(bind: now.microseconds) ELSE ends_at END,
                        starts_at = CASE WHEN starts_at >= \(bind: now.microseconds) THEN
                            \(bind: now.microseconds - 1) ELSE starts_at END
                    WHERE id = \(bind: id) RETURNING id
                    """
                ).first() != nil
            else { throw AlertError.silenceNotFound(id) }
            try await AuditRepository.append(audit, into: db)
        }
    }

    // MARK: Notifications

    static func enqueue(_ alertID: Int64, _ plan: AlertNotificationPlan, now: Timestamp, in db: any SQLDatabase)
        async throws
    {
        for notifier in plan.notifiers {
            if plan.again {
                try await db.raw(
                    """
                    UPDATE alert_notifications SET state = 'pending', attempts = 0,
                        next_attempt_at = \(bind: now.microseconds), last_error = NULL
                    WHERE alert_id = \(bind: alertID) AND notifier = \(bind: notifier) AND event =
                        \(bind: plan.event.rawValue)
                    """
                ).run()
            }
            try await db.raw(
                """
                INSERT INTO alert_notifications (alert_id, notifier, event, state, attempts, next_attempt_at,
                    created_at)
                VALUES (\(bind: alertID), \(bind: notifier), \(bind: plan.event.rawValue), 'pending', 0,
                    \(bind: now.microseconds), \(bind: now.microseconds))
                ON CONFLICT (alert_id, notifier, event) DO NOTHING
                """
            ).run()
        }
    }

    /// Notifications due now, oldest first, each with its alert.
    public func dueNotifications(now: Timestamp, limit: Int = 50) async throws -> [(AlertNotification, Alert)] {
        try await database.read { db in
            let notifications = try await Self.notifications(
                where: "state = 'pending' AND next_attempt_at <= \(bind: now.microseconds)", limit: limit, in: db)
            var result: [(AlertNotification, Alert)] = []
            for notification in notifications {
                if let alert = try await Self.alerts(where: "id = \(bind: notification.alertID)", limit: 1, in: db)
                    .first
                {
                    result.append((notification, alert))
                }
            }
            return result
        }
    }

    public func notifications(of alertID: Int64) async throws -> [AlertNotification] {
        try await database.read { db in
            try await Self.notifications(where: "alert_id = \(bind: alertID)", limit: 100, in: db)
        }
    }

    /// Records a delivery attempt: sent, retried at `retryAt`, or failed for good (then `fallback`,
    /// if any, gets the notification instead).
    public func recordAttempt(
        _ notification: AlertNotification, error: String?, retryAt: Timestamp?, fallback: String?, now: Timestamp
    ) async throws {
        try await database.transaction { db in
            if error == nil {
                try await db.raw(
                    """
                    UPDATE alert_notifications SET state = 'sent', attempts = attempts + 1,
                        sent_at = \(bind: now.microseconds), last_error = NULL
                    WHERE id = \(bind: notification.id)
                    """
                ).run()
            } else if let retryAt {
                try await db.raw(
                    """
                    UPDATE alert_notifications SET attempts = attempts + 1,
                        next_attempt_at = \(bind: retryAt.microseconds), last_error = \(bind: error)
                    WHERE id = \(bind: notification.id)
                    """
                ).run()
            } else {
                try await db.raw(
                    """
                    UPDATE alert_notifications SET state = 'failed', attempts = attempts + 1,
                        last_error = \(bind: error) WHERE id = \(bind: notification.id)
                    """
                ).run()
                if let fallback {
                    try await db.raw(
                        """
                        INSERT INTO alert_notifications (alert_id, notifier, event, state, attempts, next_attempt_at,
                            fallback_for, created_at)
                        VALUES (\(bind: notification.alertID), \(bind: fallback),
                            \(bind: notification.event.rawValue), 'pending', 0, \(bind: now.microseconds),
                                \(bind: notification.notifier), \(bind: now.microseconds))
                        ON CONFLICT (alert_id, notifier, event) DO NOTHING
                        """
                    ).run()
                }
            }
        }
    }

    static func notifications(where condition: SQLQueryString, limit: Int, in db: any SQLDatabase) async throws
        -> [AlertNotification]
    {
        try await db.raw("SELECT * FROM alert_notifications WHERE \(condition) ORDER BY id LIMIT \(bind: limit)").all()
            .map { try $0.decode(AlertNotificationRow.self).notification() }
    }

    // MARK: Leases

    /// Takes or renews the named lease for `seconds`; false while another owner holds it.
    public func acquireLease(_ name: String, owner: String, seconds: Double, now: Timestamp) async throws -> Bool {
        let expires = now.adding(seconds: seconds).microseconds
        return try await database.transaction { db in
            try await db.raw(
                """
                INSERT INTO leases (name, owner, expires_at) VALUES (\(bind: name), \(bind: owner), \(bind: expires))
                ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
                WHERE leases.owner = excluded.owner OR leases.expires_at < \(bind: now.microseconds)
                RETURNING owner
                """
            ).first() != nil
        }
    }
}

// MARK: Rows

struct AlertRuleRow: TableRow {
    static let table = "alert_rules"
    var id: Int64
    var name: String
    var kind: String
    var channel: String?
    var threshold: Double
    var windowSeconds: Int
    var forSeconds: Int
    var severity: String
    var minVolume: Int
    var enabled: Bool
    var description: String?

    func rule() throws -> AlertRule {
        AlertRule(
            id: id, name: name, kind: try Self.parse(kind, column: "kind"), channel: channel, threshold: threshold,
            windowSeconds: windowSeconds,
            forSeconds: forSeconds, severity: try Self.parse(severity, column: "severity"), minVolume: minVolume,
            enabled: enabled,
            description: description)
    }
}

struct AlertRow: TableRow {
    static let table = "alerts"
    var id: Int64
    var ruleId: Int64
    var ruleName: String
    var kind: String
    var fingerprint: String
    var channel: String?
    var severity: String
    var state: String
    var summary: String
    var value: Double?
    var threshold: Double
    var pendingSince: Int64
    var firedAt: Int64?
    var acknowledgedAt: Int64?
    var acknowledgedBy: String?
    var ackComment: String?
    var ackExpiresAt: Int64?
    var resolvedAt: Int64?
    var resolvedBy: String?
    var silenced: Bool
    var lastEvaluatedAt: Int64

    func alert() throws -> Alert {
        Alert(
            id: id, ruleID: ruleId, ruleName: ruleName, kind: try Self.parse(kind, column: "kind"),
            fingerprint: fingerprint, channel: channel,
            severity: try Self.parse(severity, column: "severity"), state: try Self.parse(state, column: "state"),
            summary: summary, value: value,
            threshold: threshold, pendingSince: pendingSince.time, firedAt: firedAt.time,
            acknowledgedAt: acknowledgedAt.time,
            acknowledgedBy: acknowledgedBy, acknowledgementComment: ackComment,
            acknowledgementExpiresAt: ackExpiresAt.time,
            resolvedAt: resolvedAt.time, resolvedBy: resolvedBy, silenced: silenced,
            lastEvaluatedAt: lastEvaluatedAt.time)
    }
}

struct AlertHistoryRow: TableRow {
    static let table = "alert_history"
    var at: Int64
    var fromState: String?
    var toState: String
    var actor: String
    var comment: String?
    var value: Double?

    func entry() throws -> AlertHistoryEntry {
        AlertHistoryEntry(
            at: at.time, from: try fromState.map { try Self.parse($0, column: "from_state") },
            to: try Self.parse(toState, column: "to_state"),
            actor: actor, comment: comment, value: value)
    }
}

struct SilenceRow: TableRow {
    static let table = "silences"
    var id: Int64
    var matchers: String
    var startsAt: Int64
    var endsAt: Int64
    var createdBy: String
    var comment: String
    var createdAt: Int64

    func silence() throws -> Silence {
        Silence(
            id: id, matchers: try JSONCoding.decode([SilenceMatcher].self, from: matchers), startsAt: startsAt.time,
            endsAt: endsAt.time,
            createdBy: createdBy, comment: comment, createdAt: createdAt.time)
    }
}

struct AlertNotificationRow: TableRow {
    static let table = "alert_notifications"
    var id: Int64
    var alertId: Int64
    var notifier: String
    var event: String
    var state: String
    var attempts: Int
    var lastError: String?
    var sentAt: Int64?
    var fallbackFor: String?

    func notification() throws -> AlertNotification {
        AlertNotification(
            id: id, alertID: alertId, notifier: notifier, event: try Self.parse(event, column: "event"),
            state: try Self.parse(state, column: "state"),
            attempts: attempts, lastError: lastError, sentAt: sentAt.time, fallbackFor: fallbackFor)
    }
}
