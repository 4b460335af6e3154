import Foundation
import OrderFlowDomain

/// The operations page as HTML: functions of `OperationsModel`'s sections and the filters, no I/O.
enum OperationsView {
    /// The page around its sections (rendered, by name).
    static func page(filters: MonitorFilters, channels: [String], notice: HTML, sections: RenderedSections) -> HTML {
        let counters = Layout.live("counters", topics: "transmission", label: "Counters", sections["counters"])
        let tiles = Layout.live("channels", topics: "transmission", label: "Channels", sections["channels"])
        let alerts = Layout.live("alerts", topics: "alert", label: "Alerts", sections["alerts"])
        let transmissions = Layout.live(
            "transmissions", topics: "transmission", label: "Recent transmissions", sections["transmissions"])
        return """
            \(notice)
            \(filters.form(action: DashboardView.operations.path, channels: channels))
            \(counters)
            <div class="grid">
            <div class="card"><h2>Channels</h2>\(tiles)</div>
            <div class="card"><h2>Alerts</h2>\(alerts)</div>
            </div>
            <div class="card"><h2>Recent transmissions</h2>\(transmissions)</div>
            """
    }

    static func counters(_ model: OperationsModel.Counters) -> HTML {
        let summary = model.summary
        let success = (summary.counts[.success] ?? 0) + (summary.counts[.successLate] ?? 0)
        let series = summary.series.map { minute in
            [
                (minute.counts[.success] ?? 0) + (minute.counts[.successLate] ?? 0),
                (minute.counts[.pending] ?? 0) + (minute.counts[.delayed] ?? 0),
                minute.counts[.failed] ?? 0,
            ]
        }
        let labels = summary.series.first.map { first in
            (Display.time(first.start), Display.time(summary.series.last!.start))
        }
        let chart = Charts.stackedBars(
            series, classes: ["bar-ok", "bar-warn", "bar-bad"],
            legend: ["acknowledged", "waiting or delayed", "failed"], labels: labels,
            title: "Transmissions per minute: acknowledged, waiting or delayed, failed")
        return """
            <div class="counters">
            \(Display.counter("Success", success, "ok", id: "count-success"))
            \(Display.counter("Delayed", summary.counts[.delayed] ?? 0, "warn", id: "count-delayed"))
            \(Display.counter("Failed", summary.counts[.failed] ?? 0, "bad", id: "count-failed"))
            \(Display.counter("Pending", summary.counts[.pending] ?? 0, "info", id: "count-pending"))
            <div class="counter"><span class="muted">Success rate</span>\
            <span class="n" id="success-rate">\(Display.percent(summary.successRate))</span></div>
            <div class="counter"><span class="muted">Ack latency p95</span>\
            <span class="n">\(Display.duration(seconds: summary.latencyP95))</span></div>
            </div>
            <div class="card"><h2>Transmissions per minute</h2>\(chart)
            <p class="muted">\(summary.total) transmissions from \(Display.time(summary.from)) \
            to \(Display.time(summary.to)) UTC.</p></div>
            """
    }

    static func channels(_ model: OperationsModel.Channels) -> HTML {
        guard !model.health.isEmpty else { return "<p class=\"muted\">No downstream channels are configured.</p>" }
        let tiles = model.health.map { health -> HTML in
            let state = health.circuit.rawValue
            let tone = health.circuit == .closed ? "ok" : health.circuit == .open ? "bad" : "warn"
            let lastSuccess = health.lastSuccessAt.map { Display.moment($0, now: model.now) } ?? "never"
            return """
                <div class="tile" data-row="channel-\(health.channel)"><h2>\(health.channel)</h2>
                <p><span class="badge \(tone)">circuit \(state.replacingOccurrences(of: "_", with: " "))</span></p>
                <dl class="facts"><dt>Errors (5 min)</dt><dd>\(Display.percent(health.errorRate))</dd>
                <dt>Waiting</dt><dd>\(health.pending)</dd><dt>Delayed</dt><dd>\(health.delayed)</dd>
                <dt>Last success</dt><dd>\(lastSuccess)</dd></dl></div>
                """
        }
        return "<div class=\"tiles\">\(tiles)</div>"
    }

