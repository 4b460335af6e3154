/// Limits that keep every amount inside DECIMAL(18,4) and every order readable on a tablet.
public enum OrderLimits {
    public static let orderIDLength = 3...40
    public static let lineCount = 1...200
    public static let quantity = 1...9_999
    public static let maxUnitPrice = Money(units: 9_999_999_9999)
    public static let maxCharge = Money(units: 9_999_999_9999)
    /// One discount: 11 digits before the point. A line's discounts are at most its gross amount
    /// (at most 9,999,999.9999 × 9,999) anyway; this keeps the bound one the API document's
    /// pattern can state.
    public static let maxDiscount = Money(units: 99_999_999_999_9999)
    public static let chargeCount = 0...20
    public static let textLength = 200
    public static let urlLength = 2_048
}

/// Turns a draft into an order: rules A–I (story 2.1), enrichment (story 2.2) and calculation
/// (story 2.3), in that order, with no I/O. Uniqueness of the order ID (the second half of rule A)
/// is enforced by the store when the order is written.
public enum OrderIntake {
    public static func prepare(_ draft: OrderDraft, catalog: CatalogSnapshot, at now: Timestamp) throws(DomainError)
        -> Order
    {
        var check = ValidationCollector()

        // Rule A: OrderID format.
        let orderID = OrderID(draft.orderID)
        if !Formats.isOrderID(draft.orderID.trimmingSpaces()) {
            check.fail(
                "orderId", .A, "must be 3–40 letters, digits, '-' or '_', starting and ending with a letter or digit")
        }

        // Rule B: a known ship-from location, the same on every line.
        let locationID = LocationID(draft.shipFromLocationID)
        let location = catalog.locations[locationID]
        if !Formats.isCode(draft.shipFromLocationID.trimmingSpaces(), maxLength: 32, caseSensitive: true) {
            check.fail("shipFromLocationId", .B, "must be 1–32 letters, digits, '-' or '_'")
        } else if location == nil {
            check.fail("shipFromLocationId", .B, "unknown location '\(locationID)'")
        }
        for (index, line) in draft.lines.enumerated() {
            if let lineLocation = line.shipFromLocationID, LocationID(lineLocation) != locationID {
                check.fail(
                    "lines[\(index)].shipFromLocationId", .B,
                    "must equal the order's shipFromLocationId '\(locationID)'")
            }
        }

        // Rule C: QC small-format stores force-allocate every order.
        let forceAllocation = draft.isForceAllocation ?? false
        if location?.format == .qcSmallFormat && !forceAllocation {
            check.fail("isForceAllocation", .C, "must be true for orders from a QC small-format store")
        }

        // Rules D, E, F: optional references, checked when present.
        let t1Membership = draft.t1MembershipID.map { $0.trimmingSpaces() }
        if let value = t1Membership, !Formats.isDigits(value, count: 10...16) {
            check.fail("t1MembershipId", .D, "must be 10–16 digits")
        }
        let t1Number = draft.t1Number.map { $0.trimmingSpaces() }
        if let value = t1Number,
            !Formats.isCode(value, maxLength: 20, minLength: 4, caseSensitive: true, allowUnderscore: false)
        {
            check.fail("t1Number", .E, "must be 4–20 letters, digits or '-'")
        }
        let custRef = draft.custRef
        if let value = custRef, !Formats.isVisibleASCII(value, maxLength: 64) {
            check.fail("custRef", .F, "must be 1–64 visible ASCII characters without spaces")
        }

        // Rule G: the customer profile.
        let customer = validateCustomer(draft.customer, into: &check)

        // Rule I: order-level details.
        if location?.format == .qcSmallFormat && draft.paymentMethod != .cod {
            check.fail("paymentMethod", .I, "QC small-format stores take cash on delivery only")
        }
        let address = draft.deliveryAddress.flatMap { validateAddress($0, into: &check) }
        if draft.orderType == .delivery && draft.deliveryAddress == nil {
            check.fail("deliveryAddress", .I, "is required for delivery orders")
        }
        if !OrderLimits.chargeCount.contains(draft.charges.count) {
            check.fail("charges", .I, "at most \(OrderLimits.chargeCount.upperBound) charges")
        }
        var charges: [Charge] = []
        for (index, charge) in draft.charges.enumerated() {
            if let amount = parseAmount(
                charge.amount, field: "charges[\(index)].amount", rule: .I, max: OrderLimits.maxCharge, into: &check)
            {
                charges.append(Charge(kind: charge.kind, amount: amount))
            }
        }

        // Rule H: the lines, enriched from the catalog as they are checked.
        if !OrderLimits.lineCount.contains(draft.lines.count) {
            check.fail("lines", .H, "an order has 1–\(OrderLimits.lineCount.upperBound) lines")
        }
        var lines: [OrderLine] = []
        for (index, line) in draft.lines.enumerated() {
            if let checked = validateLine(line, index: index, catalog: catalog, into: &check) {
                lines.append(checked)
            }
        }

        try check.throwIfAny()

        var order = Order(
            id: orderID, shipFromLocationID: locationID, orderType: draft.orderType, channel: draft.channel,
            isForceAllocation: forceAllocation, paymentMethod: draft.paymentMethod, paymentStatus: .awaitingPayment,
            status: .open, customer: customer, deliveryAddress: address, t1MembershipID: t1Membership,
            t1Number: t1Number?.uppercased(), custRef: custRef, lines: lines, charges: charges, totals: .zero,
            createdAt: now, updatedAt: now, version: 1)
        OrderCalculator.calculate(&order)
        return order
    }

