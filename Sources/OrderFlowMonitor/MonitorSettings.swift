import Foundation
import OrderFlowDomain
import OrderFlowPersistence

/// How monitoring runs: rule evaluation, alert notifiers, acknowledgement matching, retention.
public struct MonitorSettings: Sendable {
    /// How often alert rules are evaluated (one instance at a time on a shared database).
    public var evaluationSeconds: Double = 5
    /// Rules written to the database at start-up when no rule of that name exists yet.
    public var rules: [AlertRule] = MonitorSettings.defaultRules
    public var notifiers: [NotifierSettings] = []
    public var correlation = CorrelationSettings()
    public var retention = RetentionSettings()
    /// Sender address of alert email.
    public var emailFrom = "alerts@orderflow.invalid"
    /// Attempts per notification before it fails (and its fallback, if any, takes over).
    public var notificationAttempts = 5
    /// Where links in notifications point (the dashboard's base URL).
    public var publicURL: String?

    public init() {}

    /// The built-in rules: seed 001's two rules made per window, plus per-channel rules.
    public static let defaultRules: [AlertRule] = [
        AlertRule(
            name: "ChannelDown", kind: .channelDown, threshold: 1, windowSeconds: 60, forSeconds: 30,
            severity: .critical, minVolume: 3,
            description: "The channel's last 3 delivery attempts failed, the newest within the last minute."),
        AlertRule(
            name: "TransmissionFailureRatio", kind: .failureRatio, threshold: 0.05, windowSeconds: 600, forSeconds: 120,
            severity: .critical, minVolume: 20,
            description: "More than 5% of the channel's transmissions failed in the last 10 minutes."),
        AlertRule(
            name: "TransmissionsDelayed", kind: .delayedCount, threshold: 10, windowSeconds: 300, forSeconds: 60,
            severity: .warning,
            description: "More than 10 transmissions are past their acknowledgement deadline."),
        AlertRule(
            name: "DelayedRatio", kind: .delayedRatio, threshold: 0.1, windowSeconds: 600, forSeconds: 120,
            severity: .warning, minVolume: 20,
            description: "More than 10% of the channel's transmissions were acknowledged late or not at all."),
        AlertRule(
            name: "AckLatencyP95", kind: .latencyP95, threshold: 30, windowSeconds: 300, forSeconds: 300,
            severity: .warning, minVolume: 20,
            description: "The 95th percentile of acknowledgement latency is above 30 s."),
        AlertRule(
            name: "NoNewOrders", kind: .noNewOrders, threshold: 0, windowSeconds: 600, forSeconds: 600,
            severity: .warning,
            description: "No order was created in the last 10 minutes."),
        AlertRule(
            name: "DeadLetterGrowth", kind: .deadLetterGrowth, threshold: 0, windowSeconds: 900, forSeconds: 0,
            severity: .warning,
            description: "New dead letters in the last 15 minutes: work that needs a person."),
    ]

    /// Parses a JSON array of rules; every problem is reported.
    public static func parseRules(_ json: String) throws -> [AlertRule] {
        let rules: [AlertRule]
        do {
            rules = try JSONDecoder().decode([RuleConfiguration].self, from: Data(json.utf8)).map(\.rule)
        } catch {
            throw SettingsError(problems: ["alert rules are not a JSON array of {name, kind, threshold, …}: \(error)"])
        }
        var problems: [String] = []
        var names: Set<String> = []
        for rule in rules {
            problems += rule.problems().map { "rule '\(rule.name)': \($0.field) \($0.message)" }
            if !names.insert(rule.name).inserted { problems.append("rule '\(rule.name)' appears twice") }
        }
        if !problems.isEmpty { throw SettingsError(problems: problems) }
        return rules
    }

    /// Parses a JSON array of notifiers; every problem is reported.
    public static func parseNotifiers(_ json: String) throws -> [NotifierSettings] {
        let notifiers: [NotifierSettings]
        do {
            notifiers = try JSONDecoder().decode([NotifierSettings].self, from: Data(json.utf8))
        } catch {
            throw SettingsError(problems: ["alert notifiers are not a JSON array of {name, type, url, …}: \(error)"])
        }
        var problems: [String] = []
        let names = notifiers.map(\.name)
        for notifier in notifiers {
            if !Formats.isCode(notifier.name, maxLength: 40, caseSensitive: true) {
                problems.append("notifier name '\(notifier.name)' must be 1–40 letters, digits, '-' or '_'")
            }
            if names.filter({ $0 == notifier.name }).count > 1 {
                problems.append("notifier '\(notifier.name)' appears twice")
            }
            switch notifier.type {
            case .email:
                if !notifier.url.hasPrefix("smtp://") {
                    problems.append("notifier '\(notifier.name)': an email notifier's url is smtp://host:port")
                }
                if notifier.to.isEmpty || !notifier.to.allSatisfy(Formats.isEmail) {
                    problems.append("notifier '\(notifier.name)': 'to' must list at least one email address")
                }
            case .webhook, .slack, .alertmanager:
                if !Formats.isHTTPURL(notifier.url) {
                    problems.append("notifier '\(notifier.name)': url must be http(s)")
                }
            }
            if let fallback = notifier.fallback, fallback == notifier.name || !names.contains(fallback) {
                problems.append("notifier '\(notifier.name)': fallback '\(fallback)' must name another notifier")
            }
        }
        if !problems.isEmpty { throw SettingsError(problems: problems) }
        return notifiers
    }

