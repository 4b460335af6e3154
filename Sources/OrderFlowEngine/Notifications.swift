import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOPosix
import OrderFlowDomain
import OrderFlowRuntime

/// The moments a customer hears about: what is said, by which medium.
public enum NotificationTemplate: String, Sendable, CaseIterable, Codable {
    case released, fulfilled
    case outForDelivery = "out_for_delivery"
    case deliveryFailed = "delivery_failed"
    case delivered, cancelled, failed

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
        case .released:
            return
                "Hello \(order.customer.name), your order \(order.id) (\(total)) is confirmed and being prepared.\(cod)"
        case .fulfilled:
            return
                "Your order \(order.id) has left the store\(order.trackingID.map { " (tracking \($0))" } ?? "").\(cod)"
        case .outForDelivery: return "Your order \(order.id) is out for delivery today.\(cod)"
        case .deliveryFailed:
            return "We could not deliver your order \(order.id). We will try again; reply to reschedule."
        case .delivered: return "Your order \(order.id) was delivered. Thank you!"
        case .cancelled: return "Your order \(order.id) was cancelled. Nothing is charged for it."
        case .failed:
            return
                "We are sorry: your order \(order.id) could not be completed (\(order.failureReason ?? "unavailable")). Nothing is charged for it."
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

    public init(url: String, token: String?, client: HTTPClient = OutboundHTTP.client) {
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
        request.body = .bytes(
            ByteBuffer(
                data: try JSONSerialization.data(withJSONObject: [
                    "to": recipient, "message": message, "idempotencyKey": key,
                ])))
        let response = try await client.execute(request, timeout: .seconds(10))
        _ = try await response.body.collect(upTo: 64 * 1024)
        guard (200..<300).contains(response.status.code) else {
            throw ProviderUnavailable(description: "SMS provider answered HTTP \(response.status.code)")
        }
    }
}

/// Customer email through the SMTP client.
extension SMTPClient: NotificationSender {
    public var medium: String { "email" }
}
