import Foundation
import OrderFlowDomain

/// The order trace as HTML: functions of `TraceModel`, no I/O.
enum TraceView {
    /// The search form, and what it found: nothing, a list to choose from, or the live timeline.
    static func page(_ search: TraceModel.Search, notice: HTML, sections: RenderedSections) -> HTML {
        let form: HTML = """
            <form class="filters card" method="get" action="/dashboard/trace" role="search">
            <div><label for="q">Order ID (all or part of it, any spelling)</label>
            <input id="q" name="q" value="\(search.query)" size="30" maxlength="64" required></div>
            <button type="submit" class="primary">Find</button></form>
            """
        let results: HTML
        if search.query.isEmpty {
            results = .empty
        } else if search.found.isEmpty {
            results = "<p class=\"card\" id=\"trace-none\">No order you may see matches “\(search.query)”.</p>"
        } else if search.traced == nil {
            let candidates = search.found.map { id -> HTML in
                "<li><a href=\"/dashboard/trace?q=\(id.rawValue.formURLEncoded)\">\(id.rawValue)</a></li>"
            }
            results = """
                <div class="card"><h2>\(search.found.count) orders match</h2>\
                <ul id="trace-candidates">\(candidates)</ul></div>
                """
        } else {
            results = Layout.live(
                "timeline", topics: "order,transmission", label: "Order timeline", sections["timeline"])
        }
        return "\(notice)\(form)\(results)"
    }

    static func timeline(_ model: TraceModel.Timeline) -> HTML {
        let trace = model.trace
        let order = trace.order.order
        let events = trace.events.map { event -> HTML in
            """
            <li data-row="e\(event.eventID)"><strong>\(Display.time(event.createdAt))</strong> \(event.type) \
            <span class="muted">\(event.eventID)</span></li>
            """
        }
        let transmissions = trace.transmissions.map { transmission(of: $0, mayReplay: model.mayReplay) }
        let acknowledgements = trace.acknowledgements.map { record -> HTML in
            let ack = record.acknowledgement
            let method = record.method?.rawValue.replacingOccurrences(of: "_", with: " ")
            let confidence = record.confidence.map { String(format: " (confidence %.2f)", $0) }
            return """
                <li data-row="k\(record.id)"><strong>\(Display.time(record.receivedAt))</strong> \(ack.channel) \
                says \(ack.status.rawValue) for “\(ack.reference)” → \
                \(record.outcome.rawValue)\(Display.part(" by ", method))\
                \(confidence)\(Display.part(" · ", record.detail))</li>
                """
        }
        let sent: HTML = transmissions.isEmpty ? "<p class=\"muted\">No transmissions yet.</p>" : transmissions.joined()
        let answered: HTML =
            acknowledgements.isEmpty
            ? "<p class=\"muted\">None received.</p>"
            : "<ol class=\"timeline\">\(acknowledgements)</ol>"
        return """
            <div class="card" id="trace"><h2>\(order.id.rawValue) \(Display.orderBadge(order.status))</h2>
            <dl class="facts"><dt>Store</dt><dd>\(order.shipFromLocationID.rawValue)</dd>\
            <dt>Customer</dt><dd>\(order.customer.name)</dd>
            <dt>Type</dt><dd>\(order.orderType.rawValue) · \(order.channel.rawValue)</dd>\
            <dt>Payment</dt><dd>\(order.paymentMethod.rawValue) · \(order.paymentStatus.rawValue)</dd>
            <dt>Total</dt><dd>\(Display.money(order.totals.totalCharge))</dd></dl>
            <p><a href="/dashboard/orders/\(order.id.rawValue.formURLEncoded)">Order detail</a></p></div>
            <div class="grid">
            <div class="card"><h2>Status history</h2>\(Display.history(trace.order.history))</div>
            <div class="card"><h2>Events</h2><ol class="timeline">\(events)</ol></div>
            </div>
            <h2>Transmissions</h2>
            \(sent)
            <div class="card"><h2>Acknowledgements</h2>\(answered)</div>
            """
    }

    /// A transmission's card: every attempt, and the replay button when it failed and the caller may.
    private static func transmission(of history: TransmissionHistory, mayReplay: Bool) -> HTML {
        let t = history.transmission
        let attempts = history.attempts.map { attempt -> HTML in
            """
            <tr><td>\(attempt.attempt)</td><td>\(Display.time(attempt.startedAt))</td>\
            <td>\(Display.duration(milliseconds: Double(attempt.durationMicroseconds) / 1_000))</td>
            <td>\(attempt.httpStatus.map(String.init) ?? "–")</td><td>\(attempt.error.map { String($0.prefix(160)) })\
            \(attempt.responseExcerpt.map { "<pre>\(String($0.prefix(300)))</pre>" as HTML })</td></tr>
            """
        }
        let replay: HTML =
            mayReplay && t.classification == .failed
            ? """
            <form method="post" action="/dashboard/transmissions/\(t.id)/replay" \
            data-confirm="Send this event to \(t.channel) again?">
            <button type="submit" class="danger">Replay</button></form>
            """
            : .empty
        let table: HTML =
            attempts.isEmpty
            ? "<p class=\"muted\">Not sent yet.</p>"
            : """
            <div class="scroll"><table><thead><tr><th scope="col">Attempt</th><th scope="col">At</th>\
            <th scope="col">Took</th><th scope="col">HTTP</th>\
            <th scope="col">Error / response</th></tr></thead><tbody>\(attempts)</tbody></table></div>
            """
        return """
            <div class="card" data-row="t\(t.id)-\(t.classification.rawValue)-\(attempts.count)">\
            <h2>\(t.eventType) → \(t.channel) \(Display.statusBadge(t.classification))</h2>
            <p class="muted">transmission \(t.id) · created \(Display.time(t.createdAt)) · \
            acknowledge by \(Display.time(t.ackDeadline))\
            \(Display.part(" · acknowledged ", t.acknowledgedAt.map(Display.time)))</p>\(table)\
            <div class="actions">\(replay)</div></div>
            """
    }
}