    /// A rule as written in configuration (every field but name, kind and threshold optional).
    struct RuleConfiguration: Decodable {
        var rule: AlertRule

        enum CodingKeys: String, CodingKey {
            case name, kind, channel, threshold, windowSeconds, forSeconds, severity, minVolume, enabled, description
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let defaults = AlertRule(name: "", kind: .failureRatio, threshold: 0)
            rule = AlertRule(
                name: try c.decode(String.self, forKey: .name), kind: try c.decode(AlertRuleKind.self, forKey: .kind),
                channel: try c.decodeIfPresent(String.self, forKey: .channel),
                threshold: try c.decode(Double.self, forKey: .threshold),
                windowSeconds: try c.decodeIfPresent(Int.self, forKey: .windowSeconds) ?? defaults.windowSeconds,
                forSeconds: try c.decodeIfPresent(Int.self, forKey: .forSeconds) ?? defaults.forSeconds,
                severity: try c.decodeIfPresent(AlertSeverity.self, forKey: .severity) ?? defaults.severity,
                minVolume: try c.decodeIfPresent(Int.self, forKey: .minVolume) ?? defaults.minVolume,
                enabled: try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? true,
                description: try c.decodeIfPresent(String.self, forKey: .description))
        }
    }
}

/// Where alerts go.
public struct NotifierSettings: Sendable, Codable, Hashable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// Email over SMTP (`url`: smtp://host:port, `to`: addresses).
        case email
        /// A generic JSON webhook: `{"notifier", "event", "alerts": […]}`.
        case webhook
        /// A Slack-compatible incoming webhook: `{"text": …}`.
        case slack
        /// Alertmanager's `POST /api/v2/alerts` (`url`: Alertmanager's base URL).
        case alertmanager
    }

    public var name: String
    public var type: Kind
    public var url: String
    public var to: [String]
    /// Takes the notification when this notifier fails for good.
    public var fallback: String?
    /// Only alerts at least this severe.
    public var minSeverity: AlertSeverity
    /// Sent as `Authorization: Bearer …` (webhooks).
    public var token: String?
    /// Used only as another notifier's fallback (a pager when email fails, say).
    public var fallbackOnly: Bool

    public init(
        name: String, type: Kind, url: String, to: [String] = [], fallback: String? = nil,
        minSeverity: AlertSeverity = .info, token: String? = nil, fallbackOnly: Bool = false
    ) {
        self.name = name
        self.type = type
        self.url = url
        self.to = to
        self.fallback = fallback
        self.minSeverity = minSeverity
        self.token = token
        self.fallbackOnly = fallbackOnly
    }

    enum CodingKeys: String, CodingKey { case name, type, url, to, fallback, minSeverity, token, fallbackOnly }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            name: try c.decode(String.self, forKey: .name), type: try c.decode(Kind.self, forKey: .type),
            url: try c.decode(String.self, forKey: .url),
            to: try c.decodeIfPresent([String].self, forKey: .to) ?? [],
            fallback: try c.decodeIfPresent(String.self, forKey: .fallback),
            minSeverity: try c.decodeIfPresent(AlertSeverity.self, forKey: .minSeverity) ?? .info,
            token: try c.decodeIfPresent(String.self, forKey: .token),
            fallbackOnly: try c.decodeIfPresent(Bool.self, forKey: .fallbackOnly) ?? false)
    }
}

/// How long each kind of history is kept, in days (0: for ever). Orders and the audit log are
/// kept for ever: they are the business record.
public struct RetentionSettings: Sendable, Hashable {
    public var transmissionDays = 30
    public var acknowledgementDays = 30
    public var alertDays = 180
    public var deadLetterDays = 90
    public var inboundEventDays = 30
    /// How often the clean-up runs.
    public var intervalSeconds: Double = 3_600

    public init() {}

    /// `transmissions=30,acknowledgements=30,alerts=180,dead_letters=90,inbound_events=30`.
    public static func parse(_ text: String) throws -> RetentionSettings {
        var settings = RetentionSettings()
        var problems: [String] = []
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, let days = Int(pair[1]), days >= 0 else {
                problems.append("'\(part)' is not kind=days")
                continue
            }
            switch pair[0] {
            case "transmissions": settings.transmissionDays = days
            case "acknowledgements": settings.acknowledgementDays = days
            case "alerts": settings.alertDays = days
            case "dead_letters": settings.deadLetterDays = days
            case "inbound_events": settings.inboundEventDays = days
            default:
                problems.append(
                    "'\(pair[0])' is not one of transmissions, acknowledgements, alerts, dead_letters, inbound_events")
            }
        }
        if !problems.isEmpty { throw SettingsError(problems: problems) }
        return settings
    }
}
