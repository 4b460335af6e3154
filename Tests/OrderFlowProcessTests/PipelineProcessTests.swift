import Foundation
import OrderFlowPersistence
import OrderFlowTestSupport
import Synchronization
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// The pipeline as processes: `orderflow serve` instances and `orderflow simulate` as the
/// downstream, killed with SIGKILL under traffic. Every accepted order must reach a final state
/// exactly once, and downstream must get every event at least once.
@Suite("The pipeline under crashes", .serialized, .databaseSlots)
struct PipelineProcessTests {
    static let adminPassword = "crash-test-admin-password"

    /// Starts the simulator and `instances` servers on one database, and prepares a catalog.
    struct Rig {
        var servers: [ServerProcess]
        let simulator: ServerProcess
        let database: String
        let environment: [String: String]
        var key: String

        static func start(_ location: DatabaseLocation, instances: Int) async throws -> Rig {
            let database = ServerProcess.argument(for: location)
            let simulatorPort = try ServerProcess.freePort()
            let secret = UUID().uuidString
            let channels = """
                [{"name":"commerce","url":"http://127.0.0.1:\(simulatorPort)/commerce/events","events":["order.*"],"secret":"\(secret)","backoffSeconds":0.2,"maxBackoffSeconds":1,"circuitCooldownSeconds":1},
                 {"name":"fulfillment","url":"http://127.0.0.1:\(simulatorPort)/fulfillment/events","events":["order.released"],"secret":"\(secret)","backoffSeconds":0.2,"maxBackoffSeconds":1}]
                """
            let environment = [
                "ORDERFLOW_ADMIN_PASSWORD": adminPassword, "ORDERFLOW_CHANNELS": channels,
                "ORDERFLOW_PAYMENT_URL": "http://127.0.0.1:\(simulatorPort)/payments", "ORDERFLOW_RATE_LIMIT": "0",
                "ORDERFLOW_POLL_SECONDS": "0.05", "ORDERFLOW_JOB_BACKOFF_SECONDS": "0.2",
                "ORDERFLOW_LEASE_SECONDS": "3",
                "ORDERFLOW_SQLITE_SYNCHRONOUS": "normal", "ORDERFLOW_BCRYPT_COST": "4",
            ]
            var servers: [ServerProcess] = []
            do {
                for _ in 0..<instances {
                    servers.append(try await ServerProcess.start(database: database, environment: environment))
                }
                for index in servers.indices { try await servers[index].signIn(password: adminPassword) }
                let admin = servers[0]
                _ = try await admin.send(
                    "POST", "/api/locations",
                    ["id": "QC-C-001", "name": "Crash QC", "region": "BKK", "format": "qc_smf"])
                _ = try await admin.send(
                    "POST", "/api/locations",
                    ["id": "STD-C-001", "name": "Crash DC", "region": "BKK", "format": "standard"])
                for sku in ["C-COFFEE", "C-WATER"] {
                    _ = try await admin.send(
                        "POST", "/api/products",
                        ["sku": sku, "name": sku, "category": "test", "unitPrice": "10.50", "taxRate": "7"])
                    for store in ["QC-C-001", "STD-C-001"] {
                        _ = try await admin.send("PUT", "/api/inventory/\(sku)/locations/\(store)", ["onHand": 100_000])
                    }
                }
                let (_, created) = try await admin.send(
                    "POST", "/api/api-keys", ["name": "simulator", "roles": ["integration"]])
                let key = try #require(created["key"] as? String)
                let simulator = try await ServerProcess.simulator(
                    [
                        "--orderflow-url", "http://127.0.0.1:\(servers[0].port)", "--api-key", key, "--secret", secret,
                        "--advance-seconds", "0.05",
                        "--decline-rate", "0.1", "--delivery-failure-rate", "0",
                    ], port: simulatorPort)
                return Rig(
                    servers: servers, simulator: simulator, database: database, environment: environment, key: key)
            } catch {
                for server in servers { server.stop() } // none outlives a failed start
                throw error
            }
        }

        func body(_ index: Int) -> [String: Any] {
            let qc = index % 3 != 0
            return [
                "orderId": "CRASH-\(index)", "shipFromLocationId": qc ? "QC-C-001" : "STD-C-001", "orderType": "pickup",
                "channel": "app",
                "isForceAllocation": qc, "paymentMethod": qc ? "cod" : "card",
                "customer": ["id": "CUST-\(index)", "name": "Crash Tester", "phone": "+66811111111"],
                "lines": [["sku": "C-COFFEE", "quantity": 1 + index % 3], ["sku": "C-WATER", "quantity": 2]],
            ]
        }

