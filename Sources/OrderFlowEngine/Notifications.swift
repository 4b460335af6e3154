import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOPosix
import OrderFlowDomain

/// The moments a customer hears about: what is said, by which medium.
public enum NotificationTemplate: String, Sendable, CaseIterable, Codable {
    case released, fulfilled, outForDelivery = "out_for_delivery", deliveryFailed = "delivery_failed", delivered, cancelled, failed

    /// The template for a status an order just reached, if that status is worth telling.
    public static func forStatus(_ status: OrderStatus, failed: Bool) -> NotificationTemplate? {
        switch status {
        case .released: .released
        case .fulfilled: .fulfilled
        case .outForDelivery: .outForDelivery
        case .deliveryFailed: .deliveryFailed
        case .delivered: .delivered
        case .cancelled: failed ? .failed : .cancelled
        default: nil
        }
    }

    public func subject(_ order: Order) -> String {
        switch self {
        case .released: "Order \(order.id) is confirmed"
        case .fulfilled: "Order \(order.id) is on its way"
        case .outForDelivery: "Order \(order.id) is out for delivery"
        case .deliveryFailed: "We could not deliver order \(order.id)"
        case .delivered: "Order \(order.id) was delivered"
        case .cancelled: "Order \(order.id) was cancelled"
        case .failed: "Order \(order.id) could not be completed"
        }
    }

    public func message(_ order: Order) -> String {
        let total = order.totals.orderTotal.formatted(places: 2)
        let cod = order.paymentMethod == .cod ? " Please have \(total) ready in cash." : ""
        switch self {
        case .released: return "Hello \(order.customer.name), your order \(order.id) (\(total)) is confirmed and being prepared.\(cod)"
        case .fulfilled: return "Your order \(order.id) has left the store\(order.trackingID.map { " (tracking \($0))" } ?? "").\(cod)"
        case .outForDelivery: return "Your order \(order.id) is out for delivery today.\(cod)"
        case .deliveryFailed: return "We could not deliver your order \(order.id). We will try again; reply to reschedule."
        case .delivered: return "Your order \(order.id) was delivered. Thank you!"
        case .cancelled: return "Your order \(order.id) was cancelled. Nothing is charged for it."
        case .failed: return "We are sorry: your order \(order.id) could not be completed (\(order.failureReason ?? "unavailable")). Nothing is charged for it."
        }
    }
}

/// Sends one message; `key` identifies it, so a receiver (or we) can drop a repeat.
public protocol NotificationSender: Sendable {
    var medium: String { get }
    func send(to recipient: String, subject: String, message: String, key: String) async throws
}

/// SMS through an HTTP provider: `POST url` `{"to", "message", "idempotencyKey"}`.
public struct HTTPSMSSender: NotificationSender {
    public let medium = "sms"
    let url: String
    let token: String?
    let client: HTTPClient

    public init(url: String, token: String?, client: HTTPClient = .shared) {
        self.url = url
        self.token = token
        self.client = client
    }

    public func send(to recipient: String, subject: String, message: String, key: String) async throws {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Idempotency-Key", value: key)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.body = .bytes(ByteBuffer(data: try JSONSerialization.data(withJSONObject: ["to": recipient, "message": message, "idempotencyKey": key])))
        let response = try await client.execute(request, timeout: .seconds(10))
        _ = try await response.body.collect(upTo: 64 * 1024)
        guard (200..<300).contains(response.status.code) else { throw ProviderUnavailable(description: "SMS provider answered HTTP \(response.status.code)") }
    }
}

/// Email over plain SMTP (RFC 5321): EHLO, MAIL FROM, RCPT TO, DATA, QUIT. The message ID is
/// built from the key, so mail systems can recognise a repeat.
public struct SMTPSender: NotificationSender {
    public let medium = "email"
    let host: String
    let port: Int
    let from: String

    public init(host: String, port: Int, from: String) {
        self.host = host
        self.port = port
        self.from = from
    }

    /// `smtp://host:port`.
    public init?(url: String, from: String) {
        guard let components = URLComponents(string: url), components.scheme == "smtp", let host = components.host else { return nil }
        self.init(host: host, port: components.port ?? 25, from: from)
    }

    public func send(to recipient: String, subject: String, message: String, key: String) async throws {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        try await channel.executeThenClose { inbound, outbound in
            var replies = SMTPReplies(inbound.makeAsyncIterator())
            func command(_ line: String?, expect codes: Set<Int>) async throws {
                if let line { try await outbound.write(ByteBuffer(string: line + "\r\n")) }
                let (code, text) = try await replies.next()
                guard codes.contains(code) else { throw ProviderUnavailable(description: "SMTP \(line?.split(separator: " ").first ?? "greeting"): \(code) \(text)") }
            }
            try await command(nil, expect: [220])
            try await command("EHLO orderflow", expect: [250])
            try await command("MAIL FROM:<\(from)>", expect: [250])
            try await command("RCPT TO:<\(recipient)>", expect: [250, 251])
            try await command("DATA", expect: [354])
            let date = Date().formatted(.iso8601)
            let headers = [
                "From: OrderFlow <\(from)>", "To: <\(recipient)>", "Subject: \(subject)", "Date: \(date)",
                "Message-ID: <\(key.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." })@orderflow>",
                "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
            ]
            // Dot-stuffing: a line that starts with "." gets another.
            let body = message.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasPrefix(".") ? "." + $0 : String($0) }
            try await command((headers + [""] + body).joined(separator: "\r\n") + "\r\n.", expect: [250])
            try await command("QUIT", expect: [221])
        }
    }
}

/// Reads SMTP replies: lines `NNN-text` continue, `NNN text` ends a reply.
struct SMTPReplies {
    var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    var pending = ""

    init(_ iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator) { self.iterator = iterator }

    mutating func next() async throws -> (Int, String) {
        var text: [String] = []
        while true {
            while let range = pending.range(of: "\r\n") {
                let line = String(pending[..<range.lowerBound])
                pending = String(pending[range.upperBound...])
                text.append(String(line.dropFirst(4)))
                if line.count >= 4, let code = Int(line.prefix(3)), line[line.index(line.startIndex, offsetBy: 3)] == " " {
                    return (code, text.joined(separator: " "))
                }
                if line.count == 3, let code = Int(line) { return (code, "") }
            }
            guard let buffer = try await iterator.next() else { throw ProviderUnavailable(description: "SMTP server closed the connection") }
            pending += String(buffer: buffer)
        }
    }
}
