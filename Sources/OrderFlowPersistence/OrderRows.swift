import Foundation
import OrderFlowDomain
import SQLKit
import Synchronization

/// `orders` as stored. Money in units of 0.0001, times in UTC microseconds.
struct OrderRow: Codable {
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

    static let columns = [
        "order_id", "location_id", "order_type", "channel", "is_force_allocation", "payment_method", "payment_status",
        "status", "customer_id", "customer_name", "customer_search", "customer_email", "customer_phone",
        "delivery_address", "t1_membership_id", "t1_number", "cust_ref", "charges", "sub_total", "total_discount",
        "total_taxes", "informational_taxes", "total_fees", "total_charge", "order_total", "rounding_adjustment",
        "line_count", "created_at", "updated_at", "version", "tracking_id", "carrier", "reservation_id",
        "payment_reference", "failure_reason",
    ]

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
        charges = try JSONCoding.encode(order.charges.map { ChargeJSON(type: $0.kind.rawValue, amount: $0.amount.units) })
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
            orderType: try Self.decode(OrderType(rawValue: orderType), "order_type", orderType),
            channel: try Self.decode(SalesChannel(rawValue: channel), "channel", channel),
            isForceAllocation: isForceAllocation,
            paymentMethod: try Self.decode(PaymentMethod(rawValue: paymentMethod), "payment_method", paymentMethod),
            paymentStatus: try Self.decode(PaymentStatus(rawValue: paymentStatus), "payment_status", paymentStatus),
            status: try Self.decode(OrderStatus(rawValue: status), "status", "\(status)"),
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
            createdAt: Timestamp(microseconds: createdAt), updatedAt: Timestamp(microseconds: updatedAt), version: version,
            trackingID: trackingId, carrier: carrier, reservationID: reservationId, paymentReference: paymentReference,
            failureReason: failureReason)
    }

    static func decode<T>(_ value: T?, _ column: String, _ raw: String) throws -> T {
        guard let value else { throw PersistenceError.corruptRow(table: "orders", column: column, value: raw) }
        return value
    }
}

extension OrderRow {
    /// Column names and values in one list, for INSERTs without a Codable pass per row (the
    /// intake writes these for every order).
    var columnValues: [(column: String, value: any Encodable & Sendable)] {
        [
            ("order_id", orderId),
            ("location_id", locationId),
            ("order_type", orderType),
            ("channel", channel),
            ("is_force_allocation", isForceAllocation),
            ("payment_method", paymentMethod),
            ("payment_status", paymentStatus),
            ("status", status),
            ("customer_id", customerId),
            ("customer_name", customerName),
            ("customer_search", customerSearch),
            ("customer_email", customerEmail),
            ("customer_phone", customerPhone),
            ("delivery_address", deliveryAddress),
            ("t1_membership_id", t1MembershipId),
            ("t1_number", t1Number),
            ("cust_ref", custRef),
            ("charges", charges),
            ("sub_total", subTotal),
            ("total_discount", totalDiscount),
            ("total_taxes", totalTaxes),
            ("informational_taxes", informationalTaxes),
            ("total_fees", totalFees),
            ("total_charge", totalCharge),
            ("order_total", orderTotal),
            ("rounding_adjustment", roundingAdjustment),
            ("line_count", lineCount),
            ("created_at", createdAt),
            ("updated_at", updatedAt),
            ("version", version),
            ("tracking_id", trackingId),
            ("carrier", carrier),
            ("reservation_id", reservationId),
            ("payment_reference", paymentReference),
            ("failure_reason", failureReason),
        ]
    }
}

struct OrderLineRow: Codable {
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
        taxes = try JSONCoding.encode(line.taxes.map { TaxJSON(code: $0.code, rate: $0.rate.units, inclusive: $0.inclusive, amount: $0.amount.units) })
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
                discounts: try JSONCoding.decode([DiscountJSON].self, from: discounts).map { Discount(code: $0.code, amount: Money(units: $0.amount)) },
                taxes: try JSONCoding.decode([TaxJSON].self, from: taxes).map {
                    LineTax(code: $0.code, rate: Percent(units: $0.rate), inclusive: $0.inclusive, amount: Money(units: $0.amount))
                },
                shortDescription: shortDescription, imageURL: imageUrl, bundleRef: bundleRef,
                amounts: LineAmounts(
                    gross: Money(units: gross), discount: Money(units: discount), net: Money(units: net),
                    tax: Money(units: tax), includedTax: Money(units: includedTax), total: Money(units: total)))
        }
    }
}

