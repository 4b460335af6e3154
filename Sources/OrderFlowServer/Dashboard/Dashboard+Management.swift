import Foundation
import Hummingbird
import OrderFlowDomain
import OrderFlowEngine
import OrderFlowMonitor

extension Dashboard {
    /// Management: KPIs for a period (volume, value, success rate, delayed share, latency, orders
    /// by status), trends by hour, by day and by channel, the top items, the CSV export, and a
    /// daily summary to print.
    func management(_ request: Request, context: AppRequestContext) async throws -> Response {
        let principal = try principal(context)
        let query = request.queryForm
        let days = query["days"].flatMap { Int($0) } ?? 1
        guard [1, 7, 30].contains(days) else { throw APIError.invalid("days", rule: "enum", "1, 7 or 30") }
        let mayExport = principal.may(.reportsExport)
        return try await render(request, title: "Management", view: .management, principal: principal, sections: [
            ("kpis", { try await kpis(days: days, for: principal) }),
            ("trends", { try await trends(days: days, for: principal) }),
            ("items", { try await topItems(days: days, for: principal) }),
        ]) { parts in
            let periods = [(1, "Last 24 hours"), (7, "Last 7 days"), (30, "Last 30 days")].map { value, label -> HTML in
                value == days ? "<a class=\"button\" aria-current=\"page\" href=\"?days=\(value)\"><strong>\(label)</strong></a>" : "<a class=\"button\" href=\"?days=\(value)\">\(label)</a>"
            }
            let export: HTML = mayExport
                ? "<a class=\"button\" href=\"/api/v1/exports/orders.csv?minutes=\(days * 1_440)\" download>Orders as CSV</a><a class=\"button\" href=\"/api/v1/exports/transmissions.csv?minutes=\(days * 1_440)\" download>Transmissions as CSV</a>"
                : .empty
            return """
                <div class="actions card">\(periods)\(export)<button type="button" data-print>Print summary</button></div>
                <p class="muted print-only">Summary printed \(Display.time(clock.now())) UTC for the \(days == 1 ? "last 24 hours" : "last \(days) days").</p>
                \(Layout.live("kpis", topics: "order,transmission", label: "Key figures", parts["kpis"]))
                \(Layout.live("trends", topics: "order", label: "Trends", parts["trends"]))
                <div class="card"><h2>Top items</h2>\(Layout.live("items", topics: "order", label: "Top items", parts["items"]))</div>
                """
        }
    }

    func kpis(days: Int, for principal: Principal) async throws -> HTML {
        let now = clock.now()
        let from = now.adding(seconds: -Double(days) * 86_400)
        let volume = try await services.orders.volume(from: from, to: now.adding(seconds: 0.000001), for: principal)
        let summary = try await services.monitoring.summary(TransmissionFilter(from: from, to: now.adding(seconds: 0.000001)), for: principal)
        let byStatus = OrderStatus.allCases.compactMap { status -> (label: String, value: Int)? in
            volume.byStatus[status].map { ("\(status.rawValue) \(status.name)", $0) }
        }
        return """
            <div class="counters">
            \(Display.counter("Orders", volume.count, "info", id: "kpi-orders"))
            <div class="counter info"><span class="muted">Order value</span><span class="n">\(Display.money(volume.value))</span></div>
            <div class="counter ok"><span class="muted">Delivered downstream on time</span><span class="n" id="kpi-success">\(Display.percent(summary.successRate))</span></div>
            <div class="counter warn"><span class="muted">Delayed</span><span class="n">\(Display.percent(summary.delayedRatio))</span></div>
            <div class="counter bad"><span class="muted">Failed</span><span class="n">\(Display.percent(summary.failedRatio))</span></div>
            <div class="counter"><span class="muted">Ack latency p95</span><span class="n">\(Display.duration(seconds: summary.latencyP95))</span></div>
            </div>
            <div class="card"><h2>Orders by status now</h2>\(Charts.ranking(byStatus, title: "Orders created in the period, by their status now"))</div>
            """
    }

    func trends(days: Int, for principal: Principal) async throws -> HTML {
        let now = clock.now()
        let end = now.adding(seconds: 0.000001)
        let hourly = try await services.orders.createdPerBucket(from: now.adding(seconds: -86_400), to: end, bucketSeconds: 3_600, for: principal)
        let daily = try await services.orders.createdPerBucket(
            from: now.adding(seconds: -Double(max(days, 7)) * 86_400), to: end, bucketSeconds: 86_400, for: principal)
        let summary = try await services.monitoring.summary(TransmissionFilter(from: now.adding(seconds: -Double(days) * 86_400), to: end), for: principal)
        let channels = summary.byChannel.sorted { $0.key < $1.key }.map { channel, counts -> HTML in
            let ok = (counts[.success] ?? 0) + (counts[.successLate] ?? 0)
            let total = counts.values.reduce(0, +)
            return """
                <tr><td>\(channel)</td><td>\(total)</td><td>\(Display.percent(total > 0 ? Double(ok) / Double(total) : nil))</td>
                <td>\(counts[.delayed] ?? 0)</td><td>\(counts[.failed] ?? 0)</td></tr>
                """
        }
        func label(_ time: Timestamp, _ length: Int) -> String { String(Display.time(time).prefix(length)) }
        return """
            <div class="grid">
            <div class="card"><h2>Orders per hour, last 24 hours</h2>\(Charts.stackedBars(hourly.map { [$0.count] }, classes: ["bar-info"],
                labels: hourly.first.map { (label($0.start, 16), label(hourly.last!.start, 16)) }, title: "Orders created per hour"))</div>
            <div class="card"><h2>Orders per day</h2>\(Charts.stackedBars(daily.map { [$0.count] }, classes: ["bar-info"],
                labels: daily.first.map { (label($0.start, 10), label(daily.last!.start, 10)) }, title: "Orders created per day"))</div>
            </div>
            <div class="card"><h2>By channel</h2>\(channels.isEmpty ? "<p class=\"muted\">No transmissions in the period.</p>" as HTML : """
                <div class="scroll"><table><thead><tr><th scope="col">Channel</th><th scope="col">Transmissions</th><th scope="col">On time</th>
                <th scope="col">Delayed</th><th scope="col">Failed</th></tr></thead><tbody>\(channels)</tbody></table></div>
                """)</div>
            """
    }

    func topItems(days: Int, for principal: Principal) async throws -> HTML {
        let now = clock.now()
        let items = try await services.orders.topItems(
            from: now.adding(seconds: -Double(days) * 86_400), to: now.adding(seconds: 0.000001), limit: 10, for: principal)
        return Charts.ranking(items.map { (label: $0.name ?? $0.sku, value: $0.units) }, title: "Units ordered per item")
    }
}
