import Foundation
import OrderFlowPersistence
import OrderFlowTestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// `orderflow serve` as a real process: what is acknowledged survives SIGKILL, and SIGTERM stops it cleanly.
@Suite("The orderflow process", .serialized, .databaseSlots)
struct ProcessTests {
    @Test(arguments: TestDatabase.kinds)
    func acceptedOrderSurvivesSIGKILL(kind: Database.Kind) async throws {
        let (location, drop) = try await TestDatabase.create(kind)
        defer { Task { await drop() } }
        let database = ServerProcess.argument(for: location)

        var first = try await ServerProcess.start(database: database)
        defer { first.stop() }
        // First start: an administrator with a generated password, printed once.
        let banner = first.output()
        let password = try #require(
            banner.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.first {
                $0.count == 20 && !$0.contains(" ")
            })
        #expect(banner.contains("created the administrator 'admin'"))
        try await first.signIn(password: password)
        _ = try await first.send(
            "POST", "/api/locations", ["id": "QC-K-001", "name": "Kill test", "region": "BKK", "format": "qc_smf"])
        _ = try await first.send(
            "POST", "/api/products",
            ["sku": "K-1", "name": "Kill test item", "category": "test", "unitPrice": "10.05", "taxRate": "7"])
        let order: [String: Any] = [
            "orderId": "KILL-1", "shipFromLocationId": "QC-K-001", "orderType": "pickup", "channel": "store",
            "isForceAllocation": true, "paymentMethod": "cod", "customer": ["name": "Survivor", "phone": "0812345678"],
            "lines": [["sku": "K-1", "quantity": 3]],
        ]
        let (status, created) = try await first.send("POST", "/api/orders", order)
        #expect(status == 201)
        await first.kill(signal: SIGKILL)

        var second = try await ServerProcess.start(database: database)
        defer { second.stop() }
        #expect(!second.output().contains("administrator"), "the password is printed at the first start only")
        try await second.signIn(password: password)
        let (readStatus, read) = try await second.send("GET", "/api/orders/KILL-1")
        #expect(readStatus == 200)
        #expect((read["totals"] as? [String: String])?["orderTotal"] == "30.1500")
        #expect((read["totals"] as? [String: String]) == (created["totals"] as? [String: String]))
        #expect((read["history"] as? [[String: Any]])?.first?["status"] as? Int == 1000)

        // SIGTERM: the server stops taking requests, finishes, closes the database and exits 0.
        #expect(await second.kill(signal: SIGTERM) == 0)
    }
}

extension ProcessTests {
    /// `orderflow demo` gives its accounts new passwords and adds a key at every start: on a database
    /// that `serve` made, it refuses and changes nothing.
    @Test func theDemoRefusesADatabaseItDidNotMake() async throws {
        let (location, drop) = try await TestDatabase.create(.sqlite)
        defer { Task { await drop() } }
        let database = ServerProcess.argument(for: location)
        var served = try await ServerProcess.start(database: database)
        let password = try #require(
            served.output().split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .first { $0.count == 20 && !$0.contains(" ") })
        await served.stopped()

        let demo = try await Subprocess.run(
            ServerProcess.binary,
            ["demo", "--database", database, "--port", String(try ServerProcess.freePort()), "--order-rate", "0"])
        let said = demo.errors
        #expect(demo.status != 0)
        #expect(said.contains("not made by orderflow demo"), "\(said)")

