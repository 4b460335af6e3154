import Hummingbird
import OrderFlowDomain

extension Dashboard {
    /// Management: KPIs for a period (volume, value, success rate, delayed share, latency, orders
    /// by status), trends by hour, by day and by channel, the top items, the CSV export, and a
    /// daily summary to print.
    func management(_ request: Request, context: AppRequestContext) async throws -> Response {
        let principal = try principal(context)
        let days = request.queryForm["days"].flatMap { Int($0) } ?? 1
        guard [1, 7, 30].contains(days) else { throw APIError.invalid("days", rule: "enum", "1, 7 or 30") }
        return try await render(
            request, title: "Management", view: .management, principal: principal,
            sections: [
                (
                    "kpis",
                    {
                        ManagementView.kpis(
                            try await .load(days: days, from: services, now: clock.now(), for: principal))
                    }
                ),
                (
                    "trends",
                    {
                        ManagementView.trends(
                            try await .load(days: days, from: services, now: clock.now(), for: principal))
                    }
                ),
                (
                    "items",
                    {
                        ManagementView.topItems(
                            try await .load(days: days, from: services, now: clock.now(), for: principal))
                    }
                ),
            ]
        ) { sections in
            ManagementView.page(
                days: days, mayExport: principal.may(.reportsExport), printedAt: clock.now(), sections: sections)
        }
    }
}
