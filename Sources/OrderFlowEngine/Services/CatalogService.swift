import OrderFlowDomain
import OrderFlowPersistence

/// Products, stores and stock. Stock is read and changed within the caller's scope: a store's
/// manager sees and changes the stock of its own store only.
public struct CatalogService: Sendable {
    let catalog: CatalogRepository
    let inventory: InventoryRepository

    init(database: Database, clock: any WallClock) {
        catalog = CatalogRepository(database: database, clock: clock)
        inventory = InventoryRepository(database: database, clock: clock)
    }

    // MARK: Products and stores

    public func products(_ query: ProductQuery) async throws -> ProductPage {
        try await catalog.search(query)
    }

    public func product(_ sku: SKU) async throws -> Product {
        guard let product = try await catalog.product(sku) else {
            throw DomainError.notFound(kind: "product", id: sku.rawValue)
        }
        return product
    }

    /// Checks the draft against the catalog rules and adds the product.
    public func create(_ draft: ProductDraft) async throws -> Product {
        let product = try CatalogRules.product(draft)
        try await catalog.create(product)
        return product
    }

    public func locations() async throws -> [Location] {
        try await catalog.locations()
    }

    /// Checks a new store against the catalog rules and adds it.
    public func createLocation(id: String, name: String, region: String, format: LocationFormat) async throws
        -> Location
    {
        let location = try CatalogRules.location(id: id, name: name, region: region, format: format)
        try await catalog.create(location)
        return location
    }

    // MARK: Stock

    /// The product's stock at every store within the caller's scope.
    public func stock(of sku: SKU, for principal: Principal) async throws -> [StockLevel] {
        _ = try await product(sku)
        let scope = try await catalog.orderScope(of: principal)
        return try await inventory.levels(of: sku).filter { scope.allows(location: $0.location, customerID: nil) }
    }

    /// Sets the counted stock of a product at a store within the caller's scope.
    public func setStock(_ onHand: Int, of sku: SKU, at location: LocationID, by caller: Caller) async throws
        -> StockLevel
    {
        guard (0...100_000_000).contains(onHand) else {
            throw DomainError.validationFailed([
                FieldError(field: "onHand", rule: "range", message: "must be 0–100000000")
            ])
        }
        try await checkStock(at: location, for: caller.principal)
        return try await inventory.setOnHand(onHand, sku: sku, at: location)
    }

    /// Reserves stock at a store within the caller's scope, all items or none; the same
    /// reservation ID with the same items answers again (`replayed`).
    public func reserve(_ request: ReservationRequest, by caller: Caller) async throws -> (
        reservation: Reservation, replayed: Bool
    ) {
        var errors: [FieldError] = []
        if !Formats.isVisibleASCII(request.reservationID, maxLength: 64) {
            errors.append(
                FieldError(field: "reservationId", rule: "format", message: "must be 1–64 visible ASCII characters"))
        }
        if !(1...100).contains(request.items.count) {
            errors.append(FieldError(field: "items", rule: "range", message: "1–100 items"))
        }
        var seen: Set<SKU> = []
        for (index, item) in request.items.enumerated() {
            if !seen.insert(item.sku).inserted {
                errors.append(
                    FieldError(field: "items[\(index)].sku", rule: "unique", message: "SKU '\(item.sku)' appears twice")
                )
            }
            if !(1...100_000).contains(item.quantity) {
                errors.append(FieldError(field: "items[\(index)].quantity", rule: "range", message: "must be 1–100000"))
            }
        }
        if try await catalog.location(request.location) == nil {
            errors.append(FieldError(field: "locationId", rule: "B", message: "unknown location '\(request.location)'"))
        }
        if !errors.isEmpty { throw DomainError.validationFailed(errors) }
        try await checkStock(at: request.location, for: caller.principal)
        return try await inventory.reserve(request)
    }

    /// Gives a reservation's stock back (once; a repeat changes nothing).
    public func release(_ reservationID: String, by caller: Caller) async throws -> Reservation {
        guard let existing = try await inventory.reservation(reservationID) else {
            throw DomainError.notFound(kind: "reservation", id: reservationID)
        }
        try await checkStock(at: existing.location, for: caller.principal)
        return try await inventory.release(reservationID)
    }

    /// Stock changes by a store- or region-scoped caller stay within its stores.
    private func checkStock(at location: LocationID, for principal: Principal) async throws {
        switch try await catalog.orderScope(of: principal) {
        case .everything: return
        case .locations(let allowed) where allowed.contains(location): return
        default: throw DomainError.outOfScope("stock at \(location) is outside your scope")
        }
    }
}
