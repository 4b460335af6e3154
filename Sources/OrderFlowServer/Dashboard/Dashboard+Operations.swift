import Hummingbird
import OrderFlowDomain
import OrderFlowMonitor

extension Dashboard {
    /// Operations: "how are orders doing in the last 10 minutes?" — counters, success rate,
    /// throughput, channel tiles, the transmissions behind them, and the alert inbox.
    func operations(_ request: Request, context: AppRequestContext) async throws -> Response {
        let principal = try principal(context)
        let filters = try MonitorFilters(request)
        let channels = services.monitoring.channelNames
        return try await render(
            request, title: "Operations", view: .operations, principal: principal,
            sections: [
                (
                    "counters",
                    {
                        OperationsView.counters(
                            try await .load(filters, from: services, now: clock.now(), for: principal))
                    }
                ),
                (
                    "channels",
                    {
                        OperationsView.channels(try await .load(from: services, now: clock.now(), for: principal))
                    }
                ),
                (
                    "transmissions",
                    {
                        OperationsView.transmissions(
                            try await .load(filters, from: services, now: clock.now(), for: principal))
                    }
                ),
                ("alerts", { OperationsView.alerts(try await .load(from: services, for: principal)) }),
            ]
        ) { sections in
            OperationsView.page(filters: filters, channels: channels, notice: Self.notice(request), sections: sections)
        }
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
