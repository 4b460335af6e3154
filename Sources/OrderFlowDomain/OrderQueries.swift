import Foundation

/// An order with its status history, as read back.
public struct StoredOrder: Sendable, Hashable {
    public var order: Order
    public var history: [StatusChange]

    public init(order: Order, history: [StatusChange]) {
        self.order = order
        self.history = history
    }
}

/// A caller's `Idempotency-Key` for placing an order: the key, a hash of the request, and how
/// the answer to store for a retry is written once the order is known.
public struct IdempotencyRequest: Sendable {
    public var key: String
    public var requestHash: String
    public var response: @Sendable (StoredOrder) throws -> String

    public init(key: String, requestHash: String, response: @escaping @Sendable (StoredOrder) throws -> String) {
        self.key = key
        self.requestHash = requestHash
        self.response = response
    }
}

/// What placing an order came to.
public enum Placement: Sendable {
    case created(StoredOrder)
    /// A retry with the same key and body: the answer stored the first time.
    case replayed(String)
}

/// A promise to answer a retried request the same way (the `Idempotency-Key` header).
public struct IdempotencyClaim: Sendable {
    /// Whose key it is: keys of different callers never collide.
    public var scope: String
    public var key: String
    /// A hash of the request body; the same key with another body is refused.
    public var requestHash: String
    public var statusCode: Int
    public var responseBody: String

    public init(scope: String, key: String, requestHash: String, statusCode: Int, responseBody: String) {
        self.scope = scope
        self.key = key
        self.requestHash = requestHash
        self.statusCode = statusCode
        self.responseBody = responseBody
    }
}

public enum CreateOutcome: Sendable, Equatable {
    case created
    /// An earlier request with the same key and body; its stored response.
    case replayed(statusCode: Int, body: String)
}

/// Filters for order search; nil means "any".
public struct OrderQuery: Sendable {
    public var statuses: [OrderStatus]?
    public var statusRange: ClosedRange<Int>?
    /// Restricts to these locations (also how store scoping is applied).
    public var locations: [LocationID]?
    public var customerID: String?
    public var orderType: OrderType?
    public var channel: SalesChannel?
    public var createdFrom: Timestamp?
    public var createdTo: Timestamp?
    public var updatedFrom: Timestamp?
    public var updatedTo: Timestamp?
    /// Matches part of the order ID or of the customer's name, ID, email or phone.
    public var text: String?
    public var limit: Int = 50
    public var after: OrderCursor?

    public init() {}

    /// The query within `scope`: its stores intersected with the scope's, its customer the
    /// scope's own; nil when nothing can match.
    public func narrowed(to scope: OrderScope) -> OrderQuery? {
        var query = self
        switch scope {
        case .everything:
            return query
        case .nothing:
            return nil
        case .locations(let allowed):
            let wanted = locations.map { $0.filter(allowed.contains) } ?? allowed
            query.locations = wanted
            return wanted.isEmpty ? nil : query
        case .customer(let id):
            if let asked = customerID, asked != id { return nil }
            query.customerID = id
            return query
        }
    }
}

/// A position in the newest-first order list: inserts made after the first page never shift
/// later pages, because the key (created_at, seq) only grows.
public struct OrderCursor: Sendable, Hashable {
    public var createdAt: Int64
    public var seq: Int64

    public init(createdAt: Int64, seq: Int64) {
        self.createdAt = createdAt
        self.seq = seq
    }

    /// An opaque token for the API.
    public var token: String { Base64URL.encode("\(createdAt).\(seq)") }

    public init?(token: String) {
        guard let text = Base64URL.decode(token) else { return nil }
        let parts = text.split(separator: ".")
        guard parts.count == 2, let created = Int64(parts[0]), let seq = Int64(parts[1]) else { return nil }
        self.init(createdAt: created, seq: seq)
    }
}

public struct OrderPage: Sendable {
    /// Orders without their lines (see `find`), with how many lines each has.
    public var orders: [(order: Order, lineCount: Int)]
    public var next: OrderCursor?

    public init(orders: [(order: Order, lineCount: Int)], next: OrderCursor? = nil) {
        self.orders = orders
        self.next = next
    }
}

/// Orders created in a period: how many, what they are worth, and their status now.
public struct OrderVolume: Sendable, Hashable {
    public var count: Int
    public var value: Money
    public var byStatus: [OrderStatus: Int]

    public init(count: Int, value: Money, byStatus: [OrderStatus: Int]) {
        self.count = count
        self.value = value
        self.byStatus = byStatus
    }
}

/// How much of one item was ordered in a period.
public struct ItemSales: Sendable, Hashable {
    public var sku: String
    public var name: String?
    public var units: Int
    public var orders: Int

    public init(sku: String, name: String?, units: Int, orders: Int) {
        self.sku = sku
        self.name = name
        self.units = units
        self.orders = orders
    }
}
