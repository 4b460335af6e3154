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
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-ID")!
}
