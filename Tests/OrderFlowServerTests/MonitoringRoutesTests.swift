import Foundation
import OrderFlowPersistence
import OrderFlowTestSupport
import Testing

@Suite("Monitoring routes: demonstration orders, acknowledgements over HTTP, CSV exports", .databaseSlots)
struct MonitoringRoutesTests {
    @Test func onlyTheDemoLetsOrderCreatorsSeedDemonstrationOrders() async throws {
        try await TestApp.run { app in
            let integration = try await app.token(for: ["integration"])
            #expect(
                try await app.send(.post, "/api/v1/seed-mock-data?count=2", token: integration).status == .forbidden)
            let seeded = try await app.send(.post, "/api/v1/seed-mock-data?count=2")
            #expect(seeded.status == .ok && (seeded.json["orderIds"] as? [String])?.count == 2)
            #expect(try await app.send(.post, "/api/v1/seed-mock-data?count=1001").fieldRules == ["count range"])
            #expect(try await app.database.count("orders") == 2)
        }
        try await TestApp.run(configure: { $0.demoSeeding = true }) { app in
            let integration = try await app.token(for: ["integration"])
            #expect(try await app.send(.post, "/api/v1/seed-mock-data?count=3", token: integration).status == .ok)
            let viewer = try await app.token(for: ["management"])
            #expect(try await app.send(.post, "/api/v1/seed-mock-data?count=3", token: viewer).status == .forbidden)
            let recent = try await app.send(.get, "/api/v1/monitor/recent?minutes=10&limit=2")
            #expect(recent.json["total"] as? Int == 3)
            #expect((recent.json["statusCounts"] as? [String: Int])?["Open"] == 3)
            #expect((recent.json["data"] as? [[String: Any]])?.count == 2)
        }
    }

    @Test func acknowledgementsAreCheckedAndChangeNothingWhenRefused() async throws {
        try await TestApp.run(configure: {
            $0.engine.channels = [.init(name: "commerce", url: "http://127.0.0.1:9/x", ackMode: .async)]
        }) { app in
            let refused = try await app.send(
                .post, "/api/v1/acks",
                json: [
                    "acknowledgements": [
                        ["channel": "nowhere", "reference": "r1", "status": "accepted"],
                        ["channel": "commerce", "reference": "r2", "status": "accepted", "amount": "1.23456"],
                    ]
                ])
            #expect(refused.status == .unprocessableContent)
            #expect(
                refused.fieldRules == [
                    "acknowledgements[0].channel unknown_channel", "acknowledgements[1].amount format",
                ])
            #expect(try await app.database.count("acknowledgements") == 0)
            let kept = try await app.send(
                .post, "/api/v1/acks",
                json: [
                    "acknowledgements": [
                        ["channel": "commerce", "reference": "r3", "status": "accepted", "orderId": "X-1"]
                    ]
                ])
            #expect(((kept.json["results"] as? [[String: Any]])?.first?["outcome"] as? String) == "unmatched")
            let listed = try await app.send(.get, "/api/v1/acks/inconsistencies")
            #expect((listed.json["items"] as? [[String: Any]])?.map { $0["reference"] as? String } == ["r3"])
        }
    }

    @Test func theOrderExportIsCSVWithinTheCallersScope() async throws {
        try await TestApp.run { app in
            var body = TestApp.orderBody("CSV-1")
            body["customer"] = ["id": "CUST-1", "name": "=HYPERLINK(\"x\"), Jr.", "phone": "+66 81 234 5678"]
            #expect(try await app.send(.post, "/api/orders", json: body).status == .created)
            #expect(
                try await app.send(.post, "/api/orders", json: TestApp.orderBody("CSV-2", store: "QC-T-002")).status
                    == .created)
            let all = try await app.send(.get, "/api/v1/exports/orders.csv?minutes=60")
            let lines = all.text.components(separatedBy: "\r\n").filter { !$0.isEmpty }
            #expect(lines.count == 3 && lines[0].hasPrefix("order_id,created_at,"))
            // A field that a spreadsheet would run as a formula is defused, and quoted for its comma and quotes.
            #expect(lines.contains { $0.hasPrefix("CSV-1,") && $0.contains(#""'=HYPERLINK(""x""), Jr.""#) })
            let manager = try await app.token(for: ["store_manager"], store: "QC-T-002")
            let scoped = try await app.send(.get, "/api/v1/exports/orders.csv?minutes=60", token: manager)
            let rows = scoped.text.components(separatedBy: "\r\n").filter { !$0.isEmpty }.dropFirst()
            #expect(rows.count == 1 && rows.first?.hasPrefix("CSV-2,") == true)
        }
    }
}