    static func transmissions(_ model: OperationsModel.Transmissions) -> HTML {
        guard !model.items.isEmpty else { return "<p class=\"muted\">No transmissions match these filters.</p>" }
        let rows = model.items.map { item -> HTML in
            let t = item.transmission
            let ackAfter = t.acknowledgedAt.map {
                Display.duration(milliseconds: Double($0.microseconds - t.createdAt.microseconds) / 1_000)
            }
            return """
                <tr data-row="t\(t.id)"><td>\(Display.moment(t.createdAt, now: model.now))</td>
                <td><a href="/dashboard/trace?q=\(t.orderID.rawValue.formURLEncoded)">\(t.orderID.rawValue)</a></td>
                <td>\(t.channel)</td><td>\(t.eventType)</td><td>\(item.orderType?.rawValue ?? "")</td>
                <td>\(Display.statusBadge(t.classification))</td><td>\(t.attempts)</td>
                <td>\(ackAfter)</td>
                <td class="muted">\(t.lastError.map { String($0.prefix(80)) })</td></tr>
                """
        }
        return """
            <div class="scroll"><table id="transmissions"><thead><tr><th scope="col">Created (UTC)</th>\
            <th scope="col">Order</th><th scope="col">Channel</th>
            <th scope="col">Event</th><th scope="col">Type</th><th scope="col">Status</th><th scope="col">Attempts</th>\
            <th scope="col">Ack after</th><th scope="col">Last error</th></tr></thead>
            <tbody>\(rows)</tbody></table></div>
            """
    }

    static func alerts(_ model: OperationsModel.Alerts) -> HTML {
        guard !model.alerts.isEmpty else { return "<p class=\"muted\" id=\"no-alerts\">No open alerts.</p>" }
        let items = model.alerts.map { alert -> HTML in
            let tone =
                alert.state == .firing
                ? (alert.severity == .critical ? "bad" : "warn")
                : alert.state == .pending ? "info" : "ok"
            let acknowledged = alert.acknowledgedBy.map { by -> HTML in
                "<p class=\"muted\">Acknowledged by \(by): \(alert.acknowledgementComment ?? "")</p>"
            }
            return """
                <li class="card" data-row="a\(alert.id)-\(alert.state.rawValue)"><p>\
                <span class="badge \(tone)">\(alert.state.rawValue)</span>
                <strong>\(alert.ruleName)</strong>\(Display.part(" · ", alert.channel)) · \(alert.severity.rawValue)\
                \(alert.silenced ? " · silenced" : "")</p>
                <p>\(alert.summary)</p>
                \(acknowledged)
                <div class="actions">\(model.mayManage ? actions(alert) : [])</div></li>
                """
        }
        return "<ul class=\"timeline\" id=\"alerts\">\(items)</ul>"
    }

    /// The forms of an alert's inbox entry: acknowledge (until it is), silence, resolve.
    private static func actions(_ alert: Alert) -> [HTML] {
        var actions: [HTML] = []
        if alert.state != .acknowledged {
            actions.append(
                """
                <form method="post" action="/dashboard/alerts/\(alert.id)/acknowledge">
                <label class="visually-hidden" for="ack-\(alert.id)">Comment</label>
                <input id="ack-\(alert.id)" name="comment" placeholder="What you are doing about it" \
                required maxlength="500">
                <button type="submit" class="primary">Acknowledge</button></form>
                """)
        }
        actions.append(
            """
            <form method="post" action="/dashboard/alerts/\(alert.id)/silence">\
            <select name="hours" aria-label="Silence for">
            <option value="1">1 hour</option><option value="4">4 hours</option>\
            <option value="24">24 hours</option></select>
            <button type="submit">Silence</button></form>
            <form method="post" action="/dashboard/alerts/\(alert.id)/resolve" data-confirm="Resolve this alert now?">\
            <button type="submit">Resolve</button></form>
            """)
        return actions
    }
}
