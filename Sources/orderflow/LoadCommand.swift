import ArgumentParser
import Foundation
import Logging
import OrderFlowLoad
import OrderFlowPersistence

struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Put a running OrderFlow under load at a constant rate and print throughput and latency percentiles.",
        discussion: """
            Open loop: requests leave on schedule whatever the answers do, and each latency counts from \
            the request's intended send time, so a stalled server is charged for every request it held up. \
            Latencies go into an HdrHistogram (3 significant digits).
            """,
        subcommands: [OrdersLoad.self, EndToEndLoad.self, StreamLoadCommand.self, CeilingServerCommand.self])
}

struct LoadOptions: ParsableArguments {
    @Option(help: "OrderFlow's base URL.") var url = "http://127.0.0.1:8080"
    @Option(help: "An API key with orders.create (or ORDERFLOW_LOAD_API_KEY).") var apiKey: String?
    @Option(help: "Requests a second.") var rate: Double = 167
    @Option(help: "Seconds measured.") var seconds: Double = 30
    @Option(help: "Seconds at the same rate before measuring (not recorded).") var warmupSeconds: Double = 3
    @Option(help: "HTTP/1.1 connections to OrderFlow.") var connections = 64
    @Option(help: "Append the result as one JSON line to this file.") var json: String?

    func validate() throws {
        guard rate > 0, seconds > 0, warmupSeconds >= 0, connections > 0 else {
            throw ValidationError("rate, seconds and connections must be positive")
        }
    }

    var target: Target {
        get throws {
            guard let key = apiKey ?? ProcessInfo.processInfo.environment["ORDERFLOW_LOAD_API_KEY"], !key.isEmpty else {
                throw ValidationError("give an API key with --api-key or ORDERFLOW_LOAD_API_KEY")
            }
            return Target(url: url, apiKey: key, connections: connections)
        }
    }

    /// A warm-up, then the measured run, with order IDs unique to this invocation; `around` wraps
    /// the measured run (the stream mode listens while it goes on).
    func run(around: (String, () async -> RunResult) async throws -> RunResult = { await $1() }) async throws -> (
        OrderLoad, String, RunResult
    ) {
        let runID = String(UInt64(Date().timeIntervalSince1970 * 1_000) % 100_000_000)
        let load = try await OrderLoad.prepare(try target, runID: runID)
        if warmupSeconds > 0 {
            let warmup = try await OrderLoad.prepare(try target, runID: runID + "W")
            let result = await OpenLoop(schedule: Schedule(rate: rate, seconds: warmupSeconds)).run {
                await warmup.send($0)
            }
            await warmup.shutdown()
            print(String(format: "warm-up: %d ok, %d errors", result.ok, result.errorCount))
        }
        let prefix = "LOAD-\(runID)-"
        let result = try await around(prefix) {
            let before = Self.cpuSeconds()
            var result = await OpenLoop(schedule: Schedule(rate: rate, seconds: seconds)).run { await load.send($0) }
            result.generatorCPUSeconds = Self.cpuSeconds() - before
            return result
        }
        return (load, prefix, result)
    }

    /// User and system CPU time of this process so far.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(
            usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    func emit(_ report: RunReport) throws {
        print(report.text)
        guard let json else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var line = try encoder.encode(report)
        line.append(0x0A)
        if let handle = FileHandle(forWritingAtPath: json) {
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: line)
        } else {
            try line.write(to: URL(fileURLWithPath: json))
        }
    }
}

struct OrdersLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orders",
        abstract: "POST /api/orders with realistic bodies (mixed stores, 1–4 lines, COD and card) at --rate a second.")
    @OptionGroup var options: LoadOptions

    func run() async throws {
        let (load, _, result) = try await options.run()
        await load.shutdown()
        try options.emit(RunReport(mode: "orders", targetRate: options.rate, result: result))
        if result.ok == 0 { throw ExitCode(1) }
    }
}

struct EndToEndLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "e2e",
        abstract:
            "Orders at --rate a second, then, read from OrderFlow's database: each order accepted → released → delivered to the channel → acknowledged → classified.",
        discussion:
            "Needs an OrderFlow whose pipeline runs and whose channel acknowledges (orderflow demo does both; give --decline-rate 0 for every order to be released)."
    )
    @OptionGroup var options: LoadOptions
    @Option(help: "OrderFlow's database, sqlite:PATH or postgres://… (read only).") var database: String
    @Option(help: "The channel whose acknowledgement ends an order's way.") var channel = "commerce"
    @Option(help: "Seconds to wait after the last order for the rest to finish.") var waitSeconds: Double = 120

    func run() async throws {
        let (load, prefix, result) = try await options.run()
        await load.shutdown()
        LoggingSystem.bootstrap { _ in SwiftLogNoOpLogHandler() }
        let location = try DatabaseLocation(parsing: database)
        let db = try await Database.open(location, logger: Logger(label: "orderflow.load"))
        let report = try await db.withRunning { db in
            let probe = EndToEnd(database: db, channel: channel)
            let deadline = Date().addingTimeInterval(waitSeconds)
            var progress = try await probe.progress(prefix: prefix)
            while progress.completed + progress.cancelled < progress.accepted, Date() < deadline {
                try await Task.sleep(for: .milliseconds(250))
                progress = try await probe.progress(prefix: prefix)
            }
            var report = RunReport(mode: "e2e", targetRate: options.rate, result: result)
            report.endToEnd = EndToEndReport(progress: progress, stages: try await probe.stages(prefix: prefix))
            return report
        }
        try options.emit(report)
        if report.endToEnd?.completed == 0 { throw ExitCode(1) }
    }
}

struct StreamLoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream",
        abstract:
            "Open --subscribers streams of order events (GET /api/v1/stream), create orders at --rate a second, and measure commit → event receipt on every subscriber.",
        discussion: """
            Each order makes one event on the stream when the server's pipeline does not run \
            (ORDERFLOW_WORKERS=0), so --rate is the event rate. Latency runs from the commit time the \
            event carries to the moment its last byte is read here; a subscriber that misses an \
            event or is reset shows in the counts.
            """)
    @OptionGroup var options: LoadOptions
    @Option(help: "Open event streams.") var subscribers = 100
    @Option(help: "Seconds to wait after the last order for its events.") var waitSeconds: Double = 10

    func run() async throws {
        var stream: StreamReport?
        let (load, _, result) = try await options.run { prefix, work in
            let listeners = try await StreamLoad.connect(try options.target, subscribers: subscribers, prefix: prefix)
            var result: RunResult?
            let heard = await listeners.measure(waitSeconds: waitSeconds) {
                let run = await work()
                result = run
                return run.ok
            }
            await listeners.shutdown()
            stream = heard
            return result!
        }
        await load.shutdown()
        var report = RunReport(mode: "stream", targetRate: options.rate, result: result)
        report.stream = stream
        try options.emit(report)
        if stream?.received == 0 { throw ExitCode(1) }
    }
}

struct CeilingServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ceiling-server",
        abstract:
            "Serve one trivial route (GET / → ok) with Hummingbird and nothing else, for wrk: the HTTP ceiling of this machine (scripts/bench)."
    )
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8090

    func run() async throws {
        try await CeilingServer.run(host: host, port: port)
    }
}
