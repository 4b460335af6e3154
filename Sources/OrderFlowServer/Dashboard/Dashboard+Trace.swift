import Foundation
import Hummingbird
import OrderFlowDomain
import OrderFlowEngine
import OrderFlowMonitor

extension Dashboard {
    /// Order trace: find an order by its ID — exact, partial, or written the way another system
    /// writes it back (`ord 20261122 0001`) — and see its whole way: status history, events,
    /// every transmission attempt, the acknowledgements and how each was matched.
    func trace(_ request: Request, context: AppRequestContext) async throws -> Response {
        let principal = try principal(context)
        let query = request.queryForm["q"]?.trimmingCharacters(in: .whitespaces) ?? ""
        guard query.count <= 64 else { throw APIError.invalid("q", rule: "length", "at most 64 characters") }
        let found = query.isEmpty ? [] : try await services.orders.find(reference: query, for: principal)
        let traced = found.count == 1 ? found[0] : nil
        var sections: [(name: String, render: () async throws -> HTML)] = []
        if let traced {
            sections.append(("timeline", { try await timeline(traced, principal: principal) }))
        }
        return try await render(request, title: "Order trace", view: .trace, principal: principal, sections: sections) { parts in
            let search: HTML = """
                <form class="filters card" method="get" action="/dashboard/trace" role="search">
                <div><label for="q">Order ID (all or part of it, any spelling)</label>
                <input id="q" name="q" value="\(query)" size="30" maxlength="64" required></div>
                <button type="submit" class="primary">Find</button></form>
                """
            let results: HTML
            if query.isEmpty {
                results = .empty
            } else if found.isEmpty {
                results = "<p class=\"card\" id=\"trace-none\">No order you may see matches “\(query)”.</p>"
            } else if traced == nil {
                results = """
                    <div class="card"><h2>\(found.count) orders match</h2><ul id="trace-candidates">\(found.map { id in
                        "<li><a href=\"/dashboard/trace?q=\(id.rawValue.formURLEncoded)\">\(id.rawValue)</a></li>" as HTML })</ul></div>
                    """
            } else {
                results = Layout.live("timeline", topics: "order,transmission", label: "Order timeline", parts["timeline"])
            }
            return "\(Self.notice(request))\(search)\(results)"
        }
    }

    func timeline(_ id: OrderID, principal: Principal) async throws -> HTML {
        let trace = try await services.monitoring.trace(of: id, for: principal)
        let stored = trace.order
        let order = stored.order
        let events = trace.events.map { event -> HTML in
            "<li data-row=\"e\(event.eventID)\"><strong>\(Display.time(event.createdAt))</strong> \(event.type) <span class=\"muted\">\(event.eventID)</span></li>"
        }
        let replayable = principal.may(.deadLettersManage)
        var transmissions: [HTML] = []
        for history in trace.transmissions {
            let t = history.transmission
            let attempts = history.attempts.map { attempt -> HTML in
                """
                <tr><td>\(attempt.attempt)</td><td>\(Display.time(attempt.startedAt))</td><td>\(Display.duration(milliseconds: Double(attempt.durationMicroseconds) / 1_000))</td>
                <td>\(attempt.httpStatus.map(String.init) ?? "–")</td><td>\(attempt.error.map { String($0.prefix(160)) })\
                \(attempt.responseExcerpt.map { "<pre>\(String($0.prefix(300)))</pre>" as HTML })</td></tr>
                """
            }
            let replay: HTML = replayable && t.classification == .failed
                ? """
                  <form method="post" action="/dashboard/transmissions/\(t.id)/replay" data-confirm="Send this event to \(t.channel) again?">
                  <button type="submit" class="danger">Replay</button></form>
                  """
                : .empty
            let table: HTML = attempts.isEmpty ? "<p class=\"muted\">Not sent yet.</p>" : """
                <div class="scroll"><table><thead><tr><th scope="col">Attempt</th><th scope="col">At</th><th scope="col">Took</th><th scope="col">HTTP</th>\
                <th scope="col">Error / response</th></tr></thead><tbody>\(attempts)</tbody></table></div>
                """
            transmissions.append("""
                <div class="card" data-row="t\(t.id)-\(t.classification.rawValue)-\(attempts.count)"><h2>\(t.eventType) → \(t.channel) \(Display.statusBadge(t.classification))</h2>
                <p class="muted">transmission \(t.id) · created \(Display.time(t.createdAt)) · acknowledge by \(Display.time(t.ackDeadline))\
                \(Display.part(" · acknowledged ", t.acknowledgedAt.map(Display.time)))</p>\(table)<div class="actions">\(replay)</div></div>
                """)
        }
        let acknowledgements = trace.acknowledgements.map { record -> HTML in
            let ack = record.acknowledgement
            return """
                <li data-row="k\(record.id)"><strong>\(Display.time(record.receivedAt))</strong> \(ack.channel) says \(ack.status.rawValue) for “\(ack.reference)” → \
                \(record.outcome.rawValue)\(Display.part(" by ", record.method?.rawValue.replacingOccurrences(of: "_", with: " ")))\
                \(record.confidence.map { String(format: " (confidence %.2f)", $0) })\(Display.part(" · ", record.detail))</li>
                """
        }
        return """
            <div class="card" id="trace"><h2>\(order.id.rawValue) \(Display.orderBadge(order.status))</h2>
            <dl class="facts"><dt>Store</dt><dd>\(order.shipFromLocationID.rawValue)</dd><dt>Customer</dt><dd>\(order.customer.name)</dd>
            <dt>Type</dt><dd>\(order.orderType.rawValue) · \(order.channel.rawValue)</dd><dt>Payment</dt><dd>\(order.paymentMethod.rawValue) · \(order.paymentStatus.rawValue)</dd>
            <dt>Total</dt><dd>\(Display.money(order.totals.totalCharge))</dd></dl>
            <p><a href="/dashboard/orders/\(order.id.rawValue.formURLEncoded)">Order detail</a></p></div>
            <div class="grid">
            <div class="card"><h2>Status history</h2>\(Display.history(stored.history))</div>
            <div class="card"><h2>Events</h2><ol class="timeline">\(events)</ol></div>
            </div>
            <h2>Transmissions</h2>
            \(transmissions.isEmpty ? "<p class=\"muted\">No transmissions yet.</p>" as HTML : transmissions.joined())
            <div class="card"><h2>Acknowledgements</h2>\(acknowledgements.isEmpty ? "<p class=\"muted\">None received.</p>" as HTML : "<ol class=\"timeline\">\(acknowledgements)</ol>")</div>
            """
    }

    /// Replays a failed transmission through its dead letter (audited like the API's replay).
    func replayTransmission(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try context.parameters.require("transmissionId", as: Int64.self)
        return try await act(request, context, fallback: DashboardView.trace.path) { _, caller in
            guard let letter = try await services.deadLetters.open(forTransmission: id, for: caller.principal) else {
                throw APIError(.conflict, code: "not_replayable", message: "transmission \(id) has no open dead letter: it is not failed, or was replayed already")
            }
            _ = try await services.deadLetters.replay(letter.id, correctedPayload: nil, note: "replayed from the order trace", by: caller)
            return "Transmission \(id) queued again."
        }
    }
}
