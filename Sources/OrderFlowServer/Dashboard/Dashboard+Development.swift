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
        return try await render(request, title: "Development", view: .development, principal: principal, sections: [
            ("failures", { try await failureBreakdown(filters, for: principal) }),
            ("latency", { try await latencyOverTime(filters, for: principal) }),
            ("dead-letters", { try await deadLetterBrowser(principal) }),
            ("unmatched", { try await unmatchedAcknowledgements(principal) }),
        ]) { parts in
            """
            \(Self.notice(request))
            \(filters.form(action: DashboardView.development.path, channels: channels))
            <div class="grid">
            <div class="card"><h2>Failures by channel and error class</h2>\(Layout.live("failures", topics: "transmission", label: "Failures", parts["failures"]))</div>
            <div class="card"><h2>Acknowledgement latency over time</h2>\(Layout.live("latency", topics: "transmission", label: "Latency", parts["latency"]))</div>
            </div>
            <div class="card"><h2>Dead letters</h2>\(Layout.live("dead-letters", topics: "transmission", label: "Dead letters", parts["dead-letters"]))</div>
            <div class="card"><h2>Unmatched acknowledgements</h2>\(Layout.live("unmatched", topics: "transmission", label: "Unmatched acknowledgements", parts["unmatched"]))</div>
            """
        }
    }

    /// What kind of failure an attempt's outcome was, for grouping.
    static func errorClass(status: Int?, error: String?) -> String {
        if let status {
            return status >= 500 ? "HTTP 5xx (downstream error)" : status == 429 ? "HTTP 429 (throttled)" : status >= 400 ? "HTTP 4xx (refused)" : "HTTP \(status)"
        }
        let text = (error ?? "").lowercased()
        if text.contains("timeout") || text.contains("timed out") || text.contains("deadline") { return "timeout" }
        if text.contains("refused") || text.contains("connect") || text.contains("reset") { return "connection" }
        if text.contains("circuit") { return "circuit open" }
        return text.isEmpty ? "no answer" : "other"
    }

    func failureBreakdown(_ filters: MonitorFilters, for principal: Principal) async throws -> HTML {
        var filter = try filters.transmissionFilter(now: clock.now(), withStatus: false)
        filter.withErrorsOnly = true
        // Counted in the database by channel, status and error text; classed here.
        let (found, total) = try await services.monitoring.errorGroups(filter, for: principal)
        var groups: [String: Int] = [:]
        for group in found {
            groups["\(group.channel) · \(Self.errorClass(status: group.statusCode, error: group.error))", default: 0] += group.count
        }
        let recent = try await services.monitoring.transmissions(filter, beforeID: nil, limit: 10, for: principal).items.map { item -> HTML in
            let t = item.transmission
            return """
                <tr data-row="f\(t.id)-\(t.attempts)"><td><a href="/dashboard/trace?q=\(t.orderID.rawValue.formURLEncoded)">\(t.orderID.rawValue)</a></td><td>\(t.channel)</td>
                <td>\(Display.statusBadge(t.classification))</td><td>\(t.attempts)</td><td>\(t.lastStatusCode.map(String.init) ?? "–")</td>
                <td><pre>\(String((t.lastError ?? "").prefix(240)))</pre></td></tr>
                """
        }
        let ranking = groups.sorted { $0.value == $1.value ? $0.key < $1.key : $0.value > $1.value }.prefix(12).map { (label: $0.key, value: $0.value) }
        return """
            \(Charts.ranking(Array(ranking), barClass: "bar-bad", title: "Transmissions with errors, by channel and error class"))
            <p class="muted" id="errors-total">\(total) transmissions with errors in the window (failed, or still being retried).</p>
            \(recent.isEmpty ? HTML.empty : """
                <h2>Latest failed attempts</h2><div class="scroll"><table><thead><tr><th scope="col">Order</th><th scope="col">Channel</th><th scope="col">Status</th>
                <th scope="col">Attempts</th><th scope="col">HTTP</th><th scope="col">Error (truncated)</th></tr></thead><tbody>\(recent)</tbody></table></div>
                """)
            """
    }

    /// p50/p95/p99 of acknowledgement latency in twelve slices of the window.
    func latencyOverTime(_ filters: MonitorFilters, for principal: Principal) async throws -> HTML {
        let base = try filters.transmissionFilter(now: clock.now(), withStatus: false)
        let slices = 12
        let width = (base.to.microseconds - base.from.microseconds) / Int64(slices)
        let percentiles = try await services.monitoring.latencyPercentiles(base, slices: slices, at: [0.5, 0.95, 0.99], for: principal)
        func latest(_ index: Int) -> String {
            Display.duration(seconds: percentiles.last(where: { $0[index] != nil })?[index])
        }
        return """
            \(Charts.line(percentiles.map { $0[1].map { $0 * 1_000 } }, title: "Acknowledgement latency p95 per slice of the window", unit: "ms",
                          labels: (Display.time(base.from), Display.time(base.to))))
            <p class="muted" id="latency-latest">Latest slice: p50 \(latest(0)), p95 \(latest(1)), p99 \(latest(2)). \
            Slices of \(width >= 60_000_000 ? "\(width / 60_000_000) min" : "\(width / 1_000_000) s") from \(Display.time(base.from)) UTC.</p>
            """
    }

    func deadLetterBrowser(_ principal: Principal) async throws -> HTML {
        var query = DeadLetterQuery()
        query.state = .open
        query.limit = 20
        let letters = try await services.deadLetters.search(query, for: principal).letters
        guard !letters.isEmpty else { return "<p class=\"muted\" id=\"no-dead-letters\">No open dead letters.</p>" }
        let manage = principal.may(.deadLettersManage)
        let items = letters.map { letter -> HTML in
            let actions: HTML = manage ? """
                <form method="post" action="/dashboard/dead-letters/\(letter.id)/replay" class="stack">
                <label for="payload-\(letter.id)">Payload (correct it before replaying, or leave it)</label>
                <textarea id="payload-\(letter.id)" name="payload" rows="4">\(letter.payload)</textarea>
                <div class="actions"><button type="submit" class="primary">Replay</button></div></form>
                <form method="post" action="/dashboard/dead-letters/\(letter.id)/discard" data-confirm="Discard this dead letter for good?">
                <input name="note" placeholder="Why it can be dropped" maxlength="500" aria-label="Why it can be dropped"><button type="submit" class="danger">Discard</button></form>
                """ : "<pre>\(String(letter.payload.prefix(600)))</pre>"
            return """
                <details class="card" data-row="d\(letter.id)"><summary><strong>#\(letter.id)</strong> \(letter.kind) · \(letter.channel ?? letter.source.rawValue) · \
                \(letter.orderID.map { $0.rawValue } ?? "–") · \(letter.attempts) attempts · \(Display.time(letter.createdAt))</summary>
                <p class="error">\(String(letter.error.prefix(300)))</p>\(actions)</details>
                """
        }
        return items.joined()
    }

    func unmatchedAcknowledgements(_ principal: Principal) async throws -> HTML {
        let page = try await services.monitoring.inconsistencies(channel: nil, beforeID: nil, limit: 20, for: principal)
        guard !page.records.isEmpty else { return "<p class=\"muted\">Every acknowledgement was matched.</p>" }
        let link = principal.may(.acksLink)
        let rows = page.records.map { record -> HTML in
            let ack = record.acknowledgement
            return """
                <tr data-row="u\(record.id)"><td>\(Display.time(record.receivedAt))</td><td>\(ack.channel)</td><td>\(ack.reference)</td><td>\(ack.orderID ?? "–")</td>
                <td>\(ack.status.rawValue)</td><td>\(record.outcome.rawValue)\(Display.part(" · ", record.detail))</td>
                <td>\(link ? """
                    <form method="post" action="/dashboard/acks/\(record.id)/link" class="actions"><input name="transmissionId" inputmode="numeric" pattern="[0-9]+" required
                    aria-label="Transmission ID to link" placeholder="transmission ID" size="10"><button type="submit">Link</button></form>
                    """ : HTML.empty)</td></tr>
                """
        }
        return """
            <div class="scroll"><table><thead><tr><th scope="col">Received</th><th scope="col">Channel</th><th scope="col">Reference</th><th scope="col">Order</th>
            <th scope="col">Says</th><th scope="col">Outcome</th><th scope="col">Link by hand</th></tr></thead><tbody>\(rows)</tbody></table></div>
            """
    }

    // MARK: Actions (the services the API calls: same checks, same audit)

    func replayDeadLetter(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try context.parameters.require("deadLetterId", as: Int64.self)
        return try await act(request, context, fallback: DashboardView.development.path) { form, caller in
            let letter = try await services.deadLetters.letter(id, for: caller.principal)
            let payload = form["payload"].map { $0.replacingOccurrences(of: "\r\n", with: "\n") }
            let corrected = payload.flatMap { $0 == letter.payload || $0.isEmpty ? nil : $0 }
            let note = corrected == nil ? "replayed from the dashboard" : "replayed with a correction from the dashboard"
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