    static func validateCustomer(_ draft: CustomerDraft, into check: inout ValidationCollector) -> Customer {
        let id = draft.id.map { $0.trimmingSpaces() }
        if let id, !Formats.isCode(id, maxLength: 40, caseSensitive: true) {
            check.fail("customer.id", .G, "must be 1–40 letters, digits, '-' or '_'")
        }
        let name = draft.name.trimmingSpaces()
        if !Formats.isText(name, maxLength: 100) {
            check.fail("customer.name", .G, "must be 1–100 characters without control characters")
        }
        let email = draft.email.map { $0.trimmingSpaces() }
        if let email, !Formats.isEmail(email) {
            check.fail("customer.email", .G, "must be an email address such as name@example.com")
        }
        let phone = draft.phone.map(Formats.normalizedPhone)
        if let phone, !Formats.isPhone(phone) {
            check.fail("customer.phone", .G, "must be 8–15 digits, optionally starting with '+'")
        }
        if email == nil && phone == nil {
            check.fail("customer", .G, "needs an email or a phone number")
        }
        return Customer(id: id, name: name, email: email?.lowercased(), phone: phone)
    }

    static func validateAddress(_ draft: AddressDraft, into check: inout ValidationCollector) -> Address? {
        let before = check.errors.count
        let address = Address(
            line1: draft.line1.trimmingSpaces(), line2: draft.line2.map { $0.trimmingSpaces() },
            city: draft.city.trimmingSpaces(), postalCode: draft.postalCode.trimmingSpaces(),
            country: draft.country.trimmingSpaces())
        if !Formats.isText(address.line1, maxLength: OrderLimits.textLength) {
            check.fail("deliveryAddress.line1", .I, "must be 1–200 characters")
        }
        if let line2 = address.line2, !line2.isEmpty, !Formats.isText(line2, maxLength: OrderLimits.textLength) {
            check.fail("deliveryAddress.line2", .I, "must be at most 200 characters")
        }
        if !Formats.isText(address.city, maxLength: 100) {
            check.fail("deliveryAddress.city", .I, "must be 1–100 characters")
        }
        if !Formats.isPostalCode(address.postalCode) {
            check.fail("deliveryAddress.postalCode", .I, "must be 3–10 letters, digits, spaces or '-'")
        }
        if !(address.country.count == 2 && address.country.allSatisfy({ Formats.isLetter($0) })) {
            check.fail("deliveryAddress.country", .I, "must be an ISO 3166-1 alpha-2 code such as TH")
        }
        var canonical = address
        canonical.country = address.country.uppercased()
        return check.errors.count == before ? canonical : nil
    }

