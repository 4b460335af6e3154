/// An order as a caller sent it: strings where the wire has strings, so every rule can report on
/// exactly what arrived.
public struct OrderDraft: Sendable, Hashable {
    public var orderID: String
    public var shipFromLocationID: String
    public var orderType: OrderType
    public var channel: SalesChannel
    public var isForceAllocation: Bool?
    public var paymentMethod: PaymentMethod
    public var customer: CustomerDraft
    public var deliveryAddress: AddressDraft?
    public var t1MembershipID: String?
    public var t1Number: String?
    public var custRef: String?
    public var lines: [LineDraft]
    public var charges: [ChargeDraft]

    public init(
        orderID: String, shipFromLocationID: String, orderType: OrderType, channel: SalesChannel,
        isForceAllocation: Bool? = nil, paymentMethod: PaymentMethod, customer: CustomerDraft,
        deliveryAddress: AddressDraft? = nil, t1MembershipID: String? = nil, t1Number: String? = nil,
        custRef: String? = nil, lines: [LineDraft], charges: [ChargeDraft] = []
    ) {
        self.orderID = orderID
        self.shipFromLocationID = shipFromLocationID
        self.orderType = orderType
        self.channel = channel
        self.isForceAllocation = isForceAllocation
        self.paymentMethod = paymentMethod
        self.customer = customer
        self.deliveryAddress = deliveryAddress
        self.t1MembershipID = t1MembershipID
        self.t1Number = t1Number
        self.custRef = custRef
        self.lines = lines
        self.charges = charges
    }
}

public struct CustomerDraft: Sendable, Hashable {
    public var id: String?
    public var name: String
    public var email: String?
    public var phone: String?
    public init(id: String? = nil, name: String, email: String? = nil, phone: String? = nil) {
        self.id = id
        self.name = name
        self.email = email
        self.phone = phone
    }
}

public struct AddressDraft: Sendable, Hashable {
    public var line1: String
    public var line2: String?
    public var city: String
    public var postalCode: String
    public var country: String
    public init(line1: String, line2: String? = nil, city: String, postalCode: String, country: String) {
        self.line1 = line1
        self.line2 = line2
        self.city = city
        self.postalCode = postalCode
        self.country = country
    }
}

public struct LineDraft: Sendable, Hashable {
    public var sku: String
    public var quantity: Int
    /// Omitted: the catalog price.
    public var unitPrice: String?
    public var discounts: [DiscountDraft]
    /// Omitted: the product's VAT from the catalog.
    public var taxes: [TaxDraft]?
    public var shortDescription: String?
    public var imageURL: String?
    public var bundleRef: String?
    public var shipFromLocationID: String?

    public init(
        sku: String, quantity: Int, unitPrice: String? = nil, discounts: [DiscountDraft] = [], taxes: [TaxDraft]? = nil,
        shortDescription: String? = nil, imageURL: String? = nil, bundleRef: String? = nil,
        shipFromLocationID: String? = nil
    ) {
        self.sku = sku
        self.quantity = quantity
        self.unitPrice = unitPrice
        self.discounts = discounts
        self.taxes = taxes
        self.shortDescription = shortDescription
        self.imageURL = imageURL
        self.bundleRef = bundleRef
        self.shipFromLocationID = shipFromLocationID
    }
}

public struct DiscountDraft: Sendable, Hashable {
    public var code: String?
    public var amount: String
    public init(code: String? = nil, amount: String) {
        self.code = code
        self.amount = amount
    }
}

public struct TaxDraft: Sendable, Hashable {
    public var code: String
    public var rate: String
    public var inclusive: Bool
    public init(code: String, rate: String, inclusive: Bool = false) {
        self.code = code
        self.rate = rate
        self.inclusive = inclusive
    }
}

public struct ChargeDraft: Sendable, Hashable {
    public var kind: Charge.Kind
    public var amount: String
    public init(kind: Charge.Kind, amount: String) {
        self.kind = kind
        self.amount = amount
    }
}
