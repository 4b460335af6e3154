import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import OrderFlowDomain
import OrderFlowPersistence
import OrderFlowRuntime

/// Tells someone about alerts. One call carries every alert due for this notifier at once, so an
/// outage that trips several rules is one message, not one per alert (and never one per order).
public protocol AlertNotifier: Sendable {
    var settings: NotifierSettings { get }
    func send(_ alerts: [Alert], event: AlertNotification.Event, now: Timestamp) async throws
}

public struct NotifierError: Error, CustomStringConvertible {
    public var description: String
}

extension AlertNotifier {
    /// One line per alert, for people.
    static func lines(_ alerts: [Alert], event: AlertNotification.Event) -> [String] {
        alerts.map { alert in
            let subject = alert.channel.map { " [\($0)]" } ?? ""
            return
                "\(event == .resolved ? "RESOLVED" : alert.severity.rawValue.uppercased()) \(alert.ruleName)\(subject): \(alert.summary)"
        }
    }

    static func subject(_ alerts: [Alert], event: AlertNotification.Event) -> String {
        let names = alerts.map { alert in alert.channel.map { "\(alert.ruleName) \($0)" } ?? alert.ruleName }
        let head =
            event == .resolved
            ? "[OrderFlow] Resolved" : "[OrderFlow] \(alerts.map(\.severity).max()?.rawValue.capitalized ?? "Alert")"
        return "\(head): " + names.prefix(3).joined(separator: ", ")
            + (names.count > 3 ? " and \(names.count - 3) more" : "")
    }

    static func post(_ url: String, json: Any, token: String?, client: HTTPClient) async throws {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "OrderFlow-Alerts")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.body = .bytes(
            ByteBuffer(data: try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])))
        let response = try await client.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 4_096)
        guard (200..<300).contains(response.status.code) else {
            throw NotifierError(description: "HTTP \(response.status.code): \(String(buffer: body).prefix(200))")
        }
    }
}

/// Email over SMTP, one message to every address in `to`.
public struct EmailAlertNotifier: AlertNotifier {
    public let settings: NotifierSettings
    let sender: SMTPClient

    public init?(settings: NotifierSettings, from: String) {
        guard let sender = SMTPClient(url: settings.url, from: from) else { return nil }
        self.settings = settings
        self.sender = sender
    }

    public func send(_ alerts: [Alert], event: AlertNotification.Event, now: Timestamp) async throws {
        let body =
            Self.lines(alerts, event: event).joined(separator: "\n")
            + "\n\nSent by OrderFlow at \(now). Acknowledge or silence these alerts in the dashboard or through /api/v1/alerts."
        let key = "alerts-" + alerts.map { String($0.id) }.joined(separator: "-") + "-\(event.rawValue)"
        for recipient in settings.to {
            try await sender.send(to: recipient, subject: Self.subject(alerts, event: event), message: body, key: key)
        }
    }
}

/// A generic JSON webhook.
public struct WebhookAlertNotifier: AlertNotifier {
    public let settings: NotifierSettings
    let client: HTTPClient

    public init(settings: NotifierSettings, client: HTTPClient = OutboundHTTP.client) {
        self.settings = settings
        self.client = client
    }

    public func send(_ alerts: [Alert], event: AlertNotification.Event, now: Timestamp) async throws {
        let payload: [String: Any] = [
            "notifier": settings.name, "event": event.rawValue, "sentAt": now.description,
            "alerts": alerts.map { alert -> [String: Any] in
                var item: [String: Any] = [
                    "id": alert.id, "rule": alert.ruleName, "kind": alert.kind.rawValue,
                    "severity": alert.severity.rawValue,
                    "state": alert.state.rawValue, "summary": alert.summary, "threshold": alert.threshold,
                    "labels": alert.labels,
                    "startsAt": (alert.firedAt ?? alert.pendingSince).description,
                ]
                if let channel = alert.channel { item["channel"] = channel }
                if let value = alert.value { item["value"] = value }
                if let resolved = alert.resolvedAt { item["endsAt"] = resolved.description }
                return item
            },
        ]
        try await Self.post(settings.url, json: payload, token: settings.token, client: client)
    }
}

/// A Slack-compatible incoming webhook (`{"text": …}`; Mattermost and Rocket.Chat take it too).
public struct SlackAlertNotifier: AlertNotifier {
    public let settings: NotifierSettings
    let client: HTTPClient

    public init(settings: NotifierSettings, client: HTTPClient = OutboundHTTP.client) {
        self.settings = settings
        self.client = client
    }

    public func send(_ alerts: [Alert], event: AlertNotification.Event, now: Timestamp) async throws {
        let text =
            "*\(Self.subject(alerts, event: event))*\n"
            + Self.lines(alerts, event: event).map { "• \($0)" }.joined(separator: "\n")
        try await Self.post(settings.url, json: ["text": text], token: settings.token, client: client)
    }
}

/// Alertmanager's API: `POST {url}/api/v2/alerts` with labels and annotations; a resolved alert
/// is sent with `endsAt`, so Alertmanager resolves it too.
public struct AlertmanagerNotifier: AlertNotifier {
    public let settings: NotifierSettings
    let client: HTTPClient
    let generatorURL: String?

    public init(settings: NotifierSettings, generatorURL: String? = nil, client: HTTPClient = OutboundHTTP.client) {
        self.settings = settings
        self.generatorURL = generatorURL
        self.client = client
    }

    public func send(_ alerts: [Alert], event: AlertNotification.Event, now: Timestamp) async throws {
        let payload = alerts.map { alert -> [String: Any] in
            var item: [String: Any] = [
                "labels": alert.labels,
                "annotations": [
                    "summary": alert.summary,
                    "description":
                        "\(alert.kind.rawValue) \(alert.value.map { String($0) } ?? "?") (threshold \(alert.threshold))",
                ],
                "startsAt": (alert.firedAt ?? alert.pendingSince).description,
            ]
            if event == .resolved { item["endsAt"] = (alert.resolvedAt ?? now).description }
            if let generatorURL { item["generatorURL"] = "\(generatorURL)/api/v1/alerts/\(alert.id)" }
            return item
        }
        let base = settings.url.hasSuffix("/") ? String(settings.url.dropLast()) : settings.url
        try await Self.post(base + "/api/v2/alerts", json: payload, token: settings.token, client: client)
    }
}

extension NotifierSettings {
    /// The notifier these settings describe.
    public func makeNotifier(emailFrom: String, publicURL: String?) -> (any AlertNotifier)? {
        switch type {
        case .email: EmailAlertNotifier(settings: self, from: emailFrom)
        case .webhook: WebhookAlertNotifier(settings: self)
        case .slack: SlackAlertNotifier(settings: self)
        case .alertmanager: AlertmanagerNotifier(settings: self, generatorURL: publicURL)
        }
    }
}
