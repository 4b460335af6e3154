import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import OrderFlowDomain
import OrderFlowEngine
import OrderFlowPersistence
import OrderFlowRuntime
import OrderFlowServer
import OrderFlowTestSupport
import SQLKit
import Synchronization
import Testing

/// An OrderFlow on a fresh database with the sample catalog, driven in-process (or over a real
/// socket with `live`).
struct TestApp {
    let client: any TestClientProtocol
    let database: Database
    let engine: Engine
    /// Told by the rate limiter when acknowledgements or carrier events are refused.
    let throttle: CallbackThrottle
    let metrics: AppMetrics
    let clock: ManualClock
    let logs: LogCapture
    let announcements: LogCapture
    /// The administrator's access token; `send` uses it unless told otherwise.
    let adminToken: String

    static let adminPassword = "test-admin-password-1"
    /// A downstream nothing listens for (port 9): every delivery fails with "connection refused".
    static let refusingChannel = ChannelSettings(
        name: "commerce", url: "http://127.0.0.1:9/x", timeoutSeconds: 0.2, ackMode: .async)
    /// The default of `send(token:)`: the administrator's token (nil sends no credentials).
    static let asAdmin = "(admin)"

    static func run(
        _ kind: Database.Kind = .sqlite, stock: Int = 100, live: Bool = false,
        configure: (inout AppConfiguration) -> Void = { _ in },
        _ body: @Sendable (TestApp) async throws -> Void
    ) async throws {
        let (location, drop) = try await TestDatabase.create(kind)
        var config = AppConfiguration()
        config.database = location
        config.databaseOptions.sqliteSynchronous = "normal"
        config.logLevel = .debug
        config.security.adminPassword = adminPassword
        config.security.bcryptCost = 4
        config.security.loginFailureDelayMilliseconds = 0
        config.security.rateLimit = 0
        config.security.anonymousRateLimit = 0
        if live {
            config.host = "127.0.0.1"
            config.port = 0
        }
        configure(&config)
        let configuredPassword = config.security.adminPassword
        let metrics = AppMetrics()
        let clock = ManualClock(Timestamp(Date()))
        let logs = LogCapture()
        let announcements = LogCapture()
        var logger = Logger(label: "test") { _ in logs.handler() }
        logger.logLevel = .debug
        // The pipeline does not run by itself here: a test runs it with `app.engine.drain()`.
        let dependencies = AppDependencies(
            clock: clock, metrics: metrics, logger: logger, announce: { announcements.append($0) }, runPipeline: false)
        let built = try await buildApplication(config, dependencies: dependencies)
        do {
            // Live: a real server on a free port (`client.port`), for responses that stream.
            try await built.application.test(live ? .live : .router) { client in
                try await Samples.seed(built.database, stock: stock)
                let password =
                    configuredPassword ?? announcements.all.split(separator: "\n")
                    .map { $0.trimmingCharacters(in: .whitespaces) }.first { $0.count == 20 && !$0.contains(" ") } ?? ""
                let login = try await client.execute(
                    uri: "/api/auth/login", method: .post, headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: #"{"username":"admin","password":"\#(password)"}"#))
                let token = try #require(login.json["accessToken"] as? String, "admin sign-in: \(login.text)")
                do {
                    try await body(
                        TestApp(
                            client: client, database: built.database, engine: built.engine,
                            throttle: built.monitor.throttle, metrics: metrics,
                            clock: clock, logs: logs,
                            announcements: announcements, adminToken: token))
                } catch {
                    await built.invoices.end()
                    throw error
                }
                // A test that started the invoice stream leaves nothing running after it.
                await built.invoices.end()
            }
            await drop()
        } catch {
            await drop()
            throw error
        }
    }

    /// Sends JSON (or raw text when `raw` is given) as the administrator, or with `token` (nil:
    /// no credentials), and returns the status, headers and parsed body.
    @discardableResult
    func send(
        _ method: HTTPRequest.Method, _ path: String, json: Any? = nil, raw: String? = nil, headers: HTTPFields = [:],
        token: String? = TestApp.asAdmin
    ) async throws -> TestResponse {
        var headers = headers
        let credential = token == Self.asAdmin ? adminToken : token
        if let credential, headers[.authorization] == nil, headers[HTTPField.Name("x-api-key")!] == nil {
            headers[.authorization] = "Bearer \(credential)"
        }
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

    /// Creates a user through the API and signs in as it; returns its access token.
    func token(
        for roles: [String], username: String? = nil, store: String? = nil, region: String? = nil,
        customer: String? = nil
    ) async throws -> String {
        let name =
            username
            ?? "u-\(roles.joined(separator: "-"))-\(Int.random(in: 1000...999_999))".replacingOccurrences(
                of: "_", with: "-")
        var body: [String: Any] = [
            "username": name, "displayName": name, "roles": roles, "password": "password-of-\(name)",
        ]
        body["storeScope"] = store
        body["regionScope"] = region
        body["customerId"] = customer
        let created = try await send(.post, "/api/users", json: body)
        guard created.status == .created else { throw TestFailure(message: "creating \(name): \(created.text)") }
        let login = try await send(
            .post, "/api/auth/login", json: ["username": name, "password": "password-of-\(name)"], token: nil)
        guard let token = login.json["accessToken"] as? String else {
            throw TestFailure(message: "signing in \(name): \(login.text)")
        }
        return token
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

    /// The number of audit entries with this action.
    func auditCount(_ action: String) async throws -> Int {
        try await database.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM audit_log WHERE action = \(bind: action)").first()!.decode(
                column: "n", as: Int.self)
        }
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
        (error["fields"] as? [[String: Any]] ?? []).map {
            "\($0["field"] as? String ?? "?") \($0["rule"] as? String ?? "?")"
        }
    }

    var text: String { String(buffer: body) }
}

struct TestFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Collects log lines (and announcements) so tests can read what was written.
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: String { lines.withLock { $0.joined(separator: "\n") } }

    func handler() -> some LogHandler { Handler(capture: self) }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            capture.append("\(event.level) \(event.message) \(merged)")
        }
    }
}
