import Foundation

/// An event recorded in the same transaction as the change it describes, for the outbox relay to
/// deliver to downstream systems.
public struct OutboxEvent: Sendable, Hashable {
    public var eventID: String
    /// `order.created`, `order.cancelled`, `order.lines_changed`, …
    public var type: String
    public var orderID: OrderID
    /// The event body as JSON.
    public var payload: String
    public var createdAt: Timestamp
    /// What live pages hear when this event commits (nil: nothing).
    public var live: FeedEvent?

    public init(
        eventID: String = UUID().uuidString.lowercased(), type: String, orderID: OrderID, payload: String,
        createdAt: Timestamp
    ) {
        self.eventID = eventID
        self.type = type
        self.orderID = orderID
        self.payload = payload
        self.createdAt = createdAt
    }

    /// Equal when the stored event is: `live` is not stored.
    public static func == (lhs: OutboxEvent, rhs: OutboxEvent) -> Bool {
        (lhs.eventID, lhs.type, lhs.orderID, lhs.payload, lhs.createdAt) == (
            rhs.eventID, rhs.type, rhs.orderID, rhs.payload, rhs.createdAt
        )
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(eventID)
    }

    /// The standard event for a change to `order`: its identity, status, totals and lines.
    public static func forOrder(_ type: String, _ order: Order, reason: String? = nil, at: Timestamp) -> OutboxEvent {
        let eventID = UUID().uuidString.lowercased()
        let body = OrderEventBody(
            eventId: eventID, type: type, occurredAt: at.description, orderId: order.id.rawValue,
            shipFromLocationId: order.shipFromLocationID.rawValue, status: order.status.rawValue,
            statusName: order.status.name, paymentMethod: order.paymentMethod.rawValue,
            paymentStatus: order.paymentStatus.rawValue, orderType: order.orderType.rawValue,
            channel: order.channel.rawValue, customerId: order.customer.id, customerName: order.customer.name,
            orderTotal: order.totals.orderTotal.description, reason: reason, version: order.version,
            lines: order.lines.map {
                .init(
                    lineNumber: $0.number, sku: $0.sku.rawValue, quantity: $0.quantity,
                    unitPrice: $0.unitPrice.description, total: $0.amounts.total.description, bundleRef: $0.bundleRef)
            })
        let payload = (try? JSONCoding.encoder.encode(body)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        var event = OutboxEvent(eventID: eventID, type: type, orderID: order.id, payload: payload, createdAt: at)
        event.live = FeedEvent(
            topic: .order, type: type, orderID: order.id.rawValue, locationID: order.shipFromLocationID.rawValue,
            customerID: order.customer.id,
            fields: [
                ("status", .int(Int64(order.status.rawValue))), ("statusName", .string(order.status.name)),
                ("paymentStatus", .string(order.paymentStatus.rawValue)),
                ("orderType", .string(order.orderType.rawValue)),
                ("channel", .string(order.channel.rawValue)),
                ("orderTotal", .string(order.totals.orderTotal.description)),
            ])
        return event
    }
}

/// The JSON body of an order event (documented in docs/api.md).
struct OrderEventBody: Codable {
    struct Line: Codable {
        var lineNumber: Int
        var sku: String
        var quantity: Int
        var unitPrice: String
        var total: String
        var bundleRef: String?
    }
    var eventId: String
    var type: String
    var occurredAt: String
    var orderId: String
    var shipFromLocationId: String
    var status: Int
    var statusName: String
    var paymentMethod: String
    var paymentStatus: String
    var orderType: String
    var channel: String
    var customerId: String?
    var customerName: String
    var orderTotal: String
    var reason: String?
    var version: Int
    var lines: [Line]
}

package enum JSONCoding {
    package static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()
    package static let decoder = JSONDecoder()

    package static func encode<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    package static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        try decoder.decode(type, from: Data(text.utf8))
    }
}
