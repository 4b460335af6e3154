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
            guard let before = query["before"].flatMap(Int64.init) else {
                throw APIError.invalid("before", rule: "format", "an invoice ID")
            }
            return InvoicesView.rows(try await .load(before: before, from: services, now: clock.now())).response()
        }
        return try await render(
            request, title: "Invoices", view: .invoices, principal: principal,
            sections: [
                ("control", { InvoicesView.control(try await .load(from: services, for: principal)) }),
                ("cards", { InvoicesView.cards(try await .load(from: services)) }),
                ("grid", { InvoicesView.grid(try await .load(before: nil, from: services, now: clock.now())) }),
            ]
        ) { sections in
            InvoicesView.page(notice: Self.notice(request), sections: sections)
        }
    }

    func startInvoices(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await act(request, context, fallback: DashboardView.invoices.path) { _, caller in
            _ = try await services.invoices.start(by: caller)
            let pace = services.invoices.pace
            let count = Display.grouped(Int64(pace.perCycle))
            return "Started: \(count) invoices, one every \(pace.productionInterval / 1_000) ms."
        }
    }

    func stopInvoices(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await act(request, context, fallback: DashboardView.invoices.path) { _, caller in
            _ = try await services.invoices.stop(by: caller)
            return "Stopped: no more invoices are made; those made are still being shown."
        }
    }
}
