import Foundation
import OrderFlowDomain
import SQLKit
import Synchronization

/// `orders` as stored. Money in units of 0.0001, times in UTC microseconds.
struct OrderRow: Codable, TableRow {
    static let table = "orders"

    var orderId: String
    var locationId: String
    var orderType: String
    var channel: String
    var isForceAllocation: Bool
    var paymentMethod: String
    var paymentStatus: String
    var status: Int
    var customerId: String?
    var customerName: String
    var customerSearch: String
    var customerEmail: String?
    var customerPhone: String?
    var deliveryAddress: String?
    var t1MembershipId: String?
    var t1Number: String?
    var custRef: String?
    var charges: String
    var subTotal: Int64
    var totalDiscount: Int64
    var totalTaxes: Int64
    var informationalTaxes: Int64
    var totalFees: Int64
    var totalCharge: Int64
    var orderTotal: Int64
    var roundingAdjustment: Int64
    var lineCount: Int
    var createdAt: Int64
    var updatedAt: Int64
    var version: Int
    var trackingId: String?
    var carrier: String?
    var reservationId: String?
    var paymentReference: String?
    var failureReason: String?

    static let columns = fields.map(\.column)

    init(_ order: Order) throws {
        orderId = order.id.rawValue
        locationId = order.shipFromLocationID.rawValue
        orderType = order.orderType.rawValue
        channel = order.channel.rawValue
        isForceAllocation = order.isForceAllocation
        paymentMethod = order.paymentMethod.rawValue
        paymentStatus = order.paymentStatus.rawValue
        status = order.status.rawValue
        customerId = order.customer.id
        customerName = order.customer.name
        customerSearch = [order.customer.name, order.customer.id, order.customer.email, order.customer.phone]
            .compactMap { $0 }.joined(separator: " ").lowercased()
        customerEmail = order.customer.email
        customerPhone = order.customer.phone
        deliveryAddress = try order.deliveryAddress.map { try JSONCoding.encode(AddressJSON($0)) }
        t1MembershipId = order.t1MembershipID
        t1Number = order.t1Number
        custRef = order.custRef
        charges = try JSONCoding.encode(
            order.charges.map { ChargeJSON(type: $0.kind.rawValue, amount: $0.amount.units) })
        subTotal = order.totals.subTotal.units
        totalDiscount = order.totals.totalDiscount.units
        totalTaxes = order.totals.totalTaxes.units
        informationalTaxes = order.totals.informationalTaxes.units
        totalFees = order.totals.totalFees.units
        totalCharge = order.totals.totalCharge.units
        orderTotal = order.totals.orderTotal.units
        roundingAdjustment = order.totals.roundingAdjustment.units
        lineCount = order.lines.count
        createdAt = order.createdAt.microseconds
        updatedAt = order.updatedAt.microseconds
        version = order.version
        trackingId = order.trackingID
        carrier = order.carrier
        reservationId = order.reservationID
        paymentReference = order.paymentReference
        failureReason = order.failureReason
    }

    func order(lines: [OrderLine]) throws -> Order {
        Order(
            id: OrderID(orderId), shipFromLocationID: LocationID(locationId),
            orderType: try Self.parse(orderType, column: "order_type"),
            channel: try Self.parse(channel, column: "channel"),
            isForceAllocation: isForceAllocation,
            paymentMethod: try Self.parse(paymentMethod, column: "payment_method"),
            paymentStatus: try Self.parse(paymentStatus, column: "payment_status"),
            status: try Self.parse(status, column: "status"),
            customer: Customer(id: customerId, name: customerName, email: customerEmail, phone: customerPhone),
            deliveryAddress: try deliveryAddress.map { try JSONCoding.decode(AddressJSON.self, from: $0).address },
            t1MembershipID: t1MembershipId, t1Number: t1Number, custRef: custRef, lines: lines,
            charges: try JSONCoding.decode([ChargeJSON].self, from: charges).map {
                Charge(kind: Charge.Kind(rawValue: $0.type) ?? .other, amount: Money(units: $0.amount))
            },
            totals: OrderTotals(
                subTotal: Money(units: subTotal), totalDiscount: Money(units: totalDiscount),
                totalTaxes: Money(units: totalTaxes), informationalTaxes: Money(units: informationalTaxes),
                totalFees: Money(units: totalFees), totalCharge: Money(units: totalCharge),
                orderTotal: Money(units: orderTotal), roundingAdjustment: Money(units: roundingAdjustment)),
            createdAt: Timestamp(microseconds: createdAt), updatedAt: Timestamp(microseconds: updatedAt),
            version: version,
            trackingID: trackingId, carrier: carrier, reservationID: reservationId, paymentReference: paymentReference,
            failureReason: failureReason)
    }
}

