import Foundation
import Hummingbird
import OrderFlowDomain
import OrderFlowMonitor

/// The filters of the monitoring views, read from the query string: a window (`minutes`) or a
/// `from`/`to` range, and status, channel and order type.
struct MonitorFilters: Sendable {
    var minutes: Int
    var from: String?
    var to: String?
    var status: TransmissionStatus?
    var channel: String?
    var orderType: String?

    static let windows = [(10, "10 minutes"), (60, "1 hour"), (1_440, "24 hours"), (10_080, "7 days")]

    init(_ request: Request) throws {
        let query = request.queryForm
        func text(_ name: String) -> String? { query[name].flatMap { $0.isEmpty ? nil : $0 } }
        minutes = text("minutes").flatMap(Int.init) ?? 10
        guard (1...10_080).contains(minutes) else { throw APIError.invalid("minutes", rule: "range", "must be 1–10080") }
        from = text("from")
        to = text("to")
        if let status = text("status") {
            guard let known = TransmissionStatus(rawValue: status) else {
                throw APIError.invalid("status", rule: "enum", "one of \(TransmissionStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            self.status = known
        }
        channel = text("channel")
        if let orderType = text("orderType") {
            guard OrderType(rawValue: orderType) != nil else { throw APIError.invalid("orderType", rule: "enum", "an order type such as delivery") }
            self.orderType = orderType
        }
    }

    /// The window as instants: `from`/`to` (a `datetime-local` value, read as UTC) or the last `minutes`.
    func window(now: Timestamp) throws -> (Timestamp, Timestamp) {
        func instant(_ field: String, _ text: String?) throws -> Timestamp? {
            guard let text else { return nil }
            let padded = text.count == 16 ? text + ":00Z" : (text.hasSuffix("Z") ? text : text + "Z")
            guard let time = Timestamp(rfc3339: padded) else { throw APIError.invalid(field, rule: "format", "a date and time such as 2026-11-22T09:30") }
            return time
        }
        let end = try instant("to", to) ?? now.adding(seconds: 0.000001)
        let start = try instant("from", from) ?? end.adding(seconds: -Double(minutes) * 60)
        guard start < end else { throw APIError.invalid("from", rule: "range", "must be before to") }
        guard end.microseconds - start.microseconds <= 31 * 86_400 * 1_000_000 else { throw APIError.invalid("from", rule: "range", "the range may span at most 31 days") }
        return (start, end)
    }

    func transmissionFilter(now: Timestamp, withStatus: Bool = true) throws -> TransmissionFilter {
        let (start, end) = try window(now: now)
        return TransmissionFilter(from: start, to: end, channel: channel, status: withStatus ? status : nil, orderType: orderType.flatMap(OrderType.init(rawValue:)))
    }

    /// The filter form; the page's own query, so links and fragments keep the same filters.
    func form(action: String, channels: [String]) -> HTML {
        func option(_ value: String, _ label: String, selected: Bool) -> HTML {
            "<option value=\"\(value)\"\(selected ? " selected" : "" as HTML)>\(label)</option>"
        }
        let windows = Self.windows.map { option(String($0.0), $0.1, selected: $0.0 == minutes && from == nil) }
        let statuses = [option("", "Any status", selected: status == nil)]
            + TransmissionStatus.allCases.map { option($0.rawValue, Display.statusName($0), selected: $0 == status) }
        let channelOptions = [option("", "Any channel", selected: channel == nil)] + channels.map { option($0, $0, selected: $0 == channel) }
        let types = [option("", "Any order type", selected: orderType == nil)]
            + OrderType.allCases.map { option($0.rawValue, $0.rawValue.replacingOccurrences(of: "_", with: " "), selected: $0.rawValue == orderType) }
        return """
            <form class="filters card" method="get" action="\(action)" aria-label="Filters">
            <div><label for="f-minutes">Window</label><select id="f-minutes" name="minutes">\(windows)</select></div>
            <div><label for="f-from">From (UTC)</label><input id="f-from" type="datetime-local" name="from" value="\(from ?? "")"></div>
            <div><label for="f-to">To (UTC)</label><input id="f-to" type="datetime-local" name="to" value="\(to ?? "")"></div>
            <div><label for="f-status">Status</label><select id="f-status" name="status">\(statuses)</select></div>
            <div><label for="f-channel">Channel</label><select id="f-channel" name="channel">\(channelOptions)</select></div>
            <div><label for="f-type">Order type</label><select id="f-type" name="orderType">\(types)</select></div>
            <button type="submit" class="primary">Apply</button>
            <a class="button" href="\(action)">Clear</a>
            </form>
            """
    }
}

extension Dashboard {
    /// Operations: "how are orders doing in the last 10 minutes?" — counters, success rate,
    /// throughput, channel tiles, the transmissions behind them, and the alert inbox.
    func operations(_ request: Request, context: AppRequestContext) async throws -> Response {
        let principal = try principal(context)
        let filters = try MonitorFilters(request)
        let channels = services.monitoring.channelNames
        return try await render(request, title: "Operations", view: .operations, principal: principal, sections: [
            ("counters", { try await counters(filters, for: principal) }),
            ("channels", { try await channelTiles(for: principal) }),
            ("transmissions", { try await transmissionTable(filters, for: principal) }),
            ("alerts", { try await alertInbox(principal) }),
        ]) { parts in
            """
            \(Self.notice(request))
            \(filters.form(action: DashboardView.operations.path, channels: channels))
            \(Layout.live("counters", topics: "transmission", label: "Counters", parts["counters"]))
            <div class="grid">
            <div class="card"><h2>Channels</h2>\(Layout.live("channels", topics: "transmission", label: "Channels", parts["channels"]))</div>
            <div class="card"><h2>Alerts</h2>\(Layout.live("alerts", topics: "alert", label: "Alerts", parts["alerts"]))</div>
            </div>
            <div class="card"><h2>Recent transmissions</h2>\(Layout.live("transmissions", topics: "transmission", label: "Recent transmissions", parts["transmissions"]))</div>
            """
        }
    }

    func counters(_ filters: MonitorFilters, for principal: Principal) async throws -> HTML {
        let summary = try await services.monitoring.summary(try filters.transmissionFilter(now: clock.now(), withStatus: false), for: principal)
        let success = (summary.counts[.success] ?? 0) + (summary.counts[.successLate] ?? 0)
        let series = summary.series.map { minute in
            [(minute.counts[.success] ?? 0) + (minute.counts[.successLate] ?? 0), (minute.counts[.pending] ?? 0) + (minute.counts[.delayed] ?? 0), minute.counts[.failed] ?? 0]
        }
        let labels = summary.series.first.map { first in (Display.time(first.start), Display.time(summary.series.last!.start)) }
        return """
            <div class="counters">
            \(Display.counter("Success", success, "ok", id: "count-success"))
            \(Display.counter("Delayed", summary.counts[.delayed] ?? 0, "warn", id: "count-delayed"))
            \(Display.counter("Failed", summary.counts[.failed] ?? 0, "bad", id: "count-failed"))
            \(Display.counter("Pending", summary.counts[.pending] ?? 0, "info", id: "count-pending"))
            <div class="counter"><span class="muted">Success rate</span><span class="n" id="success-rate">\(Display.percent(summary.successRate))</span></div>
            <div class="counter"><span class="muted">Ack latency p95</span><span class="n">\(Display.duration(seconds: summary.latencyP95))</span></div>
            </div>
            <div class="card"><h2>Transmissions per minute</h2>\(Charts.stackedBars(series, classes: ["bar-ok", "bar-warn", "bar-bad"], legend: ["acknowledged", "waiting or delayed", "failed"], labels: labels, title: "Transmissions per minute: acknowledged, waiting or delayed, failed"))
            <p class="muted">\(summary.total) transmissions from \(Display.time(summary.from)) to \(Display.time(summary.to)) UTC.</p></div>
            """
    }

    func channelTiles(for principal: Principal) async throws -> HTML {
        let now = clock.now()
        let channels = try await services.monitoring.channelHealth(for: principal)
        guard !channels.isEmpty else { return "<p class=\"muted\">No downstream channels are configured.</p>" }
        let tiles = channels.map { health -> HTML in
            let state = health.circuit.rawValue
            let tone = health.circuit == .closed ? "ok" : health.circuit == .open ? "bad" : "warn"
            return """
                <div class="tile" data-row="channel-\(health.channel)"><h2>\(health.channel)</h2>
                <p><span class="badge \(tone)">circuit \(state.replacingOccurrences(of: "_", with: " "))</span></p>
                <dl class="facts"><dt>Errors (5 min)</dt><dd>\(Display.percent(health.errorRate))</dd>
                <dt>Waiting</dt><dd>\(health.pending)</dd><dt>Delayed</dt><dd>\(health.delayed)</dd>
                <dt>Last success</dt><dd>\(health.lastSuccessAt.map { Display.moment($0, now: now) } ?? "never")</dd></dl></div>
                """
        }
        return "<div class=\"tiles\">\(tiles)</div>"
    }

    func transmissionTable(_ filters: MonitorFilters, for principal: Principal) async throws -> HTML {
        let now = clock.now()
        let page = try await services.monitoring.transmissions(try filters.transmissionFilter(now: now), beforeID: nil, limit: 50, for: principal)
        guard !page.items.isEmpty else { return "<p class=\"muted\">No transmissions match these filters.</p>" }
        let rows = page.items.map { item -> HTML in
            let t = item.transmission
            return """
                <tr data-row="t\(t.id)"><td>\(Display.moment(t.createdAt, now: now))</td>
                <td><a href="/dashboard/trace?q=\(t.orderID.rawValue.formURLEncoded)">\(t.orderID.rawValue)</a></td>
                <td>\(t.channel)</td><td>\(t.eventType)</td><td>\(item.orderType?.rawValue ?? "")</td>
                <td>\(Display.statusBadge(t.classification))</td><td>\(t.attempts)</td>
                <td>\(t.acknowledgedAt.map { Display.duration(milliseconds: Double($0.microseconds - t.createdAt.microseconds) / 1_000) })</td>
                <td class="muted">\(t.lastError.map { String($0.prefix(80)) })</td></tr>
                """
        }
        return """
            <div class="scroll"><table id="transmissions"><thead><tr><th scope="col">Created (UTC)</th><th scope="col">Order</th><th scope="col">Channel</th>
            <th scope="col">Event</th><th scope="col">Type</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Ack after</th><th scope="col">Last error</th></tr></thead>
            <tbody>\(rows)</tbody></table></div>
            """
    }

    func alertInbox(_ principal: Principal) async throws -> HTML {
        let page = try await services.alerts.alerts(states: [.firing, .pending, .acknowledged], channel: nil, beforeID: nil, limit: 20)
        guard !page.alerts.isEmpty else { return "<p class=\"muted\" id=\"no-alerts\">No open alerts.</p>" }
        let manage = principal.may(.alertsManage)
        let items = page.alerts.map { alert -> HTML in
            let tone = alert.state == .firing ? (alert.severity == .critical ? "bad" : "warn") : alert.state == .pending ? "info" : "ok"
            var actions: [HTML] = []
            if manage {
                if alert.state != .acknowledged {
                    actions.append("""
                        <form method="post" action="/dashboard/alerts/\(alert.id)/acknowledge">
                        <label class="visually-hidden" for="ack-\(alert.id)">Comment</label>
                        <input id="ack-\(alert.id)" name="comment" placeholder="What you are doing about it" required maxlength="500">
                        <button type="submit" class="primary">Acknowledge</button></form>
                        """)
                }
                actions.append("""
                    <form method="post" action="/dashboard/alerts/\(alert.id)/silence"><select name="hours" aria-label="Silence for">
                    <option value="1">1 hour</option><option value="4">4 hours</option><option value="24">24 hours</option></select>
                    <button type="submit">Silence</button></form>
                    <form method="post" action="/dashboard/alerts/\(alert.id)/resolve" data-confirm="Resolve this alert now?"><button type="submit">Resolve</button></form>
                    """)
            }
            return """
                <li class="card" data-row="a\(alert.id)-\(alert.state.rawValue)"><p><span class="badge \(tone)">\(alert.state.rawValue)</span>
                <strong>\(alert.ruleName)</strong>\(Display.part(" · ", alert.channel)) · \(alert.severity.rawValue)\(alert.silenced ? " · silenced" : "")</p>
                <p>\(alert.summary)</p>
                \(alert.acknowledgedBy.map { by in "<p class=\"muted\">Acknowledged by \(by): \(alert.acknowledgementComment ?? "")</p>" as HTML })
                <div class="actions">\(actions)</div></li>
                """
        }
        return "<ul class=\"timeline\" id=\"alerts\">\(items)</ul>"
    }

    // MARK: Alert actions (the services the API calls, so audit and rules are the same)

    func acknowledgeAlert(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try context.parameters.require("alertId", as: Int64.self)
        return try await act(request, context, fallback: DashboardView.operations.path) { form, caller in
            _ = try await services.alerts.acknowledge(id, comment: form["comment"] ?? "", expiresAt: nil, by: caller)
            return "Alert \(id) acknowledged."
        }
    }

    func resolveAlert(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try context.parameters.require("alertId", as: Int64.self)
        return try await act(request, context, fallback: DashboardView.operations.path) { form, caller in
            _ = try await services.alerts.resolve(id, comment: form["comment"], by: caller)
            return "Alert \(id) resolved."
        }
    }

    /// Silences what the alert matches (its rule, and its channel when it has one) for a while.
    func silenceAlert(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try context.parameters.require("alertId", as: Int64.self)
        return try await act(request, context, fallback: DashboardView.operations.path) { form, caller in
            guard let hours = form["hours"].flatMap(Double.init), [1, 4, 24].contains(hours) else {
                throw APIError.invalid("hours", rule: "enum", "silence for 1, 4 or 24 hours")
            }
            let (alert, _) = try await services.alerts.silence(alert: id, forHours: hours, by: caller)
            return "\(alert.ruleName) silenced for \(Int(hours)) h."
        }
    }
}
