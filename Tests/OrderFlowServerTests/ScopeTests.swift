import Foundation
import HTTPTypes
import HummingbirdTesting
import OrderFlowDomain
import OrderFlowPersistence
import OrderFlowServer
import OrderFlowTestSupport
import Testing

/// A caller scoped to one store, on every route: whatever reads or changes orders,
/// transmissions, acknowledgements, dead letters or stock of another store refuses it, or leaves
/// that store's things out. Every route of `RoutePolicy` is either checked here or named as
/// holding nothing of a store, so a new route fails this test until someone decides which it is.
@Suite("A store's scope on every route", .databaseSlots)
struct ScopeTests {
    /// Routes that read and change nothing of one store: sign-in, static files, products and
    /// stores, accounts and the audit log (administrators only), alerts and rules (about channels
    /// and the whole flow), the invoice stream's reads (invoices belong to no store), and metrics.
    static let storeless: Set<String> = [
        "GET /api/v1/health", "POST /api/auth/login", "POST /api/auth/refresh", "POST /api/auth/logout",
        "POST /api/auth/register",
        "GET /openapi.yaml", "GET /", "GET /login", "POST /login", "POST /logout", "GET /assets/app.css",
        "GET /assets/app.js", "GET /metrics",
        "GET /api/products", "POST /api/products", "GET /api/products/{sku}", "GET /api/locations",
        "POST /api/locations",
        "GET /api/users/me", "PUT /api/users/me", "GET /api/users", "POST /api/users", "PATCH /api/users/{userId}",
        "POST /api/users/{userId}/reset-password", "GET /api/api-keys", "POST /api/api-keys",
        "DELETE /api/api-keys/{keyId}", "PATCH /api/api-keys/{keyId}", "GET /api/audit",
        "GET /api/v1/alert-rules", "POST /api/v1/alert-rules", "PUT /api/v1/alert-rules/{ruleId}",
        "DELETE /api/v1/alert-rules/{ruleId}",
        "GET /api/v1/alerts", "GET /api/v1/alerts/{alertId}", "POST /api/v1/alerts/{alertId}/acknowledge",
        "POST /api/v1/alerts/{alertId}/resolve",
        "GET /api/v1/silences", "POST /api/v1/silences", "DELETE /api/v1/silences/{silenceId}",
        "POST /dashboard/alerts/{alertId}/acknowledge", "POST /dashboard/alerts/{alertId}/resolve",
        "POST /dashboard/alerts/{alertId}/silence",
        "GET /api/v1/invoice-stream", "GET /api/v1/invoices", "GET /api/v1/invoices/stats", "GET /dashboard/invoices",
    ]

    /// Checked by StreamRoutesTests.anOrderIsHeardOnceByEveryoneWhoMaySeeItAndByNoOneElse (the
    /// stream stays open, so it is read there with a live client).
    static let checkedElsewhere: Set<String> = ["GET /api/v1/stream"]

