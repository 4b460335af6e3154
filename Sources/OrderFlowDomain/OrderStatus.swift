/// An order's fulfilment status: seed 002's codes, plus 7400 for a failed delivery attempt.
public enum OrderStatus: Int, Sendable, CaseIterable, Comparable, CustomStringConvertible {
    case open = 1000
    case allocated = 2000
    case released = 3000
    case picking = 3500
    case picked = 3600
    case packed = 3700
    case fulfilled = 7000
    case shipped = 7100
    case inTransit = 7200
    case outForDelivery = 7300
    case deliveryFailed = 7400
    case delivered = 7500
    case cancelled = 9000

    public var name: String {
        switch self {
        case .open: "Open"
        case .allocated: "Allocated"
        case .released: "Released"
        case .picking: "Picking"
        case .picked: "Picked"
        case .packed: "Packed"
        case .fulfilled: "Fulfilled"
        case .shipped: "Shipped"
        case .inTransit: "In transit"
        case .outForDelivery: "Out for delivery"
        case .deliveryFailed: "Delivery failed"
        case .delivered: "Delivered"
        case .cancelled: "Cancelled"
        }
    }

    public var description: String { "\(rawValue) \(name)" }
    public static func < (lhs: OrderStatus, rhs: OrderStatus) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The statuses an order may move to from this one: the table in docs/api.md.
    ///
    /// Fulfilment and delivery events may skip ahead (a `packed` event can arrive before
    /// `picking`), so each status lists every later status of its phase; nothing moves backwards
    /// except a failed delivery, which is rescheduled.
    public var allowedNext: Set<OrderStatus> {
        switch self {
        case .open: [.allocated, .cancelled]
        case .allocated: [.released, .cancelled]
        case .released: [.picking, .picked, .packed, .fulfilled, .cancelled]
        case .picking: [.picked, .packed, .fulfilled, .cancelled]
        case .picked: [.packed, .fulfilled, .cancelled]
        case .packed: [.fulfilled, .cancelled]
        case .fulfilled: [.shipped, .inTransit, .outForDelivery, .deliveryFailed, .delivered]
        case .shipped: [.inTransit, .outForDelivery, .deliveryFailed, .delivered]
        case .inTransit: [.outForDelivery, .deliveryFailed, .delivered]
        case .outForDelivery: [.deliveryFailed, .delivered]
        case .deliveryFailed: [.inTransit, .outForDelivery, .delivered, .cancelled]
        case .delivered, .cancelled: []
        }
    }

    public func canMove(to next: OrderStatus) -> Bool { allowedNext.contains(next) }

    /// Delivered and cancelled orders never change again.
    public var isFinal: Bool { allowedNext.isEmpty }

    /// FR8: once released to fulfilment (3000 and later) an order's lines can no longer change.
    public var locksLines: Bool { rawValue >= OrderStatus.released.rawValue }
}

/// How an order is paid.
public enum PaymentMethod: String, Sendable, CaseIterable {
    /// Cash on delivery, collected by the rider.
    case cod
    case card
}

/// Payment progress, kept apart from the fulfilment status.
///
/// COD: `codPending` → `codConfirmed` → `codCollected`. Card: `paid` (seed 002's 5000).
public enum PaymentStatus: String, Sendable, CaseIterable {
    case awaitingPayment = "awaiting_payment"
    case codPending = "cod_pending"
    case codConfirmed = "cod_confirmed"
    case codCollected = "cod_collected"
    case paid
    case failed
    case voided
    case refunded

    public var allowedNext: Set<PaymentStatus> {
        switch self {
        case .awaitingPayment: [.codPending, .paid, .failed, .voided]
        case .codPending: [.codConfirmed, .codCollected, .voided]
        case .codConfirmed: [.codCollected, .voided]
        case .paid: [.refunded]
        case .codCollected: [.refunded]
        case .failed, .voided, .refunded: []
        }
    }

    public func canMove(to next: PaymentStatus) -> Bool { allowedNext.contains(next) }
}

/// How the customer receives the order.
public enum OrderType: String, Sendable, CaseIterable {
    case delivery
    case pickup
}

/// Where the order was placed.
public enum SalesChannel: String, Sendable, CaseIterable {
    case web
    case app
    case store
    case marketplace
    case callCenter = "call_center"
}

/// The kind of store an order ships from; QC small-format stores force-allocate and take COD only.
public enum LocationFormat: String, Sendable, CaseIterable {
    case qcSmallFormat = "qc_smf"
    case standard
}