extension OrderRow {
    /// Each column and the property it holds, listed once: INSERTs write them without a Codable
    /// pass per row (the intake writes these for every order), SELECTs name them, and the row
    /// decodes by the same names.
    static let fields: [(column: String, value: @Sendable (OrderRow) -> any Encodable & Sendable)] = [
        ("order_id", { $0.orderId }),
        ("location_id", { $0.locationId }),
        ("order_type", { $0.orderType }),
        ("channel", { $0.channel }),
        ("is_force_allocation", { $0.isForceAllocation }),
        ("payment_method", { $0.paymentMethod }),
        ("payment_status", { $0.paymentStatus }),
        ("status", { $0.status }),
        ("customer_id", { $0.customerId }),
        ("customer_name", { $0.customerName }),
        ("customer_search", { $0.customerSearch }),
        ("customer_email", { $0.customerEmail }),
        ("customer_phone", { $0.customerPhone }),
        ("delivery_address", { $0.deliveryAddress }),
        ("t1_membership_id", { $0.t1MembershipId }),
        ("t1_number", { $0.t1Number }),
        ("cust_ref", { $0.custRef }),
        ("charges", { $0.charges }),
        ("sub_total", { $0.subTotal }),
        ("total_discount", { $0.totalDiscount }),
        ("total_taxes", { $0.totalTaxes }),
        ("informational_taxes", { $0.informationalTaxes }),
        ("total_fees", { $0.totalFees }),
        ("total_charge", { $0.totalCharge }),
        ("order_total", { $0.orderTotal }),
        ("rounding_adjustment", { $0.roundingAdjustment }),
        ("line_count", { $0.lineCount }),
        ("created_at", { $0.createdAt }),
        ("updated_at", { $0.updatedAt }),
        ("version", { $0.version }),
        ("tracking_id", { $0.trackingId }),
        ("carrier", { $0.carrier }),
        ("reservation_id", { $0.reservationId }),
        ("payment_reference", { $0.paymentReference }),
        ("failure_reason", { $0.failureReason }),
    ]

    var columnValues: [(column: String, value: any Encodable & Sendable)] {
        Self.fields.map { ($0.column, $0.value(self)) }
    }
}

struct OrderLineRow: Codable, TableRow {
    static let table = "order_lines"

    var orderId: String
    var lineNumber: Int
    var sku: String
    var quantity: Int
    var unitPrice: Int64
    var originalUnitPrice: Int64
    var discounts: String
    var taxes: String
    var shortDescription: String?
    var imageUrl: String?
    var bundleRef: String?
    var gross: Int64
    var discount: Int64
    var net: Int64
    var tax: Int64
    var includedTax: Int64
    var total: Int64

    init(_ line: OrderLine, of order: OrderID) throws {
        orderId = order.rawValue
        lineNumber = line.number
        sku = line.sku.rawValue
        quantity = line.quantity
        unitPrice = line.unitPrice.units
        originalUnitPrice = line.originalUnitPrice.units
        discounts = try JSONCoding.encode(line.discounts.map { DiscountJSON(code: $0.code, amount: $0.amount.units) })
        taxes = try JSONCoding.encode(
            line.taxes.map {
                TaxJSON(code: $0.code, rate: $0.rate.units, inclusive: $0.inclusive, amount: $0.amount.units)
            })
        shortDescription = line.shortDescription
        imageUrl = line.imageURL
        bundleRef = line.bundleRef
        gross = line.amounts.gross.units
        discount = line.amounts.discount.units
        net = line.amounts.net.units
        tax = line.amounts.tax.units
        includedTax = line.amounts.includedTax.units
        total = line.amounts.total.units
    }

