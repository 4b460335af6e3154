import Foundation
import HTTPTypes
import HummingbirdTesting
import OrderFlowPersistence
import OrderFlowTestSupport
import Testing

@Suite("Health, metrics and the API document", .databaseSlots)
struct SystemRoutesTests {
    @Test(arguments: TestDatabase.kinds)
    func healthReportsTheDatabase(kind: Database.Kind) async throws {
        try await TestApp.run(kind) { app in
            let health = try await app.send(.get, "/api/v1/health")
            #expect(health.status == .ok)
            #expect(health.json["status"] as? String == "ok")
            let database = health.json["database"] as? [String: Any]
            #expect(database?["kind"] as? String == kind.rawValue)
            #expect(database?["status"] as? String == "ok")
            #expect(health.json["version"] is String && health.json["uptimeSeconds"] is Int)
            // Anonymous: up or not, and nothing about what runs where.
            let anonymous = try await app.send(.get, "/api/v1/health", token: nil)
            #expect(anonymous.status == .ok && anonymous.json["status"] as? String == "ok")
            #expect(anonymous.json["version"] == nil && anonymous.json["uptimeSeconds"] == nil)
            #expect(anonymous.json["database"] as? [String: String] == ["status": "ok"])
        }
    }

    @Test func metricsCountOrdersAndRequests() async throws {
        try await TestApp.run { app in
            try await app.send(.post, "/api/orders", json: TestApp.orderBody("ORD-1"))
            try await app.send(.post, "/api/orders", json: TestApp.orderBody("x"))
            let metrics = try await app.send(.get, "/metrics")
            #expect(metrics.status == .ok)
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain") == true)
            let lines = metrics.text.split(separator: "\n")
            #expect(lines.contains("o2o_orders_ingested_total 1"))
            #expect(lines.contains("o2o_orders_rejected_total 1"))
            #expect(lines.contains("o2o_orders_failed_total 0"))
            #expect(
                lines.contains {
                    $0.hasPrefix("http_requests_total{") && $0.contains(#"route="/api/orders""#)
                        && $0.contains(#"status="201""#)
                })
        }
    }

    @Test func documentsAndErrorsForUnknownRoutes() async throws {
        try await TestApp.run { app in
            let document = try await app.send(.get, "/openapi.yaml")
            #expect(document.status == .ok)
            #expect(document.text.hasPrefix("openapi: 3.1.0"))
            #expect(document.text.contains("operationId: createOrder"))

            let unknown = try await app.send(.get, "/api/nothing-here")
            #expect(unknown.status == .notFound)
            #expect(unknown.error["code"] as? String == "not_found")
            #expect(unknown.headers[.requestID] != nil)

            let traced = try await app.send(
                .get, "/api/v1/health", headers: [HTTPField.Name("X-Request-ID")!: "trace-from-gateway-1"])
            #expect(traced.headers[.requestID] == "trace-from-gateway-1")
        }
    }

    @Test func aMethodThePathLacksIsMethodNotAllowed() async throws {
        try await TestApp.run { app in
            // An API path: the order's template, whatever the ID; before credentials are looked at.
            for token in [TestApp.asAdmin, nil] {
                let order = try await app.send(.delete, "/api/orders/ORD-NONE", token: token)
                #expect(order.status == .methodNotAllowed)
                #expect(order.headers[.allow] == "GET")
                #expect(order.error["code"] as? String == "method_not_allowed")
            }
            let products = try await app.send(.put, "/api/products")
            #expect(products.status == .methodNotAllowed && products.headers[.allow] == "GET, POST")
            // A literal segment is its own path: the search route, not an order called "search".
            let search = try await app.send(.post, "/api/orders/search", json: [:])
            #expect(search.status == .methodNotAllowed && search.headers[.allow] == "GET")

            // A dashboard path: an HTML page that says so, with the same header.
            let page = try await app.send(.post, "/dashboard/operations")
            #expect(page.status == .methodNotAllowed && page.headers[.allow] == "GET")
            #expect(page.headers[.contentType]?.hasPrefix("text/html") == true)
            let cancel = try await app.send(.get, "/dashboard/orders/bulk-cancel")
            #expect(cancel.status == .methodNotAllowed && cancel.headers[.allow] == "POST")

            // A path no route has is still 404, whatever the method.
            for method in [HTTPRequest.Method.get, .delete] {
                let unknown = try await app.send(method, "/api/orders/ORD-1/nothing-here")
                #expect(unknown.status == .notFound && unknown.headers[.allow] == nil)
            }
            // OPTIONS that is not a CORS preflight (SecurityTests has those) is a method like any other.
            let options = try await app.send(.options, "/api/orders", token: nil)
            #expect(options.status == .methodNotAllowed && options.headers[.allow] == "POST")
        }
    }

    /// What the API document refuses, the server refuses: `null`, parameters past their documented
    /// length or range, times it could not write back; and it reads every time the document's
    /// `date-time` allows.
    @Test func theServerRefusesWhatTheDocumentRefuses() async throws {
        try await TestApp.run { app in
            // null is never a value: leaving a field out is.
            var order = TestApp.orderBody("ORD-NULL")
            order["custRef"] = NSNull()
            let null = try await app.send(.post, "/api/orders", json: order)
            #expect(null.status == .badRequest && null.fieldRules == ["custRef required"])
            var line = TestApp.orderBody("ORD-NULL")
            line["lines"] = [["sku": "COFFEE", "quantity": 1, "unitPrice": NSNull()]]
            #expect(try await app.send(.post, "/api/orders", json: line).fieldRules == ["lines[0].unitPrice required"])
            let silence: [String: Any] = [
                "matchers": [["name": "channel", "value": "commerce"]], "endsAt": "2099-01-01T00:00:00Z",
                "comment": "maintenance", "startsAt": NSNull(),
            ]
            #expect(try await app.send(.post, "/api/v1/silences", json: silence).fieldRules == ["startsAt required"])
            // Text that holds "null" is text.
            order["custRef"] = "null"
            #expect(try await app.send(.post, "/api/orders", json: order).status == .created)

            // Parameters past their documented length or range.
            let long = String(repeating: "c", count: 41)
            for path in [
                "/api/v1/monitor/summary?channel=\(long)", "/api/v1/alerts?channel=\(long)",
                "/api/v1/acks/inconsistencies?channel=\(long)", "/api/v1/exports/transmissions.csv?channel=\(long)",
                "/api/v1/monitor/transmissions?orderId=\(String(repeating: "O", count: 101))",
                "/api/orders/search?statusTo=10000", "/api/orders/search?statusFrom=-1",
                "/api/v1/alerts?state=\(Array(repeating: "firing", count: 9).joined(separator: ","))",
                "/api/products?cursor=\(String(repeating: "A", count: 201))",
            ] {
                let refused = try await app.send(.get, path)
                #expect(refused.status == .badRequest, "\(path): \(refused.text)")
            }
            #expect(try await app.send(.get, "/api/v1/alerts?state=%20firing%0D%0A,,resolved").status == .ok)

            // Any offset RFC 3339 allows; years a response can write back; the parameter named.
            #expect(
                try await app.send(.get, "/api/v1/monitor/summary?minutes=5&to=2026-11-22T10:00:00%2B23:59").status
                    == .ok)
            #expect(
                try await app.send(.get, "/api/v1/monitor/summary?minutes=5&to=2026-11-22t10:00:00.1234567z").status
                    == .ok)
            let far = try await app.send(.get, "/api/v1/monitor/summary?to=9999-12-31T23:00:00-23:59")
            #expect(far.status == .badRequest && far.fieldRules == ["to range"])
            let bad = try await app.send(.get, "/api/v1/monitor/summary?from=2026-02-29T00:00:00Z")
            #expect(bad.status == .badRequest && bad.fieldRules == ["from format"])

            // A password is counted in characters, limited in bytes, and varied.
            for (password, message) in [
                ("ééééééééééé", "must be 12–72 characters long"),
                (String(repeating: "ü", count: 40), "must be at most 72 bytes in UTF-8"),
                ("abcabcabcabc", "must have at least 4 different characters"),
            ] {
                let user = try await app.send(
                    .post, "/api/users",
                    json: ["username": "pw.user", "displayName": "P", "roles": ["operations"], "password": password])
                let fields = user.error["fields"] as? [[String: Any]] ?? []
                #expect(user.status == .unprocessableContent && fields.first?["message"] as? String == message)
            }
        }
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-ID")!
}
