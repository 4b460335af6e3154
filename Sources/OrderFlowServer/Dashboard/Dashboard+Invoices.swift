import Foundation
import Hummingbird
import OrderFlowDomain
import OrderFlowEngine

extension Dashboard {
    /// The live invoice stream (seed 003 §6.1): the control panel with START and STOP and the state,
    /// the four cards, and the grid of invoices shown so far, newest on top. Rows arrive with their
    /// `invoice.shown` events (at most 2 a second) and the cards move with each `invoice.produced`;
    /// older rows load as the grid is scrolled down.
    func invoicePage(_ request: Request, context: AppRequestContext) async throws -> Response {
        let principal = try principal(context)
        let query = request.queryForm
        if query["fragment"] == "older" {
            guard let before = query["before"].flatMap(Int64.init) else { throw APIError.invalid("before", rule: "format", "an invoice ID") }
            return try await invoiceRows(before: before).response()
        }
        let control = principal.may(.invoicesControl)
        return try await render(request, title: "Invoices", view: .invoices, principal: principal, sections: [
            ("control", { try await invoiceControl(mayControl: control) }),
            ("cards", { invoiceCards(try await services.invoices.stats()) }),
            ("grid", { try await invoiceGrid() }),
        ]) { parts in
            """
            \(Self.notice(request))
            \(Layout.live("control", topics: "invoice", types: "invoice.state", label: "Invoice stream control", parts["control"]))
            \(Layout.live("cards", topics: "invoice", types: "invoice.state", label: "Invoice totals", parts["cards"]))
            <div class="card"><h2>Invoices, newest first</h2>\(Layout.live("grid", topics: "", label: "Invoices", parts["grid"]))</div>
            """
        }
    }

    func invoiceControl(mayControl: Bool) async throws -> HTML {
        let status = try await services.invoices.status()
        let tone = switch status.state {
        case .idle: "info"
        case .running: "ok"
        case .stopping, .processingBacklog: "warn"
        }
        let buttons: HTML = mayControl ? """
            <form method="post" action="/dashboard/invoices/start"><button type="submit" class="primary" id="invoice-start"\(status.state == .idle ? "" : " disabled" as HTML)>START</button></form>
            <form method="post" action="/dashboard/invoices/stop"><button type="submit" class="danger" id="invoice-stop"\(status.state == .running ? "" : " disabled" as HTML)>STOP</button></form>
            """ : "<p class=\"muted\">You may watch the stream; starting and stopping it needs invoices.control.</p>"
        let progress: HTML = status.cycle == 0 ? "No cycle yet." : """
            Cycle \(status.cycle): <strong id="inv-produced">\(Display.grouped(Int64(status.produced)))</strong> of \(Display.grouped(Int64(services.invoices.pace.perCycle))) made\(Display.part(", started ", status.cycleStartedAt.map(Display.time)))\(Display.part(", stopped ", status.stoppedAt.map(Display.time))) UTC.
            """
        return """
            <div class="card control-panel"><div class="actions">\(buttons)
            <p class="state"><span class="badge \(tone)" id="invoice-state" data-state="\(status.state.rawValue)">\(status.state.name)</span></p></div>
            <p>\(progress) <span id="invoice-backlog-line"\(status.backlog == 0 && status.state != .processingBacklog ? " hidden" : "" as HTML)><strong id="inv-backlog">\(status.backlog)</strong> still to show.</span></p></div>
            """
    }

    func invoiceCards(_ stats: InvoiceStats) -> HTML {
        func card(_ label: String, _ value: String, id: String) -> HTML {
            "<div class=\"counter info\"><span class=\"muted\">\(label)</span><span class=\"n\" id=\"\(id)\">\(value)</span></div>"
        }
        return """
            <div class="counters four">
            \(card("Invoices", Display.grouped(stats.count), id: "inv-count"))
            \(card("Total amount", Display.cents(stats.totalCents), id: "inv-total"))
            \(card("Total VAT", Display.cents(stats.vatCents), id: "inv-vat"))
            \(card("Average invoice", stats.averageCents.map(Display.cents) ?? "–", id: "inv-average"))
            </div>
            """
    }

    func invoiceGrid() async throws -> HTML {
        """
        <div class="scroll invoice-scroll" id="invoice-scroll" tabindex="0" aria-label="Invoices, scroll for older ones">
        <table id="invoice-grid"><thead><tr><th scope="col">Invoice</th><th scope="col">Date (UTC)</th><th scope="col">Seller</th><th scope="col">Buyer</th>
        <th scope="col" class="num">Subtotal</th><th scope="col" class="num">VAT 15 %</th><th scope="col" class="num">Total</th></tr></thead>
        <tbody>\(try await invoiceRows(before: nil))</tbody></table></div>
        <button type="button" class="jump" id="invoice-jump" hidden>↑ Newest</button>
        """
    }

    /// Rows of invoices already shown, newest first: the first page, or the page before `before`.
    func invoiceRows(before: Int64?) async throws -> HTML {
        let now = clock.now()
        let invoices = try await services.invoices.invoices(before: before, limit: 50, shownOnly: true)
        return invoices.map { invoice -> HTML in
            """
            <tr data-row="i\(invoice.id)"><td>\(invoice.number)</td><td>\(Display.moment(invoice.issuedAt, now: now))</td><td>\(invoice.seller)</td><td>\(invoice.buyer)</td>
            <td class="num">\(Display.cents(invoice.amounts.subtotalCents))</td><td class="num">\(Display.cents(invoice.amounts.vatCents))</td>
            <td class="num">\(Display.cents(invoice.amounts.totalCents))</td></tr>
            """
        }.joined()
    }

    func startInvoices(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await act(request, context, fallback: DashboardView.invoices.path) { _, caller in
            _ = try await services.invoices.start(by: caller)
            let pace = services.invoices.pace
            return "Started: \(Display.grouped(Int64(pace.perCycle))) invoices, one every \(pace.productionInterval / 1_000) ms."
        }
    }

    func stopInvoices(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await act(request, context, fallback: DashboardView.invoices.path) { _, caller in
            _ = try await services.invoices.stop(by: caller)
            return "Stopped: no more invoices are made; those made are still being shown."
        }
    }
}
