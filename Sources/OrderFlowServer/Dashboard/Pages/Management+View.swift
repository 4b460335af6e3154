import OrderFlowDomain

/// The management page as HTML: functions of `ManagementModel`'s sections and the period, no I/O.
enum ManagementView {
    /// The period's buttons, the exports when the caller may have them, and the sections.
    static func page(days: Int, mayExport: Bool, printedAt: Timestamp, sections: RenderedSections) -> HTML {
        let periods = [(1, "Last 24 hours"), (7, "Last 7 days"), (30, "Last 30 days")].map { value, label -> HTML in
            value == days
                ? "<a class=\"button\" aria-current=\"page\" href=\"?days=\(value)\"><strong>\(label)</strong></a>"
                : "<a class=\"button\" href=\"?days=\(value)\">\(label)</a>"
        }
        let minutes = days * 1_440
        let export: HTML =
            mayExport
            ? """
            <a class="button" href="/api/v1/exports/orders.csv?minutes=\(minutes)" download>Orders as CSV</a>\
            <a class="button" href="/api/v1/exports/transmissions.csv?minutes=\(minutes)" download>\
            Transmissions as CSV</a>
            """
            : .empty
        let period = days == 1 ? "last 24 hours" : "last \(days) days"
        let items = Layout.live("items", topics: "order", label: "Top items", sections["items"])
        return """
            <div class="actions card">\(periods)\(export)<button type="button" data-print>Print summary</button></div>
            <p class="muted print-only">Summary printed \(Display.time(printedAt)) UTC for the \(period).</p>
            \(Layout.live("kpis", topics: "order,transmission", label: "Key figures", sections["kpis"]))
            \(Layout.live("trends", topics: "order", label: "Trends", sections["trends"]))
            <div class="card"><h2>Top items</h2>\(items)</div>
            """
    }

    static func kpis(_ model: ManagementModel.KPIs) -> HTML {
        let summary = model.summary
        let byStatus = OrderStatus.allCases.compactMap { status -> (label: String, value: Int)? in
            model.volume.byStatus[status].map { ("\(status.rawValue) \(status.name)", $0) }
        }
        return """
            <div class="counters">
            \(Display.counter("Orders", model.volume.count, "info", id: "kpi-orders"))
            <div class="counter info"><span class="muted">Order value</span>\
            <span class="n">\(Display.money(model.volume.value))</span></div>
            <div class="counter ok"><span class="muted">Delivered downstream on time</span>\
            <span class="n" id="kpi-success">\(Display.percent(summary.successRate))</span></div>
            <div class="counter warn"><span class="muted">Delayed</span>\
            <span class="n">\(Display.percent(summary.delayedRatio))</span></div>
            <div class="counter bad"><span class="muted">Failed</span>\
            <span class="n">\(Display.percent(summary.failedRatio))</span></div>
            <div class="counter"><span class="muted">Ack latency p95</span>\
            <span class="n">\(Display.duration(seconds: summary.latencyP95))</span></div>
            </div>
            <div class="card"><h2>Orders by status now</h2>\
            \(Charts.ranking(byStatus, title: "Orders created in the period, by their status now"))</div>
            """
    }

    static func trends(_ model: ManagementModel.Trends) -> HTML {
        let channels = model.byChannel.sorted { $0.key < $1.key }.map { channel, counts -> HTML in
            let ok = (counts[.success] ?? 0) + (counts[.successLate] ?? 0)
            let total = counts.values.reduce(0, +)
            let onTime = Display.percent(total > 0 ? Double(ok) / Double(total) : nil)
            return """
                <tr><td>\(channel)</td><td>\(total)</td><td>\(onTime)</td>
                <td>\(counts[.delayed] ?? 0)</td><td>\(counts[.failed] ?? 0)</td></tr>
                """
        }
        func label(_ time: Timestamp, _ length: Int) -> String { String(Display.time(time).prefix(length)) }
        let hourly = Charts.stackedBars(
            model.hourly.map { [$0.count] }, classes: ["bar-info"],
            labels: model.hourly.first.map { (label($0.start, 16), label(model.hourly.last!.start, 16)) },
            title: "Orders created per hour")
        let daily = Charts.stackedBars(
            model.daily.map { [$0.count] }, classes: ["bar-info"],
            labels: model.daily.first.map { (label($0.start, 10), label(model.daily.last!.start, 10)) },
            title: "Orders created per day")
        let byChannel: HTML =
            channels.isEmpty
            ? "<p class=\"muted\">No transmissions in the period.</p>"
            : """
            <div class="scroll"><table><thead><tr><th scope="col">Channel</th><th scope="col">Transmissions</th>\
            <th scope="col">On time</th>
            <th scope="col">Delayed</th><th scope="col">Failed</th></tr></thead><tbody>\(channels)</tbody></table></div>
            """
        return """
            <div class="grid">
            <div class="card"><h2>Orders per hour, last 24 hours</h2>\(hourly)</div>
            <div class="card"><h2>Orders per day</h2>\(daily)</div>
            </div>
            <div class="card"><h2>By channel</h2>\(byChannel)</div>
            """
    }

    static func topItems(_ model: ManagementModel.TopItems) -> HTML {
        Charts.ranking(model.items.map { (label: $0.name ?? $0.sku, value: $0.units) }, title: "Units ordered per item")
    }
}