    static func validateLine(
        _ draft: LineDraft, index: Int, catalog: CatalogSnapshot, into check: inout ValidationCollector
    ) -> OrderLine? {
        let path = "lines[\(index)]"
        let before = check.errors.count
        let sku = SKU(draft.sku)
        let product = catalog.products[sku]
        if !Formats.isCode(sku.rawValue, maxLength: 40, caseSensitive: true) {
            check.fail("\(path).sku", .H, "must be 1–40 letters, digits, '-' or '_'")
        } else if product == nil {
            check.fail("\(path).sku", .H, "unknown SKU '\(sku)'")
        } else if product?.active == false {
            check.fail("\(path).sku", .H, "SKU '\(sku)' is not for sale")
        }
        if !OrderLimits.quantity.contains(draft.quantity) {
            check.fail("\(path).quantity", .H, "must be between 1 and \(OrderLimits.quantity.upperBound)")
        }
        var unitPrice = product?.unitPrice
        if let text = draft.unitPrice {
            unitPrice = parseAmount(
                text, field: "\(path).unitPrice", rule: .H, max: OrderLimits.maxUnitPrice, into: &check)
        }
        var discounts: [Discount] = []
        for (position, discount) in draft.discounts.enumerated() {
            let field = "\(path).discounts[\(position)]"
            if let code = discount.code, !Formats.isCode(code, maxLength: 40, caseSensitive: true) {
                check.fail("\(field).code", .H, "must be 1–40 letters, digits, '-' or '_'")
            }
            if let amount = parseAmount(
                discount.amount, field: "\(field).amount", rule: .H, max: OrderLimits.maxDiscount, into: &check)
            {
                if amount == .zero {
                    check.fail("\(field).amount", .H, "must be greater than 0")
                }
                discounts.append(Discount(code: discount.code, amount: amount))
            }
        }
        // Cal D's limit: a line's discounts never exceed what the line costs. Summed wide: a line
        // may carry as many discounts as the body holds, and their sum must not overflow.
        if let unitPrice, OrderLimits.quantity.contains(draft.quantity),
            discounts.reduce(Int128(0), { $0 + Int128($1.amount.units) }) > Int128((unitPrice * draft.quantity).units)
        {
            check.fail("\(path).discounts", .H, "total discount exceeds the line amount \(unitPrice * draft.quantity)")
        }
        var taxes: [LineTax] = []
        if let drafts = draft.taxes {
            var codes: Set<String> = []
            for (position, tax) in drafts.enumerated() {
                let field = "\(path).taxes[\(position)]"
                let given = tax.code.trimmingSpaces()
                let code = given.uppercased()
                if !Formats.isCode(given, maxLength: 20, caseSensitive: true) {
                    check.fail("\(field).code", .H, "must be 1–20 letters, digits, '-' or '_'")
                } else if !codes.insert(code).inserted {
                    check.fail("\(field).code", .H, "tax '\(code)' appears twice on this line")
                }
                if let rate = Percent(decimal: tax.rate), rate >= Percent(units: 0), rate <= .hundred {
                    taxes.append(LineTax(code: code, rate: rate, inclusive: tax.inclusive))
                } else {
                    check.fail("\(field).rate", .H, "must be a percentage from 0 to 100 with at most 4 decimals")
                }
            }
        } else if let product, product.taxRate.units > 0 {
            // Enrichment: the catalog's VAT for lines that carry no taxes.
            taxes = [LineTax(code: "VAT", rate: product.taxRate, inclusive: product.taxIncluded)]
        }
        var shortDescription = draft.shortDescription?.trimmingSpaces()
        if let text = shortDescription, !text.isEmpty, !Formats.isText(text, maxLength: OrderLimits.textLength) {
            check.fail("\(path).shortDescription", .H, "must be at most 200 characters without control characters")
        }
        var imageURL = draft.imageURL?.trimmingSpaces()
        if let url = imageURL, !url.isEmpty, !Formats.isHTTPURL(url) {
            check.fail("\(path).imageUrl", .H, "must be an http(s) URL of at most 2048 characters")
        }
        if let bundle = draft.bundleRef, !Formats.isCode(bundle, maxLength: 40, caseSensitive: true) {
            check.fail("\(path).bundleRef", .H, "must be 1–40 letters, digits, '-' or '_'")
        }
        guard check.errors.count == before, let product, let unitPrice else { return nil }

        // Enrichment (story 2.2): blank descriptions and images come from the catalog.
        if shortDescription?.isEmpty ?? true { shortDescription = product.name }
        if imageURL?.isEmpty ?? true { imageURL = product.imageURL ?? catalog.defaultImageURL }

        return OrderLine(
            number: index + 1, sku: sku, quantity: draft.quantity, unitPrice: unitPrice, originalUnitPrice: unitPrice,
            discounts: discounts, taxes: taxes, shortDescription: shortDescription, imageURL: imageURL,
            bundleRef: draft.bundleRef)
    }

    /// Parses a non-negative amount with at most four decimals and at most `max`.
    static func parseAmount(
        _ text: String, field: String, rule: Rule, max: Money, into check: inout ValidationCollector
    ) -> Money? {
        guard let amount = Money(decimal: text) else {
            check.fail(field, rule, "must be a decimal string with at most 4 decimals, such as \"19.99\"")
            return nil
        }
        guard amount >= .zero else {
            check.fail(field, rule, "must not be negative")
            return nil
        }
        guard amount <= max else {
            check.fail(field, rule, "must be at most \(max)")
            return nil
        }
        return amount
    }
}