        // The administrator's password is still the one serve printed.
        var again = try await ServerProcess.start(database: database)
        defer { again.stop() }
        try await again.signIn(password: password)
    }

    /// A client that starts a request and never finishes its head is hung up on once the idle
    /// timeout has passed: it cannot hold a connection for ever.
    @Test func aRequestHeadThatNeverEndsIsHungUpOn() async throws {
        let (location, drop) = try await TestDatabase.create(.sqlite)
        defer { Task { await drop() } }
        let server = try await ServerProcess.start(
            database: ServerProcess.argument(for: location), environment: ["ORDERFLOW_IDLE_TIMEOUT_SECONDS": "1"])
        defer { server.stop() }
        let port = server.port
        // Reads on a thread of its own; gives up after 20 s.
        let hungUp = await onOwnThread { () -> Bool in
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard connected == 0 else { return false }
            var timeout = timeval(tv_sec: 20, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let start = "GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
            _ = start.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
            var buffer = [UInt8](repeating: 0, count: 512)
            // 0: the server closed the connection; -1: still open when the wait ran out.
            return recv(fd, &buffer, buffer.count, 0) == 0
        }
        #expect(hungUp)
    }

    @Test func servesHTTPSWithHSTSWhenGivenACertificate() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "orderflow-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        #expect(
            try await run(
                "/usr/bin/env",
                [
                    "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                    "-days", "1", "-keyout", key, "-out", certificate,
                ]
            ).status == 0)
        let port = try ServerProcess.freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServerProcess.binary)
        process.arguments = [
            "serve", "--port", String(port), "--database", "sqlite:\(directory.path)/db.sqlite", "--log-level", "error",
        ]
        process.environment = ProcessInfo.processInfo.environment.merging(
            [
                "ORDERFLOW_TLS_CERT": certificate, "ORDERFLOW_TLS_KEY": key,
                "ORDERFLOW_ADMIN_PASSWORD": "tls-test-admin-password",
            ]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer { process.terminate() }
        var headers = ""
        for _ in 0..<100 {
            let result = try await run(
                "/usr/bin/env",
                ["curl", "-sk", "-D", "-", "-o", "/dev/null", "https://127.0.0.1:\(port)/api/v1/health"])
            if result.status == 0 && result.output.hasPrefix("HTTP/1.1 200") {
                headers = result.output
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(headers.hasPrefix("HTTP/1.1 200"))
        #expect(headers.lowercased().contains("strict-transport-security: max-age=31536000"))
        let plain = try await run(
            "/usr/bin/env",
            ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/api/v1/health"])
        #expect(plain.output != "200", "plain HTTP is not served on a TLS port")
    }

    func run(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        let result = try await Subprocess.run(executable, arguments)
        return (result.status, result.output)
    }
}

/// A running `orderflow serve` on a free loopback port.
struct ServerProcess {
    let process: Process
    let port: Int
    let printed: OutputBuffer
    var token: String?

    /// What the process printed to standard output so far.
    func output() -> String { printed.text }

    mutating func signIn(password: String) async throws {
        let (status, body) = try await send("POST", "/api/auth/login", ["username": "admin", "password": password])
        guard status == 200, let token = body["accessToken"] as? String else {
            throw ProcessError(message: "sign-in failed: \(status)")
        }
        self.token = token
    }

    /// The binary scripts/test built; next to the test bundle when run by `swift test` directly.
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["ORDERFLOW_BINARY"], !path.isEmpty { return path }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
            "orderflow"
        ).path
    }

    static func argument(for location: DatabaseLocation) -> String {
        switch location {
        case .sqlite(let path): "sqlite:\(path)"
        case .postgres(let s):
            "postgres://\(s.username)\(s.password.map { ":\($0)" } ?? "")@\(s.host):\(s.port)/\(s.database)"
        }
    }

    static func start(database: String, port: Int? = nil, environment: [String: String] = [:]) async throws
        -> ServerProcess
    {
        try await launch(
            ["serve", "--database", database, "--log-level", "error"], port: port, environment: environment,
            ready: "/api/v1/health")
    }

    /// `orderflow simulate`, ready when its /stats answers.
    static func simulator(_ arguments: [String], port: Int? = nil) async throws -> ServerProcess {
        try await launch(["simulate"] + arguments, port: port, environment: [:], ready: "/stats")
    }

    /// Requests to a server killed mid-request write to a dead socket; that must be an error
    /// for the request, not a SIGPIPE that ends the whole test run.
    static let ignoreBrokenPipes: Void = { signal(SIGPIPE, SIG_IGN) }()

    static func launch(_ arguments: [String], port: Int?, environment: [String: String], ready: String) async throws
        -> ServerProcess
    {
        _ = ignoreBrokenPipes
        let port = try port ?? freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments + ["--port", String(port)]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        // Both streams into pipes of ours: a server left running by a failed test must not hold
        // the test run's own output open (the run would never end).
        let stdout = Pipe()
        let printed = OutputBuffer()
        stdout.fileHandleForReading.readabilityHandler = { handle in printed.append(handle.availableData) }
        process.standardOutput = stdout
        let stderr = Pipe()
        stderr.fileHandleForReading.readabilityHandler = { handle in
            FileHandle.standardError.write(handle.availableData)
        }
        process.standardError = stderr
        try process.run()
        let server = ServerProcess(process: process, port: port, printed: printed)
        for _ in 0..<300 {
            if let (status, _) = try? await server.send("GET", ready), status == 200 { return server }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.terminate()
        throw ProcessError(message: "orderflow \(arguments[0]) did not become ready on port \(port)")
    }

    /// SIGTERM, and SIGKILL if it has not ended 20 s later: a server that fails to stop must fail
    /// loudly here rather than outlive the test and keep the test run's output open. Returns at
    /// once (it is called from `defer`); a thread of its own waits for the end.
    func stop() {
        guard process.isRunning else { return }
        let process = process
        process.terminate()
        Thread.detachNewThread {
            for _ in 0..<200 where process.isRunning { usleep(100_000) }
            if process.isRunning {
                print("orderflow (pid \(process.processIdentifier)) ignored SIGTERM for 20 s; killed")
                Glibc.kill(process.processIdentifier, SIGKILL)
            }
        }
    }

    /// Stops the process and waits until it has ended.
    func stopped() async {
        stop()
        let process = process
        await onOwnThread { process.waitUntilExit() }
    }

    /// Sends a signal and waits for the process to end; returns its exit status.
    @discardableResult
    func kill(signal: Int32) async -> Int32 {
        Glibc.kill(process.processIdentifier, signal)
        let process = process
        return await onOwnThread {
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    func send(_ method: String, _ path: String, _ body: [String: Any]? = nil, headers: [String: String] = [:])
        async throws -> (Int, [String: Any])
    {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        request.timeoutInterval = 5
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let body {
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, json)
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw ProcessError(message: "no free port") }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    struct ProcessError: Error {
        var message: String
    }
}

final class OutputBuffer: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func append(_ more: Data) { lock.withLock { data.append(more) } }
    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
}

extension ProcessTests {
    /// `orderflow load orders` against a real server: every scheduled request is sent once, each
    /// creates an order, and the JSON report says so (no timing is asserted).
    @Test func loadToolSendsEveryScheduledOrderAndReportsIt() async throws {
        let (location, drop) = try await TestDatabase.create(.sqlite)
        defer { Task { await drop() } }
        let password = "load-test-\(UUID().uuidString.prefix(8))"
        var server = try await ServerProcess.start(
            database: ServerProcess.argument(for: location),
            environment: [
                "ORDERFLOW_ADMIN_PASSWORD": password, "ORDERFLOW_RATE_LIMIT": "0", "ORDERFLOW_BCRYPT_COST": "4",
            ])
        defer { server.stop() }
        try await server.signIn(password: password)
        _ = try await server.send(
            "POST", "/api/locations", ["id": "QC-L-001", "name": "Load test", "region": "BKK", "format": "qc_smf"])
        _ = try await server.send(
            "POST", "/api/products",
            ["sku": "L-1", "name": "Load test item", "category": "test", "unitPrice": "10.00", "taxRate": "7"])
        let (_, created) = try await server.send("POST", "/api/api-keys", ["name": "load", "roles": ["integration"]])
        let key = try #require(created["key"] as? String)

        let report = FileManager.default.temporaryDirectory.appendingPathComponent("load-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: report) }
        let load = try await Subprocess.run(
            ServerProcess.binary,
            [
                "load", "orders", "--url", "http://127.0.0.1:\(server.port)", "--api-key", key,
                "--rate", "40", "--seconds", "1", "--warmup-seconds", "0", "--connections", "4", "--json", report.path,
            ])
        #expect(load.status == 0, "\(load.errors)")

        let line = try String(contentsOf: report, encoding: .utf8).split(separator: "\n").last.map(String.init) ?? ""
        let figures = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(figures["sent"] as? Int == 40)
        #expect(figures["ok"] as? Int == 40)
        #expect((figures["errors"] as? [String: Any])?.isEmpty == true)
        #expect((figures["latency"] as? [String: Any])?["count"] as? Int == 40)
        // Each request created its own order.
        let (status, page) = try await server.send("GET", "/api/orders/search?q=LOAD-&limit=100")
        #expect(status == 200)
        #expect((page["items"] as? [Any])?.count == 40)
    }
}
