import Foundation
import OrderFlowDomain
import OrderFlowPersistence

/// A small catalog and orders against it, for storage and route tests.
public enum Samples {
    public static let qcStore = Location(
        id: LocationID("QC-T-001"), name: "Test QC", region: "BKK", format: .qcSmallFormat)
    public static let otherStore = Location(
        id: LocationID("QC-T-002"), name: "Other QC", region: "CNX", format: .qcSmallFormat)
    public static let warehouse = Location(
        id: LocationID("STD-T-001"), name: "Test DC", region: "BKK", format: .standard)
    public static let locations = [qcStore, otherStore, warehouse]

    public static let coffee = Product(
        sku: SKU("COFFEE"), name: "Coffee 250 g", category: "beverages", unitPrice: Money(decimal: "159")!,
        taxRate: Percent(decimal: "7")!, taxIncluded: true, imageURL: "https://img.example.com/coffee.png")
    public static let water = Product(
        sku: SKU("WATER"), name: "Water 1.5 L", category: "beverages", unitPrice: Money(decimal: "14")!,
        taxRate: Percent(decimal: "7")!, taxIncluded: true)
    public static let noodles = Product(
        sku: SKU("NOODLES"), name: "Instant noodles", category: "grocery", unitPrice: Money(decimal: "6.5")!,
        taxRate: Percent(decimal: "7")!, taxIncluded: true)
    public static let products = [coffee, water, noodles]

    public static var snapshot: CatalogSnapshot {
        CatalogSnapshot(
            locations: Dictionary(uniqueKeysWithValues: locations.map { ($0.id, $0) }),
            products: Dictionary(uniqueKeysWithValues: products.map { ($0.sku, $0) }))
    }

    /// Inserts the catalog and `stock` units of every product at every location.
    public static func seed(_ database: Database, stock: Int = 100, clock: any WallClock = SystemClock()) async throws {
        let catalog = CatalogRepository(database: database, clock: clock)
        let inventory = InventoryRepository(database: database, clock: clock)
        for location in locations { try await catalog.create(location) }
        for product in products {
            try await catalog.create(product)
            for location in locations { _ = try await inventory.setOnHand(stock, sku: product.sku, at: location.id) }
        }
    }

    public static func draft(_ id: String, store: Location = qcStore, customer: String = "Somchai Jaidee") -> OrderDraft
    {
        OrderDraft(
            orderID: id, shipFromLocationID: store.id.rawValue, orderType: .delivery, channel: .app,
            isForceAllocation: true, paymentMethod: .cod,
            customer: CustomerDraft(id: "C-\(customer.count)", name: customer, email: "buyer@example.com"),
            deliveryAddress: AddressDraft(line1: "1 Test Road", city: "Bangkok", postalCode: "10110", country: "TH"),
            lines: [
                LineDraft(sku: "COFFEE", quantity: 2),
                LineDraft(
                    sku: "WATER", quantity: 6, unitPrice: "12.50", discounts: [DiscountDraft(code: "SIX", amount: "5")]),
            ],
            charges: [ChargeDraft(kind: .delivery, amount: "25")])
    }

    public static func order(
        _ id: String, store: Location = qcStore, customer: String = "Somchai Jaidee", at: Timestamp
    ) throws -> Order {
        try OrderIntake.prepare(draft(id, store: store, customer: customer), catalog: snapshot, at: at)
    }

    /// Writes an order the way the API does: the order, its first history row and its event.
    @discardableResult
    public static func create(_ order: Order, in repository: OrderRepository, idempotency: IdempotencyClaim? = nil)
        async throws -> CreateOutcome
    {
        let history = StatusChange(
            status: order.status, paymentStatus: order.paymentStatus, at: order.createdAt, reason: nil, actor: "test")
        return try await repository.create(
            order, history: history, event: .forOrder("order.created", order, at: order.createdAt),
            idempotency: idempotency)
    }
}
