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
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-ID")!
}