    @Test(arguments: TestDatabase.kinds)
    func aStoreScopedCallerMeetsNothingOfAnotherStore(kind: Database.Kind) async throws {
        let channel = ChannelSettings(
            name: "commerce", url: "http://127.0.0.1:9/x", timeoutSeconds: 0.2, maxAttempts: 2, ackMode: .async)
        try await TestApp.run(kind, configure: { $0.engine.channels = [channel] }) { app in
            // An order in each store; nothing listens on port 9, so their transmissions fail and
            // become dead letters.
            #expect(
                try await app.send(.post, "/api/orders", json: TestApp.orderBody("A-1", store: "QC-T-001")).status
                    == .created)
            #expect(
                try await app.send(.post, "/api/orders", json: TestApp.orderBody("B-1", store: "QC-T-002")).status
                    == .created)
            for _ in 0..<4 {
                try await app.engine.drain()
                app.clock.advance(seconds: 3_600)
            }
            // Two more, waiting for the channel.
            #expect(
                try await app.send(.post, "/api/orders", json: TestApp.orderBody("A-2", store: "QC-T-001")).status
                    == .created)
            #expect(
                try await app.send(.post, "/api/orders", json: TestApp.orderBody("B-2", store: "QC-T-002")).status
                    == .created)
            try await app.engine.drain()
            let transmissions = TransmissionRepository(database: app.database)
            let theirs = try #require(
                try await transmissions.of(order: OrderID("B-1")).first { $0.classification == .failed })
            #expect(try await transmissions.of(order: OrderID("A-1")).contains { $0.classification == .failed })
            var deadLetters = DeadLetterQuery()
            deadLetters.orderID = OrderID("B-1")
            let theirLetter = try #require(
                try await DeadLetterRepository(database: app.database).search(deadLetters).letters.first)
            // Their acknowledgement that contradicts (the transmission failed, it says accepted).
            let contradiction = try await app.send(
                .post, "/api/v1/acks",
                json: [
                    "acknowledgements": [
                        ["channel": "commerce", "reference": "theirs", "status": "accepted", "eventId": theirs.eventID]
                    ]
                ])
            #expect(
                (contradiction.json["results"] as? [[String: Any]])?.first?["outcome"] as? String == "contradiction")
            #expect(
                try await app.send(
                    .post, "/api/inventory/reserve",
                    json: [
                        "reservationId": "R-B", "locationId": "QC-T-002", "items": [["sku": "COFFEE", "quantity": 1]],
                    ]
                ).status == .created)

            let token = try await app.token(for: ["operations", "integration"], username: "ops-a", store: "QC-T-001")
            let session = try await app.browserSignIn("ops-a", password: "password-of-ops-a")
            func get(_ path: String) async throws -> TestResponse { try await app.send(.get, path, token: token) }
            func page(_ path: String) async throws -> TestResponse {
                try await app.browse(.get, path, session: session)
            }
            func action(_ path: String, _ form: [String: String] = [:]) async throws -> TestResponse {
                try await app.browse(.post, path, session: session, form: form)
            }
            let before = try await app.send(.get, "/api/orders/B-1").json["status"] as? Int

            var checked: Set<String> = []

            // Orders
            checked.insert("GET /api/orders/{orderId}")
            #expect(try await get("/api/orders/B-1").status == .notFound)

            checked.insert("GET /api/orders/search")
            let ids = (try await get("/api/orders/search").json["items"] as? [[String: Any]] ?? []).compactMap {
                $0["orderId"] as? String
            }
            #expect(Set(ids) == ["A-1", "A-2"])
            #expect((try await get("/api/orders/search?store=QC-T-002").json["items"] as? [Any])?.isEmpty == true)

            checked.insert("POST /api/orders")
            let placed = try await app.send(
                .post, "/api/orders", json: TestApp.orderBody("B-3", store: "QC-T-002"), token: token)
            #expect(placed.status == .forbidden && placed.error["code"] as? String == "out_of_scope")

            checked.insert("POST /api/orders/{orderId}/cancel")
            #expect(
                try await app.send(.post, "/api/orders/B-1/cancel", json: ["reason": "not mine"], token: token).status
                    == .notFound)

            checked.insert("PATCH /api/orders/{orderId}/lines/{lineNumber}")
            let change = try await app.send(
                .patch, "/api/orders/B-1/lines/1", json: ["quantity": 1, "reason": "not mine"], token: token)
            #expect(change.status == .notFound)

            checked.insert("POST /api/fulfillment/ship-events")
            let event = try await app.send(
                .post, "/api/fulfillment/ship-events", json: ["eventId": "e-1", "orderId": "B-1", "type": "picking"],
                token: token)
            #expect(event.status == .notFound)

            checked.insert("PUT /api/delivery/status")
            let status = try await app.send(
                .put, "/api/delivery/status", json: ["eventId": "e-2", "orderId": "B-1", "status": "delivered"],
                token: token)
            #expect(status.status == .notFound)

            checked.insert("POST /api/v1/seed-mock-data")
            // Demonstration orders go to every store.
            #expect(try await app.send(.post, "/api/v1/seed-mock-data?count=2", token: token).status == .forbidden)

            checked.insert("GET /api/v1/exports/orders.csv")
            let csv = try await get("/api/v1/exports/orders.csv?minutes=600").text
            #expect(csv.contains("\r\nA-1,") && !csv.contains("B-1"))

            // Stock
            checked.insert("GET /api/inventory/{sku}")
            let stores = (try await get("/api/inventory/COFFEE").json["locations"] as? [[String: Any]] ?? []).compactMap
            { $0["locationId"] as? String }
            #expect(stores == ["QC-T-001"])

            checked.insert("PUT /api/inventory/{sku}/locations/{locationId}")
            #expect(
                try await app.send(.put, "/api/inventory/COFFEE/locations/QC-T-002", json: ["onHand": 1], token: token)
                    .status == .forbidden)

            checked.insert("POST /api/inventory/reserve")
            let reserve =
                ["reservationId": "R-A", "locationId": "QC-T-002", "items": [["sku": "COFFEE", "quantity": 1]]]
                as [String: Any]
            #expect(
                try await app.send(.post, "/api/inventory/reserve", json: reserve, token: token).status == .forbidden)

            checked.insert("POST /api/inventory/release")
            #expect(
                try await app.send(.post, "/api/inventory/release", json: ["reservationId": "R-B"], token: token).status
                    == .forbidden)

            // Transmissions and monitoring
            checked.insert("GET /api/v1/monitor/recent")
            let recentIDs =
                (try await get("/api/v1/monitor/recent?minutes=1440").json["data"] as? [[String: Any]] ?? []).compactMap
            { $0["order_id"] as? String }
            #expect(Set(recentIDs) == ["A-1", "A-2"])
            let everything =
                try await app.send(.get, "/api/v1/monitor/transmissions?minutes=600&limit=200").json["items"]
                as? [[String: Any]] ?? []
            let ours = everything.filter { ($0["orderId"] as? String)?.hasPrefix("A-") == true }
            #expect(!ours.isEmpty && ours.count < everything.count)

            checked.insert("GET /api/v1/monitor/transmissions")
            let seen =
                try await get("/api/v1/monitor/transmissions?minutes=600&limit=200").json["items"] as? [[String: Any]]
                ?? []
            #expect(seen.count == ours.count && seen.allSatisfy { ($0["orderId"] as? String)?.hasPrefix("A-") == true })

            checked.insert("GET /api/v1/monitor/summary")
            #expect(try await get("/api/v1/monitor/summary?minutes=600").json["total"] as? Int == ours.count)

            checked.insert("GET /api/v1/monitor/orders/{orderId}/trace")
            #expect(try await get("/api/v1/monitor/orders/B-1/trace").status == .notFound)
            #expect(try await get("/api/v1/monitor/orders/A-1/trace").status == .ok)

            checked.insert("GET /api/v1/monitor/channels")
            let all = try await app.send(.get, "/api/v1/monitor/channels").json["channels"] as? [[String: Any]]
            let channels = try await get("/api/v1/monitor/channels").json["channels"] as? [[String: Any]]
            let waiting = try #require(channels?.first?["pending"] as? Int)
            #expect(
                waiting > 0 && waiting < (all?.first?["pending"] as? Int ?? 0),
                "only store A's waiting transmissions are counted")

            checked.insert("GET /api/v1/exports/transmissions.csv")
            let transmissionsCSV = try await get("/api/v1/exports/transmissions.csv?minutes=600").text
            #expect(transmissionsCSV.contains(",A-1,") && !transmissionsCSV.contains("B-1"))

            // Acknowledgements
            checked.insert("POST /api/v1/acks")
            let sent = try await app.send(
                .post, "/api/v1/acks",
                json: [
                    "acknowledgements": [
                        ["channel": "commerce", "reference": "mine", "status": "accepted", "eventId": theirs.eventID]
                    ]
                ], token: token)
            #expect(
                (sent.json["results"] as? [[String: Any]])?.first?["outcome"] as? String == "unmatched",
                "another store's transmission is not matched")

            checked.insert("GET /api/v1/acks/inconsistencies")
            let references = (try await get("/api/v1/acks/inconsistencies").json["items"] as? [[String: Any]] ?? [])
                .compactMap { $0["reference"] as? String }
            #expect(!references.contains("theirs"))
            let unmatched = try await AcknowledgementRepository(database: app.database).inconsistencies(
                channel: nil, beforeID: nil, limit: 50
            )
            .records.first { $0.acknowledgement.reference == "mine" }
            let mine = try #require(unmatched?.id)

            checked.insert("POST /api/v1/acks/{ackId}/link")
            let link = try await app.send(
                .post, "/api/v1/acks/\(mine)/link", json: ["transmissionId": theirs.id], token: token)
            #expect(link.status == .unprocessableContent && link.fieldRules == ["transmissionId exists"])

            // Dead letters
            checked.insert("GET /api/dead-letters")
            let orders = (try await get("/api/dead-letters").json["items"] as? [[String: Any]] ?? []).compactMap {
                $0["orderId"] as? String
            }
            #expect(!orders.isEmpty && orders.allSatisfy { $0.hasPrefix("A-") })

            checked.insert("GET /api/dead-letters/{deadLetterId}")
            #expect(try await get("/api/dead-letters/\(theirLetter.id)").status == .notFound)

            checked.insert("POST /api/dead-letters/{deadLetterId}/replay")
            #expect(
                try await app.send(.post, "/api/dead-letters/\(theirLetter.id)/replay", json: [:], token: token).status
                    == .notFound)

            checked.insert("POST /api/dead-letters/{deadLetterId}/discard")
            #expect(
                try await app.send(.post, "/api/dead-letters/\(theirLetter.id)/discard", json: [:], token: token).status
                    == .notFound)

            // The invoice stream serves every store: a caller scoped to one watches it but does not run it.

            checked.insert("POST /api/v1/invoice-stream/start")
            let start = try await app.send(.post, "/api/v1/invoice-stream/start", token: token)
            #expect(start.status == .forbidden && start.error["code"] as? String == "out_of_scope")

            checked.insert("POST /api/v1/invoice-stream/stop")
            #expect(try await app.send(.post, "/api/v1/invoice-stream/stop", token: token).status == .forbidden)

            // Dashboard pages and actions

            checked.insert("GET /dashboard/store")
            let board = try await page("/dashboard/store?hours=168").text
            #expect(board.contains("data-row=\"oA-1-") && !board.contains("B-1"))

            checked.insert("GET /dashboard/orders/{orderId}")
            #expect(try await page("/dashboard/orders/B-1").status == .notFound)

            checked.insert("GET /dashboard/trace")
            #expect(try await page("/dashboard/trace?q=B-1").text.contains("id=\"trace-none\""))

            checked.insert("GET /dashboard/operations")
            let operations = try await page("/dashboard/operations?minutes=10080").text
            #expect(operations.contains("q=A-1") && !operations.contains("B-1"))

            checked.insert("GET /dashboard/development")
            let development = try await page("/dashboard/development?minutes=10080").text
            #expect(development.contains("A-1") && !development.contains("B-1") && !development.contains("theirs"))

            checked.insert("GET /dashboard/management")
            #expect(try await page("/dashboard/management").text.contains("id=\"kpi-orders\">2<"))

            checked.insert("POST /dashboard/orders/{orderId}/cancel")
            #expect(try await action("/dashboard/orders/B-1/cancel", ["reason": "not mine"]).status == .notFound)

            checked.insert("POST /dashboard/orders/bulk-cancel")
            let bulk = try await app.browse(
                .post, "/dashboard/orders/bulk-cancel", session: session,
                formPairs: [("orderId", "B-1"), ("reason", "not mine")])
            #expect(bulk.status == .seeOther && bulk.headers[.location]?.contains("0%20cancelled") == true)

            checked.insert("POST /dashboard/orders/{orderId}/fulfilment")
            #expect(try await action("/dashboard/orders/B-1/fulfilment", ["step": "picked"]).status == .notFound)

            checked.insert("POST /dashboard/transmissions/{transmissionId}/replay")
            #expect(try await action("/dashboard/transmissions/\(theirs.id)/replay").status == .conflict)

            checked.insert("POST /dashboard/dead-letters/{deadLetterId}/replay")
            #expect(try await action("/dashboard/dead-letters/\(theirLetter.id)/replay").status == .notFound)

            checked.insert("POST /dashboard/dead-letters/{deadLetterId}/discard")
            #expect(try await action("/dashboard/dead-letters/\(theirLetter.id)/discard").status == .notFound)

            checked.insert("POST /dashboard/acks/{ackId}/link")
            #expect(
                try await action("/dashboard/acks/\(mine)/link", ["transmissionId": String(theirs.id)]).status
                    == .unprocessableContent)

            checked.insert("POST /dashboard/invoices/start")
            #expect(try await action("/dashboard/invoices/start").status == .forbidden)

            checked.insert("POST /dashboard/invoices/stop")
            #expect(try await action("/dashboard/invoices/stop").status == .forbidden)

            // Nothing of theirs changed.
            #expect(try await app.send(.get, "/api/orders/B-1").json["status"] as? Int == before)
            #expect(try await DeadLetterRepository(database: app.database).find(theirLetter.id)?.state == .open)
            #expect(
                try await transmissions.of(order: OrderID("B-1")).first { $0.id == theirs.id }?.classification
                    == .failed)

            #expect(checked.isDisjoint(with: Self.storeless.union(Self.checkedElsewhere)))
            let unclassified = Set(RoutePolicy.routes.keys).subtracting(checked).subtracting(Self.storeless)
                .subtracting(Self.checkedElsewhere)
            #expect(
                unclassified.isEmpty,
                "routes neither checked for the store scope nor named as holding nothing of a store: \(unclassified.sorted())"
            )
            #expect(
                checked.union(Self.storeless).union(Self.checkedElsewhere).isSubset(of: Set(RoutePolicy.routes.keys)),
                "a route named here does not exist")
        }
    }
}