        /// Places an order on any live server, retrying with one idempotency key until one accepts it.
        func place(_ index: Int, alive: @Sendable () -> [ServerProcess]) async -> Bool {
            for attempt in 0..<150 {
                let servers = alive()
                guard !servers.isEmpty else {
                    // Every server is down for the moment: wait for the restart.
                    try? await Task.sleep(for: .milliseconds(100))
                    continue
                }
                let server = servers[(index + attempt) % servers.count]
                if let (status, _) = try? await server.send(
                    "POST", "/api/orders", body(index), headers: ["Idempotency-Key": "crash-\(index)"]),
                    status == 201
                {
                    return true
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
            return false
        }

        func stop() {
            for server in servers { server.stop() }
            simulator.stop()
        }
    }

    /// Waits until every order is final and checks each reached it once.
    func verify(_ rig: Rig, orders: Int, reader: ServerProcess) async throws {
        var pending = Set(0..<orders)
        let deadline = Date().addingTimeInterval(120)
        while !pending.isEmpty && Date() < deadline {
            for index in pending.sorted().prefix(50) {
                if let (status, order) = try? await reader.send("GET", "/api/orders/CRASH-\(index)"), status == 200,
                    let code = order["status"] as? Int, code == 7500 || code == 9000
                {
                    pending.remove(index)
                }
            }
            if !pending.isEmpty { try await Task.sleep(for: .milliseconds(300)) }
        }
        #expect(pending.isEmpty, "orders not final after 2 minutes: \(pending.sorted().prefix(10))")
        var finals = 0
        for index in 0..<orders {
            let (_, order) = try await reader.send("GET", "/api/orders/CRASH-\(index)")
            let statuses = (order["history"] as? [[String: Any]] ?? []).compactMap { $0["status"] as? Int }
            let releases = statuses.filter { $0 == 3000 }.count
            let ends = statuses.filter { $0 == 7500 || $0 == 9000 }.count
            #expect(ends == 1, "CRASH-\(index) reached a final state \(ends) times: \(statuses)")
            #expect(releases <= 1, "CRASH-\(index) was released \(releases) times")
            #expect(statuses.first == 1000)
            finals += ends
        }
        #expect(finals == orders)
        // Downstream got every order's first event; print what at-least-once cost.
        let (_, stats) = try await rig.simulator.send("GET", "/stats")
        let byOrder = stats["commerceEventsByOrder"] as? [String: [String]] ?? [:]
        for index in 0..<orders {
            #expect(byOrder["CRASH-\(index)"]?.first == "order.created", "commerce never saw CRASH-\(index) created")
        }
        let duplicates = stats["commerceDuplicates"] as? Int ?? -1
        let received = stats["commerceReceived"] as? Int ?? 0
        #expect(stats["commerceBadSignatures"] as? Int == 0)
        print(
            "pipeline crash test: \(orders) orders, \(received) commerce deliveries, \(duplicates) duplicates (at-least-once), \(stats["fulfillmentDuplicates"] ?? 0) fulfilment duplicates"
        )
    }

    @Test(arguments: TestDatabase.kinds)
    func everyAcceptedOrderCompletesOnceWhenTheServerIsKilledMidStream(kind: Database.Kind) async throws {
        let (location, drop) = try await TestDatabase.create(kind)
        defer { Task { await drop() } }
        let rig = Shared(try await Rig.start(location, instances: 1))
        defer { rig.withLock { $0.stop() } }
        let orders = 60
        let accepted = Shared(0)
        // Steady traffic, about 40 orders a second, in the background.
        let traffic = Task {
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<orders {
                    group.addTask {
                        if await rig.withLock({ $0 }).place(
                            index, alive: { rig.withLock { $0.servers.filter(\.process.isRunning) } })
                        {
                            accepted.withLock { $0 += 1 }
                        }
                    }
                    try? await Task.sleep(for: .milliseconds(25))
                }
            }
        }
        try await Task.sleep(for: .milliseconds(700))
        // SIGKILL mid-stream: no shutdown, nothing flushed, leases left behind.
        let victim = rig.withLock { $0.servers[0] }
        await victim.kill(signal: SIGKILL)
        try await Task.sleep(for: .milliseconds(300))
        let (database, environment) = rig.withLock { ($0.database, $0.environment) }
        var restarted = try await ServerProcess.start(database: database, port: victim.port, environment: environment)
        rig.withLock { [restarted] in $0.servers = [restarted] } // the rig stops it, whatever fails next
        try await restarted.signIn(password: Self.adminPassword)
        let reader = restarted
        rig.withLock { $0.servers = [reader] }
        await traffic.value
        #expect(accepted.withLock { $0 } == orders)
        try await verify(rig.withLock { $0 }, orders: orders, reader: reader)
    }

    @Test func threeInstancesOnPostgreSQLShareTheWorkAndSurviveOneDying() async throws {
        guard TestDatabase.kinds.contains(.postgres) else { return }
        let (location, drop) = try await TestDatabase.create(.postgres)
        defer { Task { await drop() } }
        let rig = Shared(try await Rig.start(location, instances: 3))
        defer { rig.withLock { $0.stop() } }
        let orders = 90
        let traffic = Task {
            await withTaskGroup(of: Bool.self) { group in
                for index in 0..<orders {
                    group.addTask {
                        await rig.withLock({ $0 }).place(
                            index, alive: { rig.withLock { $0.servers.filter(\.process.isRunning) } })
                    }
                    try? await Task.sleep(for: .milliseconds(20))
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
        }
        try await Task.sleep(for: .milliseconds(800))
        let victim = rig.withLock { $0.servers[1] }
        await victim.kill(signal: SIGKILL)
        rig.withLock { _ = $0.servers.remove(at: 1) }
        #expect(await traffic.value == orders)
        try await verify(rig.withLock { $0 }, orders: orders, reader: rig.withLock { $0.servers[0] })
    }
}

/// A value shared between the test and its background traffic.
final class Shared<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
