import OrderFlowDomain
import OrderFlowEngine

/// The invoice page as HTML: functions of `InvoicesModel`'s sections, no I/O.
enum InvoicesView {
    /// The page around its sections (rendered, by name).
    static func page(notice: HTML, sections: RenderedSections) -> HTML {
        let control = Layout.live(
            "control", topics: "invoice", types: "invoice.state", label: "Invoice stream control", sections["control"])
        let cards = Layout.live(
            "cards", topics: "invoice", types: "invoice.state", label: "Invoice totals", sections["cards"])
        let grid = Layout.live("grid", topics: "", label: "Invoices", sections["grid"])
        return """
            \(notice)
            \(control)
            \(cards)
            <div class="card"><h2>Invoices, newest first</h2>\(grid)</div>
            """
    }

    static func control(_ model: InvoicesModel.Control) -> HTML {
        let status = model.status
        let tone =
            switch status.state {
            case .idle: "info"
            case .running: "ok"
            case .stopping, .processingBacklog: "warn"
            }
        let startable: HTML = status.state == .idle ? "" : " disabled"
        let stoppable: HTML = status.state == .running ? "" : " disabled"
        let buttons: HTML =
            model.mayControl
            ? """
            <form method="post" action="/dashboard/invoices/start">\
            <button type="submit" class="primary" id="invoice-start"\(startable)>START</button></form>
            <form method="post" action="/dashboard/invoices/stop">\
            <button type="submit" class="danger" id="invoice-stop"\(stoppable)>STOP</button></form>
            """ : "<p class=\"muted\">You may watch the stream; starting and stopping it needs invoices.control.</p>"
        let progress: HTML =
            status.cycle == 0
            ? "No cycle yet."
            : """
            Cycle \(status.cycle): <strong id="inv-produced">\(Display.grouped(Int64(status.produced)))</strong> \
            of \(Display.grouped(Int64(model.perCycle))) made\
            \(Display.part(", started ", status.cycleStartedAt.map(Display.time)))\
            \(Display.part(", stopped ", status.stoppedAt.map(Display.time))) UTC.
            """
        let backlogHidden: HTML = status.backlog == 0 && status.state != .processingBacklog ? " hidden" : ""
        return """
            <div class="card control-panel"><div class="actions">\(buttons)
            <p class="state"><span class="badge \(tone)" id="invoice-state" data-state="\(status.state.rawValue)">\
            \(status.state.name)</span></p></div>
            <p>\(progress) <span id="invoice-backlog-line"\(backlogHidden)>\
            <strong id="inv-backlog">\(status.backlog)</strong> still to show.</span></p></div>
            """
    }

    static func cards(_ model: InvoicesModel.Cards) -> HTML {
        func card(_ label: String, _ value: String, id: String) -> HTML {
            """
            <div class="counter info"><span class="muted">\(label)</span>\
            <span class="n" id="\(id)">\(value)</span></div>
            """
        }
        let stats = model.stats
        return """
            <div class="counters four">
            \(card("Invoices", Display.grouped(stats.count), id: "inv-count"))
            \(card("Total amount", Display.cents(stats.totalCents), id: "inv-total"))
            \(card("Total VAT", Display.cents(stats.vatCents), id: "inv-vat"))
            \(card("Average invoice", stats.averageCents.map(Display.cents) ?? "–", id: "inv-average"))
            </div>
            """
    }

    /// The grid with its first rows; older rows are fetched as the grid is scrolled (`rows`).
    static func grid(_ model: InvoicesModel.Rows) -> HTML {
        """
        <div class="scroll invoice-scroll" id="invoice-scroll" tabindex="0" \
        aria-label="Invoices, scroll for older ones">
        <table id="invoice-grid"><thead><tr><th scope="col">Invoice</th><th scope="col">Date (UTC)</th>\
        <th scope="col">Seller</th><th scope="col">Buyer</th>
        <th scope="col" class="num">Subtotal</th><th scope="col" class="num">VAT 15 %</th>\
        <th scope="col" class="num">Total</th></tr></thead>
        <tbody>\(rows(model))</tbody></table></div>
        <button type="button" class="jump" id="invoice-jump" hidden>↑ Newest</button>
        """
    }

    static func rows(_ model: InvoicesModel.Rows) -> HTML {
        model.invoices.map { invoice -> HTML in
            """
            <tr data-row="i\(invoice.id)"><td>\(invoice.number)</td>\
            <td>\(Display.moment(invoice.issuedAt, now: model.now))</td>\
            <td>\(invoice.seller)</td><td>\(invoice.buyer)</td>
            <td class="num">\(Display.cents(invoice.amounts.subtotalCents))</td>\
            <td class="num">\(Display.cents(invoice.amounts.vatCents))</td>
            <td class="num">\(Display.cents(invoice.amounts.totalCents))</td></tr>
            """
        }.joined()
    }
}
