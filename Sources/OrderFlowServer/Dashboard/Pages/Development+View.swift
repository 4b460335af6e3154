import Foundation
import OrderFlowDomain

/// The development page as HTML: functions of `DevelopmentModel`'s sections and the filters, no I/O.
enum DevelopmentView {
    /// The page around its sections (rendered, by name).
    static func page(filters: MonitorFilters, channels: [String], notice: HTML, sections: RenderedSections) -> HTML {
        let failures = Layout.live("failures", topics: "transmission", label: "Failures", sections["failures"])
        let latency = Layout.live("latency", topics: "transmission", label: "Latency", sections["latency"])
        let letters = Layout.live(
            "dead-letters", topics: "transmission", label: "Dead letters", sections["dead-letters"])
        let unmatched = Layout.live(
            "unmatched", topics: "transmission", label: "Unmatched acknowledgements", sections["unmatched"])
        return """
            \(notice)
            \(filters.form(action: DashboardView.development.path, channels: channels))
            <div class="grid">
            <div class="card"><h2>Failures by channel and error class</h2>\(failures)</div>
            <div class="card"><h2>Acknowledgement latency over time</h2>\(latency)</div>
            </div>
            <div class="card"><h2>Dead letters</h2>\(letters)</div>
            <div class="card"><h2>Unmatched acknowledgements</h2>\(unmatched)</div>
            """
    }

    static func failures(_ model: DevelopmentModel.Failures) -> HTML {
        let recent = model.recent.map { t -> HTML in
            """
            <tr data-row="f\(t.id)-\(t.attempts)"><td>\
            <a href="/dashboard/trace?q=\(t.orderID.rawValue.formURLEncoded)">\(t.orderID.rawValue)</a></td>\
            <td>\(t.channel)</td>
            <td>\(Display.statusBadge(t.classification))</td><td>\(t.attempts)</td>\
            <td>\(t.lastStatusCode.map(String.init) ?? "–")</td>
            <td><pre>\(String((t.lastError ?? "").prefix(240)))</pre></td></tr>
            """
        }
        let table: HTML =
            recent.isEmpty
            ? .empty
            : """
            <h2>Latest failed attempts</h2><div class="scroll"><table><thead><tr><th scope="col">Order</th>\
            <th scope="col">Channel</th><th scope="col">Status</th>
            <th scope="col">Attempts</th><th scope="col">HTTP</th><th scope="col">Error (truncated)</th></tr></thead>\
            <tbody>\(recent)</tbody></table></div>
            """
        let ranking = Charts.ranking(
            model.ranking, barClass: "bar-bad", title: "Transmissions with errors, by channel and error class")
        return """
            \(ranking)
            <p class="muted" id="errors-total">\(model.total) transmissions with errors in the window \
            (failed, or still being retried).</p>
            \(table)
            """
    }

    static func latency(_ model: DevelopmentModel.Latency) -> HTML {
        func latest(_ index: Int) -> String {
            Display.duration(seconds: model.percentiles.last(where: { $0[index] != nil })?[index])
        }
        let width = model.sliceMicroseconds
        let slice = width >= 60_000_000 ? "\(width / 60_000_000) min" : "\(width / 1_000_000) s"
        let chart = Charts.line(
            model.percentiles.map { $0[1].map { $0 * 1_000 } },
            title: "Acknowledgement latency p95 per slice of the window", unit: "ms",
            labels: (Display.time(model.from), Display.time(model.to)))
        return """
            \(chart)
            <p class="muted" id="latency-latest">Latest slice: p50 \(latest(0)), p95 \(latest(1)), p99 \(latest(2)). \
            Slices of \(slice) from \(Display.time(model.from)) UTC.</p>
            """
    }

    static func deadLetters(_ model: DevelopmentModel.DeadLetters) -> HTML {
        guard !model.letters.isEmpty else {
            return "<p class=\"muted\" id=\"no-dead-letters\">No open dead letters.</p>"
        }
        let items = model.letters.map { letter -> HTML in
            let actions: HTML =
                model.mayManage
                ? """
                <form method="post" action="/dashboard/dead-letters/\(letter.id)/replay" class="stack">
                <label for="payload-\(letter.id)">Payload (correct it before replaying, or leave it)</label>
                <textarea id="payload-\(letter.id)" name="payload" rows="4">\(letter.payload)</textarea>
                <div class="actions"><button type="submit" class="primary">Replay</button></div></form>
                <form method="post" action="/dashboard/dead-letters/\(letter.id)/discard" \
                data-confirm="Discard this dead letter for good?">
                <input name="note" placeholder="Why it can be dropped" maxlength="500" \
                aria-label="Why it can be dropped">\
                <button type="submit" class="danger">Discard</button></form>
                """ : "<pre>\(String(letter.payload.prefix(600)))</pre>"
            return """
                <details class="card" data-row="d\(letter.id)"><summary>\
                <strong>#\(letter.id)</strong> \(letter.kind) · \
                \(letter.channel ?? letter.source.rawValue) · \
                \(letter.orderID.map { $0.rawValue } ?? "–") · \(letter.attempts) attempts · \
                \(Display.time(letter.createdAt))</summary>
                <p class="error">\(String(letter.error.prefix(300)))</p>\(actions)</details>
                """
        }
        return items.joined()
    }

    static func unmatched(_ model: DevelopmentModel.Unmatched) -> HTML {
        guard !model.records.isEmpty else { return "<p class=\"muted\">Every acknowledgement was matched.</p>" }
        let rows = model.records.map { record -> HTML in
            let ack = record.acknowledgement
            let link: HTML =
                model.mayLink
                ? """
                <form method="post" action="/dashboard/acks/\(record.id)/link" class="actions">\
                <input name="transmissionId" inputmode="numeric" pattern="[0-9]+" required
                aria-label="Transmission ID to link" placeholder="transmission ID" size="10">\
                <button type="submit">Link</button></form>
                """ : .empty
            return """
                <tr data-row="u\(record.id)"><td>\(Display.time(record.receivedAt))</td><td>\(ack.channel)</td>\
                <td>\(ack.reference)</td><td>\(ack.orderID ?? "–")</td>
                <td>\(ack.status.rawValue)</td><td>\(record.outcome.rawValue)\(Display.part(" · ", record.detail))</td>
                <td>\(link)</td></tr>
                """
        }
        return """
            <div class="scroll"><table><thead><tr><th scope="col">Received</th><th scope="col">Channel</th>\
            <th scope="col">Reference</th><th scope="col">Order</th>
            <th scope="col">Says</th><th scope="col">Outcome</th><th scope="col">Link by hand</th></tr></thead>\
            <tbody>\(rows)</tbody></table></div>
            """
    }
}
