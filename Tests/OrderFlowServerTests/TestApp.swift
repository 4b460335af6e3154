import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import OrderFlowDomain
import OrderFlowServer
import OrderFlowStore
import OrderFlowTestSupport
import Testing

/// An OrderFlow on a fresh database with the sample catalog, driven in-process.
struct TestApp {
    let client: any TestClientProtocol
    let database: Database
    let metrics: AppMetrics

    static func run(
        _ kind: Database.Kind = .sqlite, stock: Int = 100, configure: (inout AppConfiguration) -> Void = { _ in },
        _ body: @Sendable (TestApp) async throws -> Void
    ) async throws {
        let (location, drop) = try await TestDatabase.create(kind)
        var config = AppConfiguration()
        config.database = location
        config.databaseOptions.sqliteSynchronous = "normal"
        config.logLevel = .critical
        configure(&config)
        let metrics = AppMetrics()
        let built = try await buildApplication(config, dependencies: AppDependencies(metrics: metrics, logger: TestDatabase.logger))
        do {
            try await built.application.test(.router) { client in
                try await Samples.seed(built.database, stock: stock)
                try await body(TestApp(client: client, database: built.database, metrics: metrics))
            }
            await drop()
        } catch {
            await drop()
            throw error
        }
    }

    /// Sends JSON (or raw text when `raw` is given) and returns the status, headers and parsed body.
    @discardableResult
    func send(_ method: HTTPRequest.Method, _ path: String, json: Any? = nil, raw: String? = nil, headers: HTTPFields = [:]) async throws -> TestResponse {
        var headers = headers
        var body: ByteBuffer?
        if let raw {
            body = ByteBuffer(string: raw)
            if headers[.contentType] == nil { headers[.contentType] = "application/json" }
        } else if let json {
            body = ByteBuffer(data: try JSONSerialization.data(withJSONObject: json))
            headers[.contentType] = "application/json"
        }
        return try await client.execute(uri: path, method: method, headers: headers, body: body)
    }

    /// A valid order body for the sample catalog, as a caller would send it.
    static func orderBody(_ id: String = "ORD-1", store: String = "QC-T-001") -> [String: Any] {
        [
            "orderId": id, "shipFromLocationId": store, "orderType": "delivery", "channel": "app",
            "isForceAllocation": true, "paymentMethod": "cod",
            "customer": ["id": "CUST-1", "name": "Somchai Jaidee", "phone": "+66 81 234 5678"],
            "deliveryAddress": ["line1": "1 Test Road", "city": "Bangkok", "postalCode": "10110", "country": "TH"],
            "lines": [
                ["sku": "COFFEE", "quantity": 2],
                ["sku": "WATER", "quantity": 6, "unitPrice": "12.50", "discounts": [["code": "SIX", "amount": "5"]]],
            ],
            "charges": [["type": "delivery", "amount": "25"]],
        ]
    }

    /// Row counts of every order table, to show a refused request changed nothing.
    func orderTables() async throws -> [Int] {
        var counts: [Int] = []
        for table in ["orders", "order_lines", "order_status_history", "outbox", "idempotency_keys"] {
            counts.append(try await database.count(table))
        }
        return counts
    }
}

extension TestResponse {
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
    }

    var error: [String: Any] { json["error"] as? [String: Any] ?? [:] }

    /// The (field, rule) pairs of an error body.
    var fieldRules: [String] {
        (error["fields"] as? [[String: Any]] ?? []).map { "\($0["field"] as? String ?? "?") \($0["rule"] as? String ?? "?")" }
    }

    var text: String { String(buffer: body) }
}
