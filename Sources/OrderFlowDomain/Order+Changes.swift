/// A change to one line (FR8): a new quantity, a substitute product, or a new price.
public struct LineChange: Sendable, Hashable {
    public var sku: String?
    public var quantity: Int?
    public var unitPrice: String?
    public var reason: String

    public init(sku: String? = nil, quantity: Int? = nil, unitPrice: String? = nil, reason: String) {
        self.sku = sku
        self.quantity = quantity
        self.unitPrice = unitPrice
        self.reason = reason
    }
}

extension Order {
    /// FR8's substitution limit: a line's unit price may rise at most 20 % above its original price.
    public static let maxPriceIncreasePercent = Percent(units: 20 * 10_000)

    /// Moves the order to `next`, recording who and why.
    public mutating func move(to next: OrderStatus, reason: String?, actor: String, at: Timestamp) throws(DomainError)
        -> StatusChange
    {
        guard status.canMove(to: next) else { throw .illegalTransition(from: status, to: next) }
        status = next
        version += 1
        updatedAt = at
        return StatusChange(status: status, paymentStatus: paymentStatus, at: at, reason: reason, actor: actor)
    }

    /// Cancels the order; a payment not yet taken is voided (a taken one is refunded by the pipeline).
    public mutating func cancel(reason: String, actor: String, at: Timestamp) throws(DomainError) -> StatusChange {
        try Self.checkReason(reason)
        if paymentStatus.canMove(to: .voided) && paymentStatus != .paid {
            paymentStatus = .voided
        }
        return try move(to: .cancelled, reason: reason.trimmingSpaces(), actor: actor, at: at)
    }

    /// Applies a line change and recalculates the totals.
    ///
    /// - Parameter products: the catalog entry of a substitute SKU, if the change names one.
    public mutating func changeLine(_ number: Int, _ change: LineChange, products: [SKU: Product], at: Timestamp)
        throws(DomainError)
    {
        guard !status.locksLines && !status.isFinal else { throw .orderLocked(id, status) }
        guard let index = lines.firstIndex(where: { $0.number == number }) else {
            throw .notFound(kind: "line", id: "\(id)/\(number)")
        }
        var check = ValidationCollector()
        if change.sku == nil && change.quantity == nil && change.unitPrice == nil {
            check.fail("body", .H, "name at least one of sku, quantity and unitPrice")
        }
        if !Formats.isText(change.reason.trimmingSpaces(), maxLength: 500) {
            check.fail("reason", .H, "must be 1–500 characters")
        }
        var line = lines[index]
        if let text = change.sku, SKU(text) != line.sku {
            let sku = SKU(text)
            if let product = products[sku], product.active {
                line.sku = sku
                line.unitPrice = product.unitPrice
                line.shortDescription = product.name
                line.imageURL = product.imageURL ?? line.imageURL
            } else {
                check.fail("sku", .H, products[sku] == nil ? "unknown SKU '\(sku)'" : "SKU '\(sku)' is not for sale")
            }
        }
        if let quantity = change.quantity {
            if OrderLimits.quantity.contains(quantity) {
                line.quantity = quantity
            } else {
                check.fail("quantity", .H, "must be between 1 and \(OrderLimits.quantity.upperBound)")
            }
        }
        if let text = change.unitPrice {
            if let price = OrderIntake.parseAmount(
                text, field: "unitPrice", rule: .H, max: OrderLimits.maxUnitPrice, into: &check)
            {
                line.unitPrice = price
            }
        }
        let ceiling = line.originalUnitPrice + Self.maxPriceIncreasePercent.of(line.originalUnitPrice)
        if line.unitPrice > ceiling {
            check.fail(
                "unitPrice", .FR8,
                "\(line.unitPrice) exceeds 120 % of the original price \(line.originalUnitPrice) (at most \(ceiling))")
        }
        if line.discounts.map(\.amount).sum() > line.unitPrice * line.quantity {
            check.fail(
                "quantity", .H, "the line's discounts would exceed its new amount \(line.unitPrice * line.quantity)")
        }
        try check.throwIfAny()
        lines[index] = line
        OrderCalculator.calculate(&self)
        version += 1
        updatedAt = at
    }

    /// The pipeline gives up on the order: status 9000 with the reason, the payment voided (or
    /// set to `payment`).
    public mutating func fail(reason: String, actor: String, at now: Timestamp, payment: PaymentStatus = .voided)
        throws(DomainError) -> StatusChange
    {
        failureReason = reason
        if paymentStatus.canMove(to: payment) { paymentStatus = payment }
        return try move(to: .cancelled, reason: reason, actor: actor, at: now)
    }

    /// Changes the payment status alone, with a history row.
    public mutating func setPayment(_ next: PaymentStatus, reason: String, actor: String, at now: Timestamp)
        throws(DomainError) -> StatusChange
    {
        guard paymentStatus.canMove(to: next) else {
            throw .conflict(
                code: "illegal_payment_transition",
                message: "payment cannot move from \(paymentStatus.rawValue) to \(next.rawValue)")
        }
        paymentStatus = next
        version += 1
        updatedAt = now
        return StatusChange(status: status, paymentStatus: next, at: now, reason: reason, actor: actor)
    }

    static func checkReason(_ reason: String) throws(DomainError) {
        if !Formats.isText(reason.trimmingSpaces(), maxLength: 500) {
            throw .validationFailed([FieldError(field: "reason", rule: "required", message: "must be 1–500 characters")]
            )
        }
    }
}
