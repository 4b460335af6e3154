import AsyncHTTPClient
import Foundation
import Histogram
import NIOCore
import NIOHTTP1
import OrderFlowDomain
import Synchronization

/// Subscribers on `GET /api/v1/stream` while orders are created: for every `order.created` event
/// of the run each subscriber receives, the time from the order's commit (`committedAt`, stamped by
/// the server after its transaction committed) to the moment the event's last byte was read here.
/// Both clocks are this machine's, so the figure is exact to the clock's resolution.
public final class StreamLoad: Sendable {
    let target: Target
    let client: HTTPClient
    let prefix: String
    let connections: [EventStreamConnection]
    let state = Mutex(State())

    struct State {
        var latency = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
        var received = 0
        var resets = 0
        var ended = 0
    }

    private init(target: Target, client: HTTPClient, prefix: String, connections: [EventStreamConnection]) {
        self.target = target
        self.client = client
        self.prefix = prefix
        self.connections = connections
    }

    /// Opens `subscribers` streams of order events; returns once every one has answered 200.
    public static func connect(_ target: Target, subscribers: Int, prefix: String) async throws -> StreamLoad {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(
            idleTimeout: .seconds(600), concurrentHTTP1ConnectionsPerHostSoftLimit: subscribers)
        configuration.timeout = .init(connect: .seconds(5))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            var connections: [EventStreamConnection] = []
            for _ in 0..<subscribers {
                let connection = try await EventStreamConnection.open(
                    client, url: target.url + "/api/v1/stream?topics=order", headers: [("x-api-key", target.apiKey)])
                guard connection.status == .ok else {
                    throw LoadError(
                        "GET /api/v1/stream answered \(connection.status.code): \(try await connection.text().prefix(200))"
                    )
                }
                connections.append(connection)
            }
            return StreamLoad(target: target, client: client, prefix: prefix, connections: connections)
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// Reads every stream while `work` runs, then until each subscriber has heard `expected()`
    /// orders of the run or `waitSeconds` have passed.
    public func measure(waitSeconds: Double, while work: () async -> Int) async -> StreamReport {
        let readers = connections.map { connection in
            Task { await self.read(connection) }
        }
        let orders = await work()
        let deadline = ContinuousClock.now + .seconds(waitSeconds)
        while state.withLock({ $0.received }) < orders * connections.count, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        for reader in readers { reader.cancel() }
        for reader in readers { await reader.value }
        return state.withLock { state in
            StreamReport(
                subscribers: connections.count, orders: orders, expected: orders * connections.count,
                received: state.received,
                resets: state.resets, latency: Percentiles(state.latency))
        }
    }

    private func read(_ connection: EventStreamConnection) async {
        var latency = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
        var received = 0
        var resets = 0
        var iterator = connection.makeAsyncIterator()
        var flushed = ContinuousClock.now
        func flush() {
            let (batch, count, resetCount) = (latency, received, resets)
            state.withLock {
                $0.latency.add(batch)
                $0.received += count
                $0.resets += resetCount
            }
            latency.reset()
            received = 0
            resets = 0
        }
        while !Task.isCancelled {
            guard let event = try? await iterator.next() else { break }
            let now = Timestamp(Date()).microseconds
            if event.event == "reset" {
                resets += 1
            } else if event.event == "order", let (orderID, committedAt) = Self.created(event.data),
                orderID.hasPrefix(prefix)
            {
                _ = latency.record(UInt64(max(0, now - committedAt.microseconds)))
                received += 1
            }
            if ContinuousClock.now - flushed > .milliseconds(20) {
                flush()
                flushed = ContinuousClock.now
            }
        }
        flush()
    }

    /// The order ID and commit time of an `order.created` event, read without a JSON parser (the
    /// load generator shares the machine with the server it measures).
    static func created(_ data: String) -> (String, Timestamp)? {
        guard data.contains(#""type":"order.created""#),
            let orderID = field("orderId", in: data), let committed = field("committedAt", in: data),
            let committedAt = Timestamp(rfc3339: committed)
        else { return nil }
        return (orderID, committedAt)
    }

    static func field(_ name: String, in data: String) -> String? {
        guard let start = data.range(of: "\"\(name)\":\"") else { return nil }
        guard let end = data[start.upperBound...].firstIndex(of: "\"") else { return nil }
        return String(data[start.upperBound..<end])
    }

    public func shutdown() async {
        try? await client.shutdown()
    }
}

/// What the subscribers heard.
public struct StreamReport: Sendable, Codable {
    public var subscribers: Int
    /// Orders of the run the server accepted.
    public var orders: Int
    /// `orders` × `subscribers`.
    public var expected: Int
    public var received: Int
    public var resets: Int
    /// Commit → receipt.
    public var latency: Percentiles

    public var lines: [String] {
        [
            "  stream: \(subscribers) subscribers heard \(received) of \(expected) order events (\(resets) resets)",
            "  commit → SSE receipt: " + latency.line,
        ]
    }
}
