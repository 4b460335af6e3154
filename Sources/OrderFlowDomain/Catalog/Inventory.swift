import Foundation

public struct StockLevel: Sendable, Hashable {
    public var sku: SKU
    public var location: LocationID
    public var onHand: Int
    public var reserved: Int
    public var available: Int { onHand - reserved }

    public init(sku: SKU, location: LocationID, onHand: Int, reserved: Int) {
        self.sku = sku
        self.location = location
        self.onHand = onHand
        self.reserved = reserved
    }
}

public struct ReservationRequest: Sendable, Hashable {
    public var reservationID: String
    public var location: LocationID
    public var orderID: OrderID?
    public var items: [Item]

    public struct Item: Sendable, Hashable {
        public var sku: SKU
        public var quantity: Int
        public init(sku: SKU, quantity: Int) {
            self.sku = sku
            self.quantity = quantity
        }
    }

    public init(reservationID: String, location: LocationID, orderID: OrderID?, items: [Item]) {
        self.reservationID = reservationID
        self.location = location
        self.orderID = orderID
        self.items = items
    }

    /// What makes two requests "the same" for idempotency: location, order and items, in SKU order.
    public var fingerprint: String {
        let items = items.sorted { $0.sku < $1.sku }.map { "\($0.sku.rawValue)=\($0.quantity)" }.joined(separator: ",")
        return "\(location.rawValue)|\(orderID?.rawValue ?? "")|\(items)"
    }
}

public struct Reservation: Sendable, Hashable {
    public enum Status: String, Sendable { case reserved, released }
    public var reservationID: String
    public var location: LocationID
    public var orderID: OrderID?
    public var status: Status
    public var items: [ReservationRequest.Item]
    public var createdAt: Timestamp
    public var releasedAt: Timestamp?

    public init(
        reservationID: String, location: LocationID, orderID: OrderID? = nil, status: Status,
        items: [ReservationRequest.Item], createdAt: Timestamp, releasedAt: Timestamp? = nil
    ) {
        self.reservationID = reservationID
        self.location = location
        self.orderID = orderID
        self.status = status
        self.items = items
        self.createdAt = createdAt
        self.releasedAt = releasedAt
    }
}
