import Foundation
import HTTPTypes
import OrderFlowDomain
import OrderFlowPersistence
import OrderFlowServer
import OrderFlowTestSupport
import Testing

/// The invoice stream through the API and the dashboard page. Its actors sleep on the test's
/// manual clock, which `until` moves on to the next deadline while it waits (the pace itself is
/// tested in OrderFlowEngineTests).
@Suite("Invoice stream routes", .databaseSlots)
struct InvoiceRoutesTests {
    /// Waits until `condition` holds, moving the clock to the next sleeper's deadline between
    /// checks (every 20 ms, for at most a minute of real time).
    static func until(_ app: TestApp, _ condition: () async throws -> Bool) async throws {
        let limit = ContinuousClock.now + .seconds(60)
        while try await !condition() {
            guard ContinuousClock.now < limit else {
                throw TestFailure(message: "the invoice stream did not get there within a minute")
            }
            if let next = app.clock.nextDeadline { app.clock.advance(to: next) }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func startStopStatusListStatsAndTheirRefusals(kind: Database.Kind) async throws {
        try await TestApp.run(kind) { app in
            let idle = try await app.send(.get, "/api/v1/invoice-stream")
            #expect(idle.status == .ok && idle.json["state"] as? String == "idle" && idle.json["cycle"] as? Int == 0)

            let started = try await app.send(.post, "/api/v1/invoice-stream/start")
            #expect(
                started.status == .ok && started.json["state"] as? String == "running"
                    && started.json["perCycle"] as? Int == 1_500)
            let again = try await app.send(.post, "/api/v1/invoice-stream/start")
            #expect(again.status == .conflict && again.error["code"] as? String == "invoice_stream_busy")

            try await Self.until(app) {
                (try await app.send(.get, "/api/v1/invoice-stream").json["produced"] as? Int ?? 0) >= 3
            }
            let stopped = try await app.send(.post, "/api/v1/invoice-stream/stop")
            #expect(stopped.status == .ok && stopped.json["state"] as? String == "processing_backlog")
            let made = try #require(stopped.json["produced"] as? Int)
            #expect(made >= 3)
            let stopAgain = try await app.send(.post, "/api/v1/invoice-stream/stop")
            #expect(stopAgain.status == .conflict && stopAgain.error["code"] as? String == "invoice_stream_not_running")

            let stats = try await app.send(.get, "/api/v1/invoices/stats")
            #expect(stats.json["count"] as? Int == made)
            let page = try await app.send(.get, "/api/v1/invoices?limit=2")
            let items = try #require(page.json["items"] as? [[String: Any]])
            #expect(items.count == 2 && (items[0]["id"] as? Int ?? 0) > (items[1]["id"] as? Int ?? 0), "newest first")
            for item in items {
                let subtotal = try #require(Decimal(string: item["subtotal"] as? String ?? ""))
                let vat = try #require(Decimal(string: item["vat"] as? String ?? ""))
                #expect(Decimal(string: item["total"] as? String ?? "") == subtotal + vat)
            }
            let cursor = try #require(page.json["nextCursor"] as? String)
            let next = try await app.send(.get, "/api/v1/invoices?limit=200&cursor=\(cursor)")
            #expect((next.json["items"] as? [Any])?.count == made - 2 && next.json["nextCursor"] == nil)
            #expect(try await app.send(.get, "/api/v1/invoices?cursor=nonsense").status == .badRequest)

            let audit = try await app.send(.get, "/api/audit?limit=200")
            let actions = (audit.json["items"] as? [[String: Any]] ?? []).compactMap { $0["action"] as? String }
            #expect(actions.contains("invoices.start") && actions.contains("invoices.stop"))
        }
    }

    @Test func thePageShowsControlsByPermissionAndTheStreamTopicIsGuarded() async throws {
        try await TestApp.run { app in
            _ = try await app.token(for: ["management"], username: "u-watch")
            _ = try await app.token(for: ["store_manager"], username: "u-store", store: "QC-T-001")
            let admin = try await app.browserSignIn("admin", password: TestApp.adminPassword)
            let page = try await app.browse(.get, "/dashboard/invoices", session: admin)
            #expect(
                page.status == .ok && page.text.contains("id=\"invoice-start\">START")
                    && page.text.contains("id=\"invoice-stop\" disabled>STOP"))
            #expect(page.text.contains("data-state=\"idle\"") && page.text.contains("id=\"inv-count\">0<"))

            let start = try await app.browse(.post, "/dashboard/invoices/start", session: admin, form: [:])
            #expect(start.status == .seeOther)
            try await Self.until(app) {
                try await app.browse(.get, "/dashboard/invoices", session: admin).text.contains("data-row=\"i2\"")
            }
            let running = try await app.browse(.get, "/dashboard/invoices", session: admin)
            #expect(
                running.text.contains("id=\"invoice-start\" disabled>START")
                    && running.text.contains("data-state=\"running\""))
            #expect(running.text.contains("data-row=\"i1\""), "the first invoices have been shown")

            let watcher = try await app.browserSignIn("u-watch", password: "password-of-u-watch")
            let watching = try await app.browse(.get, "/dashboard/invoices", session: watcher)
            #expect(
                watching.status == .ok && !watching.text.contains("invoice-start")
                    && watching.text.contains("data-state=\"running\""))
            #expect(
                try await app.browse(.post, "/dashboard/invoices/stop", session: watcher, form: [:]).status
                    == .forbidden)
            let older = try await app.browse(
                .get, "/dashboard/invoices?fragment=older&before=2", session: watcher, fragment: true)
            #expect(older.status == .ok && older.text.contains("data-row=\"i1\"") && !older.text.contains("<html"))

            #expect(
                try await app.browse(.post, "/dashboard/invoices/stop", session: admin, form: [:]).status == .seeOther)
            let store = try await app.token(for: ["store_manager"], username: "u-store2", store: "QC-T-001")
            #expect(try await app.send(.get, "/api/v1/stream?topics=invoice", token: store).status == .forbidden)
            #expect(try await app.send(.get, "/api/v1/invoice-stream", token: store).status == .forbidden)
        }
    }
}
