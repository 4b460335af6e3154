import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import OrderFlowDomain
import OrderFlowPersistence
import OrderFlowRuntime

/// Delivers transmissions as HTTP POSTs, signed with the channel's secret:
/// `X-OrderFlow-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`, with the event ID
/// as `Idempotency-Key` so receivers can drop repeats; a channel with `batchSize` above 1 gets
/// several events in one request.
///
/// Redirects are not followed: a 3xx is the channel's answer, and a permanent failure. Following one
/// would let a downstream system point OrderFlow at any host, internal ones included, and have it
/// send there a payload signed for the channel.
public struct WebhookSender: Sendable {
    let client: HTTPClient

    public init(client: HTTPClient = OutboundHTTP.client) { self.client = client }

    public struct Result: Sendable {
        public var statusCode: Int?
        public var error: String?
        public var responseExcerpt: String?
        public var durationMicroseconds: Int64
    }

    public static func signature(secret: String, timestamp: Int64, body: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(
            for: Data("\(timestamp).\(body)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    /// Sends one transmission, or several as one request: a JSON array of their bodies in the
    /// order given, signed once, with `X-OrderFlow-Batch-Size` and an `Idempotency-Key` made of
    /// their event IDs (a receiver drops repeats per event by each body's `eventId`).
    public func send(_ batch: [Transmission], to channel: ChannelSettings, now: Timestamp) async -> Result {
        let timestamp = now.microseconds / 1_000_000
        var request = HTTPClientRequest(url: channel.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "OrderFlow")
        request.headers.add(name: "X-OrderFlow-Channel", value: channel.name)
        request.headers.add(name: "X-OrderFlow-Timestamp", value: String(timestamp))
        request.headers.add(name: "X-OrderFlow-Attempt", value: String(batch.map(\.attempts).max() ?? 1))
        let body: String
        if batch.count == 1, let transmission = batch.first {
            request.headers.add(name: "X-OrderFlow-Event-Id", value: transmission.eventID)
            request.headers.add(name: "X-OrderFlow-Event-Type", value: transmission.eventType)
            request.headers.add(name: "Idempotency-Key", value: transmission.eventID)
            body = transmission.payload
        } else {
            request.headers.add(name: "X-OrderFlow-Batch-Size", value: String(batch.count))
            request.headers.add(name: "Idempotency-Key", value: Self.batchKey(batch.map(\.eventID)))
            body = "[" + batch.map(\.payload).joined(separator: ",") + "]"
        }
        if let secret = channel.secret {
            request.headers.add(
                name: "X-OrderFlow-Signature", value: Self.signature(secret: secret, timestamp: timestamp, body: body))
        }
        request.body = .bytes(ByteBuffer(string: body))
        let start = ContinuousClock.now
        do {
            let response = try await client.execute(
                request, timeout: .milliseconds(Int64(channel.timeoutSeconds * 1000)))
            let body = try await response.body.collect(upTo: 64 * 1024)
            return Result(
                statusCode: Int(response.status.code), error: nil,
                responseExcerpt: String(buffer: body).prefix(500).description,
                durationMicroseconds: Self.micros(since: start))
        } catch {
            return Result(
                statusCode: nil, error: String(describing: error).prefix(500).description, responseExcerpt: nil,
                durationMicroseconds: Self.micros(since: start))
        }
    }

    /// `batch-` and the first 32 hex digits of SHA-256 over the event IDs, one per line: the same
    /// events in the same order give the same key.
    static func batchKey(_ eventIDs: [String]) -> String {
        "batch-"
            + SHA256.hash(data: Data(eventIDs.joined(separator: "\n").utf8)).prefix(16).map {
                String(format: "%02x", $0)
            }.joined()
    }

    static func micros(since start: ContinuousClock.Instant) -> Int64 {
        let elapsed = ContinuousClock.now - start
        return elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
    }

    /// 2xx delivers; 408, 425, 429, 5xx and transport errors may pass; any other 4xx refuses the
    /// message itself and will not change on retry.
    public static func isRetryable(statusCode: Int?) -> Bool {
        guard let code = statusCode else { return true }
        return code == 408 || code == 425 || code == 429 || code >= 500
    }
}
