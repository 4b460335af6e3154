import Foundation
import OrderFlowAPI
import OrderFlowDomain

// The server's mapping between the API's generated types and the domain, copied from
// Sources/OrderFlowServer/API/Representations.swift (that module pulls in the whole server).
// Keep the two in step: a benchmark of a mapping the server no longer does measures nothing.

enum Representation {
    static func order(_ order: Order, history: [StatusChange]) -> Components.Schemas.Order {
        Components.Schemas.Order(
            orderId: order.id.rawValue,
            shipFromLocationId: order.shipFromLocationID.rawValue,
            orderType: .init(order.orderType),
            channel: .init(order.channel),
            isForceAllocation: order.isForceAllocation,
            paymentMethod: .init(order.paymentMethod),
            paymentStatus: .init(order.paymentStatus),
            status: .init(order.status),
            statusName: order.status.name,
            customer: .init(id: order.customer.id, name: order.customer.name, email: order.customer.email, phone: order.customer.phone),
            deliveryAddress: order.deliveryAddress.map {
                .init(line1: $0.line1, line2: $0.line2, city: $0.city, postalCode: $0.postalCode, country: $0.country)
            },
            t1MembershipId: order.t1MembershipID,
            t1Number: order.t1Number,
            custRef: order.custRef,
            lines: order.lines.map(line),
            charges: order.charges.map { .init(_type: .init(rawValue: $0.kind.rawValue) ?? .other, amount: $0.amount.description) },
            totals: totals(order.totals),
            createdAt: order.createdAt.date,
            updatedAt: order.updatedAt.date,
            version: order.version,
            history: history.map {
                .init(status: .init($0.status), statusName: $0.status.name, paymentStatus: .init($0.paymentStatus), at: $0.at.date, reason: $0.reason, actor: $0.actor)
            })
    }

    static func line(_ line: OrderLine) -> Components.Schemas.OrderLine {
        Components.Schemas.OrderLine(
            lineNumber: line.number, sku: line.sku.rawValue, quantity: line.quantity,
            unitPrice: line.unitPrice.description, originalUnitPrice: line.originalUnitPrice.description,
            discounts: line.discounts.map { .init(code: $0.code, amount: $0.amount.description) },
            taxes: line.taxes.map { .init(code: $0.code, rate: $0.rate.description, inclusive: $0.inclusive, amount: $0.amount.description) },
            shortDescription: line.shortDescription, imageUrl: line.imageURL, bundleRef: line.bundleRef,
            amounts: .init(
                gross: line.amounts.gross.description, discount: line.amounts.discount.description, net: line.amounts.net.description,
                tax: line.amounts.tax.description, includedTax: line.amounts.includedTax.description, total: line.amounts.total.description))
    }

    static func totals(_ t: OrderTotals) -> Components.Schemas.Totals {
        Components.Schemas.Totals(
            subTotal: t.subTotal.description, totalDiscount: t.totalDiscount.description, totalTaxes: t.totalTaxes.description,
            informationalTaxes: t.informationalTaxes.description, totalFees: t.totalFees.description,
            totalCharge: t.totalCharge.description, orderTotal: t.orderTotal.description,
            roundingAdjustment: t.roundingAdjustment.description)
    }

    static func draft(_ body: Components.Schemas.CreateOrderRequest) -> OrderDraft {
        OrderDraft(
            orderID: body.orderId, shipFromLocationID: body.shipFromLocationId,
            orderType: OrderType(body.orderType), channel: SalesChannel(body.channel),
            isForceAllocation: body.isForceAllocation, paymentMethod: PaymentMethod(body.paymentMethod),
            customer: CustomerDraft(id: body.customer.id, name: body.customer.name, email: body.customer.email, phone: body.customer.phone),
            deliveryAddress: body.deliveryAddress.map {
                AddressDraft(line1: $0.line1, line2: $0.line2, city: $0.city, postalCode: $0.postalCode, country: $0.country)
            },
            t1MembershipID: body.t1MembershipId, t1Number: body.t1Number, custRef: body.custRef,
            lines: body.lines.map {
                LineDraft(
                    sku: $0.sku, quantity: $0.quantity, unitPrice: $0.unitPrice,
                    discounts: ($0.discounts ?? []).map { DiscountDraft(code: $0.code, amount: $0.amount) },
                    taxes: $0.taxes?.map { TaxDraft(code: $0.code, rate: $0.rate, inclusive: $0.inclusive ?? false) },
                    shortDescription: $0.shortDescription, imageURL: $0.imageUrl, bundleRef: $0.bundleRef,
                    shipFromLocationID: $0.shipFromLocationId)
            },
            charges: (body.charges ?? []).map { ChargeDraft(kind: Charge.Kind(rawValue: $0._type.rawValue) ?? .other, amount: $0.amount) })
    }
}

extension Components.Schemas.OrderStatus {
    init(_ status: OrderStatus) { self = .init(rawValue: status.rawValue)! }
}
extension Components.Schemas.PaymentStatus {
    init(_ status: PaymentStatus) { self = .init(rawValue: status.rawValue)! }
}
extension Components.Schemas.PaymentMethod {
    init(_ method: PaymentMethod) { self = .init(rawValue: method.rawValue)! }
}
extension Components.Schemas.OrderType {
    init(_ type: OrderType) { self = .init(rawValue: type.rawValue)! }
}
extension Components.Schemas.Channel {
    init(_ channel: SalesChannel) { self = .init(rawValue: channel.rawValue)! }
}
extension OrderType {
    init(_ type: Components.Schemas.OrderType) { self = .init(rawValue: type.rawValue)! }
}
extension SalesChannel {
    init(_ channel: Components.Schemas.Channel) { self = .init(rawValue: channel.rawValue)! }
}
extension PaymentMethod {
    init(_ method: Components.Schemas.PaymentMethod) { self = .init(rawValue: method.rawValue)! }
}

/// The server's JSON coders (`APIDates` in Sources/OrderFlowServer/API/APIHandlers.swift): the
/// generated server's converter makes one encoder and one decoder, sorted keys, unescaped
/// slashes, RFC 3339 dates with milliseconds.
enum APICoders {
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            let milliseconds = Int64((date.timeIntervalSince1970 * 1_000).rounded())
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.rfc3339(milliseconds * 1_000, fractionDigits: 3))
        }
        return encoder
    }

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            if let date = try? Date(text, strategy: .iso8601) { return date }
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "'\(text)' is not an RFC 3339 date-time"))
        }
        return decoder
    }
}
