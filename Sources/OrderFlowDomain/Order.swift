/// An order as OrderFlow keeps it: validated, enriched and calculated.
public struct Order: Sendable, Hashable {
    public var id: OrderID
    public var shipFromLocationID: LocationID
    public var orderType: OrderType
    public var channel: SalesChannel
    public var isForceAllocation: Bool
    public var paymentMethod: PaymentMethod
    public var paymentStatus: PaymentStatus
    public var status: OrderStatus
    public var customer: Customer
    public var deliveryAddress: Address?
    public var t1MembershipID: String?
    public var t1Number: String?
    public var custRef: String?
    public var lines: [OrderLine]
    public var charges: [Charge]
    public var totals: OrderTotals
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    /// Incremented by every change; writers use it to detect a concurrent change.
    public var version: Int
    /// The carrier's tracking ID, from the first ship event that names one.
    public var trackingID: String?
    public var carrier: String?
    /// The stock reservation made at allocation, released by compensation.
    public var reservationID: String?
    /// The payment provider's reference for a card payment.
    public var paymentReference: String?
    /// Why the pipeline failed the order (stock, payment), when it did.
    public var failureReason: String?

    public init(
        id: OrderID, shipFromLocationID: LocationID, orderType: OrderType, channel: SalesChannel,
        isForceAllocation: Bool, paymentMethod: PaymentMethod, paymentStatus: PaymentStatus, status: OrderStatus,
        customer: Customer, deliveryAddress: Address?, t1MembershipID: String?, t1Number: String?, custRef: String?,
        lines: [OrderLine], charges: [Charge], totals: OrderTotals, createdAt: Timestamp, updatedAt: Timestamp,
        version: Int,
        trackingID: String? = nil, carrier: String? = nil, reservationID: String? = nil,
        paymentReference: String? = nil,
        failureReason: String? = nil
    ) {
        self.id = id
        self.shipFromLocationID = shipFromLocationID
        self.orderType = orderType
        self.channel = channel
        self.isForceAllocation = isForceAllocation
        self.paymentMethod = paymentMethod
        self.paymentStatus = paymentStatus
        self.status = status
        self.customer = customer
        self.deliveryAddress = deliveryAddress
        self.t1MembershipID = t1MembershipID
        self.t1Number = t1Number
        self.custRef = custRef
        self.lines = lines
        self.charges = charges
        self.totals = totals
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.version = version
        self.trackingID = trackingID
        self.carrier = carrier
        self.reservationID = reservationID
        self.paymentReference = paymentReference
        self.failureReason = failureReason
    }
}

public struct Customer: Sendable, Hashable {
    /// The customer's profile ID in the commerce system, when known (rule G).
    public var id: String?
    public var name: String
    public var email: String?
    public var phone: String?

    public init(id: String?, name: String, email: String?, phone: String?) {
        self.id = id
        self.name = name
        self.email = email
        self.phone = phone
    }
}

public struct Address: Sendable, Hashable {
    public var line1: String
    public var line2: String?
    public var city: String
    public var postalCode: String
    /// ISO 3166-1 alpha-2, upper case.
    public var country: String

    public init(line1: String, line2: String?, city: String, postalCode: String, country: String) {
        self.line1 = line1
        self.line2 = line2
        self.city = city
        self.postalCode = postalCode
        self.country = country
    }
}

public struct OrderLine: Sendable, Hashable {
    /// 1-based position in the order; stable for the order's life.
    public var number: Int
    public var sku: SKU
    public var quantity: Int
    public var unitPrice: Money
    /// The price the line was accepted with; substitutions may not exceed it by more than 20 % (FR8).
    public var originalUnitPrice: Money
    public var discounts: [Discount]
    public var taxes: [LineTax]
    public var shortDescription: String?
    public var imageURL: String?
    /// Lines sharing a bundle reference are one promotional bundle, allocated together.
    public var bundleRef: String?
    public var amounts: LineAmounts

    public init(
        number: Int, sku: SKU, quantity: Int, unitPrice: Money, originalUnitPrice: Money, discounts: [Discount],
        taxes: [LineTax], shortDescription: String?, imageURL: String?, bundleRef: String?, amounts: LineAmounts = .zero
    ) {
        self.number = number
        self.sku = sku
        self.quantity = quantity
        self.unitPrice = unitPrice
        self.originalUnitPrice = originalUnitPrice
        self.discounts = discounts
        self.taxes = taxes
        self.shortDescription = shortDescription
        self.imageURL = imageURL
        self.bundleRef = bundleRef
        self.amounts = amounts
    }
}