extension OrderLineRow {
    /// Column names and values in one list, for INSERTs without a Codable pass per row (the
    /// intake writes these for every order).
    var columnValues: [(column: String, value: any Encodable & Sendable)] {
        [
            ("order_id", orderId),
            ("line_number", lineNumber),
            ("sku", sku),
            ("quantity", quantity),
            ("unit_price", unitPrice),
            ("original_unit_price", originalUnitPrice),
            ("discounts", discounts),
            ("taxes", taxes),
            ("short_description", shortDescription),
            ("image_url", imageUrl),
            ("bundle_ref", bundleRef),
            ("gross", gross),
            ("discount", discount),
            ("net", net),
            ("tax", tax),
            ("included_tax", includedTax),
            ("total", total),
        ]
    }
}

struct StatusHistoryRow: Codable {
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
                status: try OrderRow.decode(OrderStatus(rawValue: status), "status", "\(status)"),
                paymentStatus: try OrderRow.decode(PaymentStatus(rawValue: paymentStatus), "payment_status", paymentStatus),
                at: Timestamp(microseconds: at), reason: reason, actor: actor)
        }
    }
}

extension StatusHistoryRow {
    /// Column names and values in one list, for INSERTs without a Codable pass per row (the
    /// intake writes these for every order).
    var columnValues: [(column: String, value: any Encodable & Sendable)] {
        [
            ("order_id", orderId),
            ("status", status),
            ("payment_status", paymentStatus),
            ("reason", reason),
            ("actor", actor),
            ("at", at),
        ]
    }
}

struct AddressJSON: Codable {
    var line1: String
    var line2: String?
    var city: String
    var postalCode: String
    var country: String
    init(_ a: Address) {
        line1 = a.line1
        line2 = a.line2
        city = a.city
        postalCode = a.postalCode
        country = a.country
    }
    var address: Address { Address(line1: line1, line2: line2, city: city, postalCode: postalCode, country: country) }
}

struct ChargeJSON: Codable {
    var type: String
    var amount: Int64
}

struct DiscountJSON: Codable {
    var code: String?
    var amount: Int64
}

struct TaxJSON: Codable {
    var code: String
    var rate: Int64
    var inclusive: Bool
    var amount: Int64
}

/// Storage failures that are not the caller's fault.
public enum PersistenceError: Error, CustomStringConvertible {
    case corruptRow(table: String, column: String, value: String)

    public var description: String {
        switch self {
        case .corruptRow(let table, let column, let value): "unreadable value '\(value)' in \(table).\(column)"
        }
    }
}

enum Rows {
    // Row properties are camelCase, columns snake_case. SQLKit's own snake-case strategies convert
    // every key of every row again (a tenth of the intake's CPU time when measured); these ask
    // `ColumnNames`, which converts each key once.
    static let decoder = SQLRowDecoder(keyDecodingStrategy: .custom { path in SomeCodingKey(stringValue: ColumnNames.column(for: path.last!.stringValue)) })
    static let encoder = SQLQueryEncoder(
        keyEncodingStrategy: .custom { path in SomeCodingKey(stringValue: ColumnNames.column(for: path.last!.stringValue)) },
        nilEncodingStrategy: .asNil)
}

/// camelCase property names to snake_case column names (`t1MembershipId` → `t1_membership_id`,
/// `isForceAllocation` → `is_force_allocation`), each converted once and then remembered.
enum ColumnNames {
    private static let known = Mutex<[String: String]>([:])

    static func column(for key: String) -> String {
        if let column = known.withLock({ $0[key] }) { return column }
        let column = snakeCase(key)
        known.withLock { $0[key] = column }
        return column
    }

    /// A word starts at an upper-case letter after a lower-case letter or a digit, and at the last
    /// capital of a run followed by a lower-case letter (`HTTPStatus` → `http_status`).
    static func snakeCase(_ key: String) -> String {
        let characters = Array(key)
        var column = ""
        for (index, character) in characters.enumerated() {
            guard character.isUppercase else {
                column.append(character)
                continue
            }
            if index > 0 {
                let previous = characters[index - 1]
                let next = index + 1 < characters.count ? characters[index + 1] : nil
                if previous.isLowercase || previous.isNumber || (previous.isUppercase && next?.isLowercase == true) {
                    column.append("_")
                }
            }
            column += character.lowercased()
        }
        return column
    }
}

/// Recognises constraint violations from either driver.
enum ConstraintViolation {
    static func isUnique(_ error: any Error) -> Bool {
        if let error = error as? SQLiteError {
            return [.constraint, .constraintUniqueFailed, .constraintPrimaryKeyFailed].contains(error.reason)
        }
        if let error = error as? PSQLError {
            return error.serverInfo?[.sqlState] == "23505"
        }
        return false
    }
}

import PostgresKit
import SQLiteKit

extension SQLDatabase {
    /// One multi-row INSERT of rows given as `columnValues` (all with the same columns).
    func insert(into table: String, rows: [[(column: String, value: any Encodable & Sendable)]]) async throws {
        guard let first = rows.first else { return }
        let insert = self.insert(into: table).columns(first.map(\.column))
        for row in rows { insert.values(row.map { SQLBind($0.value) }) }
        try await insert.run()
    }
}
