import Foundation
import Logging
import OrderFlowDomain
import OrderFlowPersistence
import OrderFlowRuntime
import ServiceLifecycle
import Synchronization

/// Evaluates the alert rules every few seconds, moves alerts through their lifecycle, and sends
/// their notifications. On a shared database only the instance holding the `alert-evaluator`
/// lease evaluates and notifies; the others wait to take over when the lease expires.
public final class AlertEvaluator: Service, Sendable {
    let store: AlertRepository
    let queries: MonitoringRepository
    let settings: MonitorSettings
    /// Configured channels: per-channel rules judge each of these (and any seen in the data).
    let channels: [String]
    let notifiers: [String: any AlertNotifier]
    let clock: any WallClock
    let logger: Logger
    let metrics: MonitorMetrics
    let owner: String
    let ready: StartGate

    init(
        database: Database, settings: MonitorSettings, channels: [String], notifiers: [any AlertNotifier],
        clock: any WallClock, logger: Logger,
        metrics: MonitorMetrics, owner: String, ready: StartGate
    ) {
        store = AlertRepository(database: database)
        queries = MonitoringRepository(database: database)
        self.settings = settings
        self.channels = channels
        self.notifiers = Dictionary(notifiers.map { ($0.settings.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.clock = clock
        self.logger = logger
        self.metrics = metrics
        self.owner = owner
        self.ready = ready
    }

    public func run() async throws {
        let seeded = Mutex(false)
        try await ready.repeatUntilShutdown(
            every: settings.evaluationSeconds, logger: logger, failure: "alert evaluation failed"
        ) { [self] in
            if !seeded.withLock({ $0 }) {
                let added = try await store.seed(settings.rules, now: clock.now())
                if added > 0 { logger.info("alert rules seeded from configuration", metadata: ["rules": "\(added)"]) }
                seeded.withLock { $0 = true }
            }
            if try await store.acquireLease(
                "alert-evaluator", owner: owner, seconds: max(15, settings.evaluationSeconds * 3), now: clock.now())
            {
                try await evaluate()
                await dispatch()
            }
        }
    }

    // MARK: Evaluation

    /// One evaluation of every enabled rule for every subject.
    public func evaluate() async throws {
        let now = clock.now()
        let rules = try await store.rules()
        var active = Dictionary(
            try await store.active().map { ($0.fingerprint, $0) }, uniquingKeysWith: { first, _ in first })
        let silences = try await store.silences(includeExpired: false, now: now).filter { $0.isActive(at: now) }
        var measurements = Measurements(queries: queries, now: now)
        for rule in rules {
            guard rule.enabled else {
                for alert in active.values where alert.ruleID == rule.id {
                    try await store.advance(
                        alert, to: .resolved, value: nil, summary: nil, silenced: alert.silenced, actor: "evaluator",
                        comment: "rule disabled", now: now,
                        notify: Self.notifications(
                            from: alert.state, to: .resolved, silenced: alert.silenced, recipients: []))
                    active[alert.fingerprint] = nil
                }
                continue
            }
            let subjects: [String?]
            if let channel = rule.channel {
                subjects = [channel]
            } else if rule.kind.isPerChannel {
                let seen = try await measurements.channelsSeen(window: rule.windowSeconds)
                subjects = Set(channels).union(seen).sorted()
            } else {
                subjects = [nil]
            }
            for channel in subjects {
                let measurement = try await measurements.measure(rule, channel: channel)
                try await apply(
                    rule, channel: channel, measurement: measurement,
                    alert: active[AlertLifecycle.fingerprint(rule: rule.name, channel: channel)], silences: silences,
                    now: now)
            }
        }
    }

    func apply(
        _ rule: AlertRule, channel: String?, measurement: RuleMeasurement, alert: Alert?, silences: [Silence],
        now: Timestamp
    ) async throws {
        let labels = Alert.labels(rule: rule.name, kind: rule.kind, severity: rule.severity, channel: channel)
        let silenced = silences.contains { SilenceMatcher.matches($0.matchers, labels: labels) }
        let value: Double? = if case .value(let v, _) = measurement { v } else { nil }
        let summary = value.map { Self.summary(rule, channel: channel, value: $0) }
        let targets = recipients(rule.severity)
        switch AlertLifecycle.next(alert?.lifecycle, measurement: measurement, forSeconds: rule.forSeconds, now: now) {
        case .open(let state):
            let plans = AlertNotificationPolicy.plans(
                from: nil, to: state, silenced: silenced, recipients: targets, toldOfFiring: [])
            if let opened = try await store.open(
                rule: rule, channel: channel, state: state, value: value ?? 0, summary: summary ?? rule.name,
                silenced: silenced, now: now, notify: plans
            ) {
                logger.notice(
                    "alert \(state.rawValue)",
                    metadata: ["alert": "\(opened.fingerprint)", "summary": "\(opened.summary)"])
            }
        case .fire, .refire:
            guard let alert else { return }
            try await store.advance(
                alert, to: .firing, value: value, summary: summary, silenced: silenced, actor: "evaluator", now: now,
                notify: Self.notifications(from: alert.state, to: .firing, silenced: silenced, recipients: targets))
            logger.notice(
                "alert firing", metadata: ["alert": "\(alert.fingerprint)", "summary": "\(summary ?? alert.summary)"])
        case .resolve:
            guard let alert else { return }
            try await store.advance(
                alert, to: .resolved, value: value, summary: summary, silenced: alert.silenced, actor: "evaluator",
                comment: "condition cleared", now: now,
                notify: Self.notifications(
                    from: alert.state, to: .resolved, silenced: alert.silenced, recipients: targets))
            logger.notice("alert resolved", metadata: ["alert": "\(alert.fingerprint)"])
        case .none:
            guard let alert else { return }
            if alert.silenced != silenced {
                // A silence began or ended: a firing alert whose silence ended is told now.
                let plans = AlertNotificationPolicy.silenceChanged(
                    state: alert.state, silenced: silenced, recipients: targets)
                try await store.setSilenced(alert, silenced, notify: plans, now: now)
            }
            if let value, let summary { try await store.touch(alert, value: value, summary: summary, now: now) }
        }
    }

    /// The policy's plans for a move, once the repository knows who was told the alert fired.
    static func notifications(
        from: AlertState, to: AlertState, silenced: Bool, recipients: [String]
    ) -> @Sendable ([String]) -> [AlertNotificationPlan] {
        { told in
            AlertNotificationPolicy.plans(
                from: from, to: to, silenced: silenced, recipients: recipients, toldOfFiring: told)
        }
    }

    func recipients(_ severity: AlertSeverity) -> [String] {
        settings.notifiers.filter { !$0.fallbackOnly && $0.minSeverity <= severity }.map(\.name)
    }

    static func summary(_ rule: AlertRule, channel: String?, value: Double) -> String {
        let on = channel.map { " on \($0)" } ?? ""
        let window = Self.duration(rule.windowSeconds)
        return switch rule.kind {
        case .failureRatio:
            String(
                format: "%.1f%% of transmissions%@ failed in the last %@ (threshold %.1f%%)", value * 100, on, window,
                rule.threshold * 100)
        case .delayedRatio:
            String(
                format: "%.1f%% of transmissions%@ were delayed in the last %@ (threshold %.1f%%)", value * 100, on,
                window, rule.threshold * 100)
        case .delayedCount:
            "\(Int(value)) transmissions\(on) are past their acknowledgement deadline (threshold \(whole(rule.threshold)))"
        case .latencyP95:
            String(
                format: "acknowledgement latency p95%@ is %.1f s over the last %@ (threshold %.1f s)", on, value,
                window, rule.threshold)
        case .channelDown:
            value >= 1
                ? "the last \(max(rule.minVolume, 1)) delivery attempts\(on) all failed"
                : "deliveries\(on) are succeeding again"
        case .noNewOrders: "\(Int(value)) new orders in the last \(window) (alert at \(whole(rule.threshold)) or fewer)"
        case .deadLetterGrowth:
            "\(Int(value)) new dead letters in the last \(window) (threshold \(whole(rule.threshold)))"
        }
    }

    /// A count threshold without its fraction. Not `Int(_:)`: a rule may hold any finite threshold,
    /// and one past `Int.max` would stop the process.
    static func whole(_ number: Double) -> String {
        String(format: "%.0f", number.rounded(.towardZero))
    }

    static func duration(_ seconds: Int) -> String {
        seconds % 3600 == 0 ? "\(seconds / 3600) h" : seconds % 60 == 0 ? "\(seconds / 60) min" : "\(seconds) s"
    }

    // MARK: Notification

    /// Sends what is due, grouped per notifier and event: one message for several alerts.
    public func dispatch() async {
        let now = clock.now()
        let due: [(AlertNotification, Alert)]
        do {
            due = try await store.dueNotifications(now: now)
        } catch {
            logger.error("reading due notifications failed", metadata: ["error": "\(error)"])
            return
        }
        let groups = Dictionary(grouping: due) { "\($0.0.notifier)\u{0}\($0.0.event.rawValue)" }
        for group in groups.values {
            let (first, _) = group[0]
            let notifier = notifiers[first.notifier]
            var failure: String?
            if let notifier {
                do {
                    try await notifier.send(group.map(\.1), event: first.event, now: now)
                } catch {
                    // Shutting down: the send was cut short, not refused. Leave it due, uncounted;
                    // the next start sends it.
                    if Task.isCancelled { return }
                    failure = "\(error)"
                }
            } else {
                failure = "no notifier named '\(first.notifier)' is configured"
            }
            for (notification, alert) in group {
                let attempts = notification.attempts + 1
                let retryAt =
                    failure != nil && notifier != nil && attempts < settings.notificationAttempts
                    ? now.adding(seconds: Backoff.delay(attempt: attempts, base: 2, cap: 120)) : nil
                let fallback = notifier?.settings.fallback
                do {
                    try await store.recordAttempt(
                        notification, error: failure, retryAt: retryAt, fallback: fallback, now: now)
                } catch {
                    logger.error("recording a notification failed", metadata: ["error": "\(error)"])
                }
                if let failure {
                    logger.warning(
                        "alert notification failed",
                        metadata: [
                            "notifier": "\(notification.notifier)", "alert": "\(alert.fingerprint)",
                            "attempt": "\(attempts)", "error": "\(failure)",
                        ])
                }
            }
        }
    }
}

/// Rule measurements at one instant, each database query made once per window.
struct Measurements {
    let queries: MonitoringRepository
    let now: Timestamp
    var counts: [Int: [String: [TransmissionStatus: Int]]] = [:]
    var unacknowledged: [String: (pending: Int, delayed: Int)]?

    init(queries: MonitoringRepository, now: Timestamp) {
        self.queries = queries
        self.now = now
    }

    func since(_ window: Int) -> Timestamp { now.adding(seconds: -Double(window)) }

    mutating func classificationCounts(_ window: Int) async throws -> [String: [TransmissionStatus: Int]] {
        if let cached = counts[window] { return cached }
        let value = try await queries.classificationCounts(since: since(window), until: now.adding(seconds: 0.000001))
        counts[window] = value
        return value
    }

    mutating func channelsSeen(window: Int) async throws -> Set<String> {
        Set(try await classificationCounts(window).keys)
    }

    mutating func measure(_ rule: AlertRule, channel: String?) async throws -> RuleMeasurement {
        let minimum = max(rule.minVolume, 1)
        func judged(_ value: Double) -> RuleMeasurement {
            .value(value, breached: rule.kind.breaches(value, threshold: rule.threshold))
        }
        switch rule.kind {
        case .failureRatio, .delayedRatio:
            let counts = try await classificationCounts(rule.windowSeconds)[channel ?? ""] ?? [:]
            let decided = counts.filter { $0.key != .pending }.values.reduce(0, +)
            guard decided >= minimum else { return .noData }
            let bad =
                rule.kind == .failureRatio
                ? counts[.failed, default: 0] : counts.filter { $0.key.wasDelayed }.values.reduce(0, +)
            return judged(Double(bad) / Double(decided))
        case .delayedCount:
            if unacknowledged == nil { unacknowledged = try await queries.unacknowledged() }
            return judged(Double(unacknowledged?[channel ?? ""]?.delayed ?? 0))
        case .latencyP95:
            let p95 = try await queries.latencyPercentile(
                0.95, channel: channel ?? "", since: since(rule.windowSeconds), until: now.adding(seconds: 0.000001))
            guard p95.count >= minimum, let value = p95.value else { return .noData }
            return judged(value)
        case .channelDown:
            // The latest attempts, however far apart (an open circuit only probes now and then),
            // as long as the newest is recent: all failed is down, any success is up.
            let latest = try await queries.latestAttempts(channel: channel ?? "", limit: minimum)
            guard latest.count >= minimum, let newest = latest.first, newest.at >= since(rule.windowSeconds) else {
                return .noData
            }
            return judged(latest.allSatisfy { !$0.succeeded } ? 1 : 0)
        case .noNewOrders:
            return judged(
                Double(
                    try await queries.ordersCreated(
                        since: since(rule.windowSeconds), until: now.adding(seconds: 0.000001))))
        case .deadLetterGrowth:
            return judged(
                Double(
                    try await queries.deadLettersOpened(
                        since: since(rule.windowSeconds), until: now.adding(seconds: 0.000001))))
        }
    }
}