/// A discount on one line, as a total amount for the line.
public struct Discount: Sendable, Hashable {
    public var code: String?
    public var amount: Money
    public init(code: String?, amount: Money) {
        self.code = code
        self.amount = amount
    }
}

/// A tax on one line. Exclusive taxes are added to the charge (Cal E); inclusive taxes are already
/// in the price and only reported (Cal F).
public struct LineTax: Sendable, Hashable {
    public var code: String
    public var rate: Percent
    public var inclusive: Bool
    /// Calculated: see `OrderCalculator`.
    public var amount: Money

    public init(code: String, rate: Percent, inclusive: Bool, amount: Money = .zero) {
        self.code = code
        self.rate = rate
        self.inclusive = inclusive
        self.amount = amount
    }
}

/// An order-level fee, such as delivery; never prorated to lines (story 2.3, item 8).
public struct Charge: Sendable, Hashable {
    public enum Kind: String, Sendable, CaseIterable {
        case delivery, service, packaging, other
    }
    public var kind: Kind
    public var amount: Money
    public init(kind: Kind, amount: Money) {
        self.kind = kind
        self.amount = amount
    }
}

public struct LineAmounts: Sendable, Hashable {
    /// quantity × unit price.
    public var gross: Money
    /// Sum of the line's discounts.
    public var discount: Money
    /// gross − discount.
    public var net: Money
    /// Exclusive taxes, added on top of net.
    public var tax: Money
    /// Inclusive taxes, already inside net.
    public var includedTax: Money
    /// net + tax.
    public var total: Money

    public static let zero = LineAmounts(
        gross: .zero, discount: .zero, net: .zero, tax: .zero, includedTax: .zero, total: .zero)

    public init(gross: Money, discount: Money, net: Money, tax: Money, includedTax: Money, total: Money) {
        self.gross = gross
        self.discount = discount
        self.net = net
        self.tax = tax
        self.includedTax = includedTax
        self.total = total
    }
}

/// The order's totals, Cal A–F of seed 002 story 2.3 (see docs/api.md for the formulas).
public struct OrderTotals: Sendable, Hashable {
    /// Cal A: sum of line net amounts (after line discounts, before exclusive taxes).
    public var subTotal: Money
    /// Cal D: sum of line discounts.
    public var totalDiscount: Money
    /// Cal E: sum of exclusive taxes.
    public var totalTaxes: Money
    /// Cal F: sum of inclusive taxes, reported only.
    public var informationalTaxes: Money
    /// Sum of order-level charges (fees).
    public var totalFees: Money
    /// Cal B: subTotal + totalTaxes + totalFees, exact to 0.0001.
    public var totalCharge: Money
    /// Cal C: totalCharge rounded to 0.01, the amount the customer pays.
    public var orderTotal: Money
    /// orderTotal − totalCharge.
    public var roundingAdjustment: Money

    public static let zero = OrderTotals(
        subTotal: .zero, totalDiscount: .zero, totalTaxes: .zero, informationalTaxes: .zero,
        totalFees: .zero, totalCharge: .zero, orderTotal: .zero, roundingAdjustment: .zero)

    public init(
        subTotal: Money, totalDiscount: Money, totalTaxes: Money, informationalTaxes: Money,
        totalFees: Money, totalCharge: Money, orderTotal: Money, roundingAdjustment: Money
    ) {
        self.subTotal = subTotal
        self.totalDiscount = totalDiscount
        self.totalTaxes = totalTaxes
        self.informationalTaxes = informationalTaxes
        self.totalFees = totalFees
        self.totalCharge = totalCharge
        self.orderTotal = orderTotal
        self.roundingAdjustment = roundingAdjustment
    }
}

/// One row of an order's status history.
public struct StatusChange: Sendable, Hashable {
    public var status: OrderStatus
    public var paymentStatus: PaymentStatus
    public var at: Timestamp
    public var reason: String?
    /// Who made the change: a user, a key, or `system` for the pipeline.
    public var actor: String

    public init(status: OrderStatus, paymentStatus: PaymentStatus, at: Timestamp, reason: String?, actor: String) {
        self.status = status
        self.paymentStatus = paymentStatus
        self.at = at
        self.reason = reason
        self.actor = actor
    }
}
