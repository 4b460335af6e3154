import Foundation
import Hummingbird
import OrderFlowDomain
import OrderFlowEngine
import OrderFlowMonitor

extension Dashboard {
    /// Development: where failures come from (channel × error class), latency over time, the
    /// dead letters to inspect, correct and replay or discard, acknowledgements nobody could
    /// match, and the latest failed attempts with what the downstream answered.
    func development(_ request: Request, context: AppRequestContext) async throws -> Response {
        let principal = try principal(context)
        let filters = try MonitorFilters(request)
        let channels = services.monitoring.channelNames
        return try await render(
            request, title: "Development", view: .development, principal: principal,
            sections: [
                (
                    "failures",
                    {
                        DevelopmentView.failures(
                            try await .load(filters, from: services, now: clock.now(), for: principal))
                    }
                ),
                (
                    "latency",
                    {
                        DevelopmentView.latency(
                            try await .load(filters, from: services, now: clock.now(), for: principal))
                    }
                ),
                ("dead-letters", { DevelopmentView.deadLetters(try await .load(from: services, for: principal)) }),
                ("unmatched", { DevelopmentView.unmatched(try await .load(from: services, for: principal)) }),
            ]
        ) { sections in
            DevelopmentView.page(filters: filters, channels: channels, notice: Self.notice(request), sections: sections)
        }
    }

    // MARK: Actions (the services the API calls: same checks, same audit)

    func replayDeadLetter(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try context.parameters.require("deadLetterId", as: Int64.self)
        return try await act(request, context, fallback: DashboardView.development.path) { form, caller in
            let letter = try await services.deadLetters.letter(id, for: caller.principal)
            let payload = form["payload"].map { $0.replacingOccurrences(of: "\r\n", with: "\n") }
            let corrected = payload.flatMap { $0 == letter.payload || $0.isEmpty ? nil : $0 }
            let note =
                corrected == nil
                ? "replayed from the dashboard"
                : "replayed with a correction from the dashboard"
            _ = try await services.deadLetters.replay(id, correctedPayload: corrected, note: note, by: caller)
            return "Dead letter \(id) replayed\(corrected == nil ? "" : " with the corrected payload")."
        }
    }

    func discardDeadLetter(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try context.parameters.require("deadLetterId", as: Int64.self)
        return try await act(request, context, fallback: DashboardView.development.path) { form, caller in
            _ = try await services.deadLetters.discard(id, note: form["note"], by: caller)
            return "Dead letter \(id) discarded."
        }
    }

    func linkAcknowledgement(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try context.parameters.require("ackId", as: Int64.self)
        return try await act(request, context, fallback: DashboardView.development.path) { form, caller in
            guard let transmission = form["transmissionId"].flatMap(Int64.init) else {
                throw APIError.invalid("transmissionId", rule: "format", "a transmission ID (a number)")
            }
            _ = try await services.monitoring.link(id, to: transmission, note: nil, by: caller)
            return "Acknowledgement \(id) linked to transmission \(transmission)."
        }
    }
}