    var line: OrderLine {
        get throws {
            OrderLine(
                number: lineNumber, sku: SKU(sku), quantity: quantity, unitPrice: Money(units: unitPrice),
                originalUnitPrice: Money(units: originalUnitPrice),
                discounts: try JSONCoding.decode([DiscountJSON].self, from: discounts).map {
                    Discount(code: $0.code, amount: Money(units: $0.amount))
                },
                taxes: try JSONCoding.decode([TaxJSON].self, from: taxes).map {
                    LineTax(
                        code: $0.code, rate: Percent(units: $0.rate), inclusive: $0.inclusive,
                        amount: Money(units: $0.amount))
                },
                shortDescription: shortDescription, imageURL: imageUrl, bundleRef: bundleRef,
                amounts: LineAmounts(
                    gross: Money(units: gross), discount: Money(units: discount), net: Money(units: net),
                    tax: Money(units: tax), includedTax: Money(units: includedTax), total: Money(units: total)))
        }
    }
}

extension OrderLineRow {
    /// Each column and the property it holds, listed once: INSERTs write them without a Codable
    /// pass per row (the intake writes these for every order), SELECTs name them, and the row
    /// decodes by the same names.
    static let fields: [(column: String, value: @Sendable (OrderLineRow) -> any Encodable & Sendable)] = [
        ("order_id", { $0.orderId }),
        ("line_number", { $0.lineNumber }),
        ("sku", { $0.sku }),
        ("quantity", { $0.quantity }),
        ("unit_price", { $0.unitPrice }),
        ("original_unit_price", { $0.originalUnitPrice }),
        ("discounts", { $0.discounts }),
        ("taxes", { $0.taxes }),
        ("short_description", { $0.shortDescription }),
        ("image_url", { $0.imageUrl }),
        ("bundle_ref", { $0.bundleRef }),
        ("gross", { $0.gross }),
        ("discount", { $0.discount }),
        ("net", { $0.net }),
        ("tax", { $0.tax }),
        ("included_tax", { $0.includedTax }),
        ("total", { $0.total }),
    ]

    var columnValues: [(column: String, value: any Encodable & Sendable)] {
        Self.fields.map { ($0.column, $0.value(self)) }
    }
}

struct StatusHistoryRow: Codable, TableRow {
    static let table = "order_status_history"

    var orderId: String
    var status: Int
    var paymentStatus: String
    var reason: String?
    var actor: String
    var at: Int64

    init(_ change: StatusChange, of order: OrderID) {
        orderId = order.rawValue
        status = change.status.rawValue
        paymentStatus = change.paymentStatus.rawValue
        reason = change.reason
        actor = change.actor
        at = change.at.microseconds
    }

    var change: StatusChange {
        get throws {
            StatusChange(
                status: try Self.parse(status, column: "status"),
                paymentStatus: try Self.parse(paymentStatus, column: "payment_status"),
                at: Timestamp(microseconds: at), reason: reason, actor: actor)
        }
    }
}

extension StatusHistoryRow {
    /// Each column and the property it holds, listed once: INSERTs write them without a Codable
    /// pass per row (the intake writes these for every order), SELECTs name them, and the row
    /// decodes by the same names.
    static let fields: [(column: String, value: @Sendable (StatusHistoryRow) -> any Encodable & Sendable)] = [
        ("order_id", { $0.orderId }),
        ("status", { $0.status }),
        ("payment_status", { $0.paymentStatus }),
        ("reason", { $0.reason }),
        ("actor", { $0.actor }),
        ("at", { $0.at }),
    ]

    var columnValues: [(column: String, value: any Encodable & Sendable)] {
        Self.fields.map { ($0.column, $0.value(self)) }
    }
}
