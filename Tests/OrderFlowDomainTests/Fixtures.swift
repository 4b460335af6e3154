import OrderFlowDomain

enum Fixtures {
    static let qcStore = Location(
        id: LocationID("QC-BKK-001"), name: "Sukhumvit 24", region: "BKK", format: .qcSmallFormat)
    static let bigStore = Location(id: LocationID("STD-CNX-001"), name: "Nimman", region: "CNX", format: .standard)

    static let coffee = Product(
        sku: SKU("COFFEE-250"), name: "Arabica coffee 250 g", category: "beverages",
        unitPrice: Money(decimal: "107")!, taxRate: Percent(decimal: "7")!, taxIncluded: true,
        imageURL: "https://img.example.com/coffee.png")
    static let water = Product(
        sku: SKU("WATER-1L"), name: "Drinking water 1 L", category: "beverages",
        unitPrice: Money(decimal: "9.5")!, taxRate: Percent(decimal: "7")!, taxIncluded: true)
    static let retired = Product(
        sku: SKU("OLD-1"), name: "Retired item", category: "misc",
        unitPrice: Money(decimal: "1")!, taxRate: Percent(units: 0), active: false)

    static let catalog = CatalogSnapshot(
        locations: [qcStore.id: qcStore, bigStore.id: bigStore],
        products: [coffee.sku: coffee, water.sku: water, retired.sku: retired],
        defaultImageURL: "https://img.example.com/placeholder.png")

    static let now = Timestamp(microseconds: 1_795_000_000_000_000)

    /// A valid COD delivery order from the QC store.
    static func draft() -> OrderDraft {
        OrderDraft(
            orderID: "ord-1001", shipFromLocationID: "qc-bkk-001", orderType: .delivery, channel: .app,
            isForceAllocation: true, paymentMethod: .cod,
            customer: CustomerDraft(
                id: "CUST-42", name: "Somchai Jaidee", email: "somchai@example.com", phone: "+66 81 234 5678"),
            deliveryAddress: AddressDraft(
                line1: "12 Sukhumvit Soi 24", city: "Bangkok", postalCode: "10110", country: "th"),
            t1MembershipID: "1234567890123456", t1Number: "T1-0042", custRef: "SLICK-REF-9",
            lines: [
                LineDraft(sku: "COFFEE-250", quantity: 2),
                LineDraft(
                    sku: "WATER-1L", quantity: 6, unitPrice: "9.25",
                    discounts: [DiscountDraft(code: "MULTI6", amount: "3.5")]),
            ],
            charges: [ChargeDraft(kind: .delivery, amount: "20")])
    }

    static func prepare(_ draft: OrderDraft) throws(DomainError) -> Order {
        try OrderIntake.prepare(draft, catalog: catalog, at: now)
    }

    /// The field errors a draft produces, or [] if it is valid.
    static func errors(_ draft: OrderDraft) -> [FieldError] {
        do {
            _ = try prepare(draft)
            return []
        } catch {
            if case .validationFailed(let errors) = error { return errors }
            return [FieldError(field: "?", rule: "?", message: "\(error)")]
        }
    }
}
