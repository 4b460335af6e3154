import Foundation
import OrderFlowAPI
import OrderFlowDomain

/// Domain values as the API document spells them, and back.
enum Representation {
    static func order(_ stored: StoredOrder) -> Components.Schemas.Order {
        let order = stored.order
        return Components.Schemas.Order(
            orderId: order.id.rawValue,
            shipFromLocationId: order.shipFromLocationID.rawValue,
            orderType: .init(order.orderType),
            channel: .init(order.channel),
            isForceAllocation: order.isForceAllocation,
            paymentMethod: .init(order.paymentMethod),
            paymentStatus: .init(order.paymentStatus),
            status: .init(order.status),
            statusName: order.status.name,
            customer: .init(
                id: order.customer.id, name: order.customer.name, email: order.customer.email,
                phone: order.customer.phone),
            deliveryAddress: order.deliveryAddress.map {
                .init(line1: $0.line1, line2: $0.line2, city: $0.city, postalCode: $0.postalCode, country: $0.country)
            },
            t1MembershipId: order.t1MembershipID,
            t1Number: order.t1Number,
            custRef: order.custRef,
            lines: order.lines.map(line),
            charges: order.charges.map {
                .init(_type: .init(rawValue: $0.kind.rawValue) ?? .other, amount: $0.amount.description)
            },
            totals: totals(order.totals),
            createdAt: order.createdAt.date,
            updatedAt: order.updatedAt.date,
            version: order.version,
            history: stored.history.map {
                .init(
                    status: .init($0.status), statusName: $0.status.name, paymentStatus: .init($0.paymentStatus),
                    at: $0.at.date, reason: $0.reason, actor: $0.actor)
            })
    }

    static func line(_ line: OrderLine) -> Components.Schemas.OrderLine {
        Components.Schemas.OrderLine(
            lineNumber: line.number, sku: line.sku.rawValue, quantity: line.quantity,
            unitPrice: line.unitPrice.description, originalUnitPrice: line.originalUnitPrice.description,
            discounts: line.discounts.map { .init(code: $0.code, amount: $0.amount.description) },
            taxes: line.taxes.map {
                .init(code: $0.code, rate: $0.rate.description, inclusive: $0.inclusive, amount: $0.amount.description)
            },
            shortDescription: line.shortDescription, imageUrl: line.imageURL, bundleRef: line.bundleRef,
            amounts: .init(
                gross: line.amounts.gross.description, discount: line.amounts.discount.description,
                net: line.amounts.net.description,
                tax: line.amounts.tax.description, includedTax: line.amounts.includedTax.description,
                total: line.amounts.total.description))
    }

    static func totals(_ t: OrderTotals) -> Components.Schemas.Totals {
        Components.Schemas.Totals(
            subTotal: t.subTotal.description, totalDiscount: t.totalDiscount.description,
            totalTaxes: t.totalTaxes.description,
            informationalTaxes: t.informationalTaxes.description, totalFees: t.totalFees.description,
            totalCharge: t.totalCharge.description, orderTotal: t.orderTotal.description,
            roundingAdjustment: t.roundingAdjustment.description)
    }

    static func summary(_ order: Order, lineCount: Int) -> Components.Schemas.OrderSummary {
        Components.Schemas.OrderSummary(
            orderId: order.id.rawValue, shipFromLocationId: order.shipFromLocationID.rawValue,
            status: .init(order.status),
            statusName: order.status.name, paymentMethod: .init(order.paymentMethod),
            paymentStatus: .init(order.paymentStatus),
            orderType: .init(order.orderType), channel: .init(order.channel), customerId: order.customer.id,
            customerName: order.customer.name, orderTotal: order.totals.orderTotal.description,
            lineCount: lineCount, createdAt: order.createdAt.date, updatedAt: order.updatedAt.date)
    }

    static func draft(_ body: Components.Schemas.CreateOrderRequest) -> OrderDraft {
        OrderDraft(
            orderID: body.orderId, shipFromLocationID: body.shipFromLocationId,
            orderType: OrderType(body.orderType), channel: SalesChannel(body.channel),
            isForceAllocation: body.isForceAllocation, paymentMethod: PaymentMethod(body.paymentMethod),
            customer: CustomerDraft(
                id: body.customer.id, name: body.customer.name, email: body.customer.email, phone: body.customer.phone),
            deliveryAddress: body.deliveryAddress.map {
                AddressDraft(
                    line1: $0.line1, line2: $0.line2, city: $0.city, postalCode: $0.postalCode, country: $0.country)
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
            charges: (body.charges ?? []).map {
                ChargeDraft(kind: Charge.Kind(rawValue: $0._type.rawValue) ?? .other, amount: $0.amount)
            })
    }

    static func product(_ p: Product) -> Components.Schemas.Product {
        Components.Schemas.Product(
            sku: p.sku.rawValue, name: p.name, description: p.description, category: p.category,
            unitPrice: p.unitPrice.description, taxRate: p.taxRate.description, taxIncluded: p.taxIncluded,
            imageUrl: p.imageURL, active: p.active)
    }

    static func location(_ l: Location) -> Components.Schemas.Location {
        Components.Schemas.Location(
            id: l.id.rawValue, name: l.name, region: l.region, format: .init(rawValue: l.format.rawValue) ?? .standard)
    }

    static func stock(_ level: StockLevel) -> Components.Schemas.StockLevel {
        Components.Schemas.StockLevel(
            locationId: level.location.rawValue, onHand: level.onHand, reserved: level.reserved,
            available: level.available)
    }

    static func reservation(_ r: Reservation) -> Components.Schemas.Reservation {
        Components.Schemas.Reservation(
            reservationId: r.reservationID, locationId: r.location.rawValue, orderId: r.orderID?.rawValue,
            status: r.status == .reserved ? .reserved : .released,
            items: r.items.map { .init(sku: $0.sku.rawValue, quantity: $0.quantity) },
            createdAt: r.createdAt.date, releasedAt: r.releasedAt?.date)
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
