import Foundation
import Hummingbird
import OrderFlowDomain
import OrderFlowEngine

extension Dashboard {
    /// Order trace: find an order by its ID — exact, partial, or written the way another system
    /// writes it back (`ord 20261122 0001`) — and see its whole way: status history, events,
    /// every transmission attempt, the acknowledgements and how each was matched.
    func trace(_ request: Request, context: AppRequestContext) async throws -> Response {
        let principal = try principal(context)
        let query = request.queryForm["q"]?.trimmingCharacters(in: .whitespaces) ?? ""
        guard query.count <= 64 else { throw APIError.invalid("q", rule: "length", "at most 64 characters") }
        let search = try await TraceModel.Search.load(query, from: services, for: principal)
        var sections: [(name: String, render: () async throws -> HTML)] = []
        if let traced = search.traced {
            sections.append(
                (
                    "timeline",
                    {
                        TraceView.timeline(try await .load(traced, from: services, for: principal))
                    }
                ))
        }
        return try await render(request, title: "Order trace", view: .trace, principal: principal, sections: sections) {
            TraceView.page(search, notice: Self.notice(request), sections: $0)
        }
    }

    /// Replays a failed transmission through its dead letter (audited like the API's replay).
    func replayTransmission(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try context.parameters.require("transmissionId", as: Int64.self)
        return try await act(request, context, fallback: DashboardView.trace.path) { _, caller in
            guard let letter = try await services.deadLetters.open(forTransmission: id, for: caller.principal) else {
                throw APIError(
                    .conflict, code: "not_replayable",
                    message: "transmission \(id) has no open dead letter: it is not failed, or was replayed already")
            }
            _ = try await services.deadLetters.replay(
                letter.id, correctedPayload: nil, note: "replayed from the order trace", by: caller)
            return "Transmission \(id) queued again."
        }
    }
}
