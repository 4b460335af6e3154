import Foundation
import HTTPTypes
import OrderFlowAPI
import OrderFlowDomain
import OrderFlowEngine

extension APIHandlers {
    // MARK: Products and locations

    func listProducts(_ input: Operations.ListProducts.Input) async throws -> Operations.ListProducts.Output {
        var query = ProductQuery()
        query.text = try Self.checkedLength(input.query.q, "q", max: 100)
        query.category = input.query.category?.lowercased()
        query.limit = try Self.checkedLimit(input.query.limit)
        if let token = try Self.checkedLength(input.query.cursor, "cursor", max: 200) {
            guard let sku = Base64URL.decode(token) else {
                throw APIError.invalid("cursor", rule: "format", "is not a cursor this API returned")
            }
            query.afterSKU = sku
        }
        let page = try await services.catalog.products(query)
        return .ok(
            .init(
                body: .json(
                    .init(
                        items: page.products.map(Representation.product),
                        nextCursor: page.nextAfterSKU.map(Base64URL.encode)))))
    }

    func createProduct(_ input: Operations.CreateProduct.Input) async throws -> Operations.CreateProduct.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        let product = try await services.catalog.create(
            ProductDraft(
                sku: body.sku, name: body.name, description: body.description, category: body.category,
                unitPrice: body.unitPrice,
                taxRate: body.taxRate, taxIncluded: body.taxIncluded, imageURL: body.imageUrl, active: body.active))
        return .created(.init(body: .json(Representation.product(product))))
    }

    func getProduct(_ input: Operations.GetProduct.Input) async throws -> Operations.GetProduct.Output {
        .ok(.init(body: .json(Representation.product(try await services.catalog.product(SKU(input.path.sku))))))
    }

    func listLocations(_ input: Operations.ListLocations.Input) async throws -> Operations.ListLocations.Output {
        .ok(.init(body: .json(.init(items: try await services.catalog.locations().map(Representation.location)))))
    }

    func createLocation(_ input: Operations.CreateLocation.Input) async throws -> Operations.CreateLocation.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        let location = try await services.catalog.createLocation(
            id: body.id, name: body.name, region: body.region,
            format: LocationFormat(rawValue: body.format.rawValue) ?? .standard)
        return .created(.init(body: .json(Representation.location(location))))
    }

    // MARK: Inventory

    func getInventory(_ input: Operations.GetInventory.Input) async throws -> Operations.GetInventory.Output {
        let sku = SKU(input.path.sku)
        let levels = try await services.catalog.stock(of: sku, for: try principal)
        return .ok(
            .init(
                body: .json(
                    .init(
                        sku: sku.rawValue, totalOnHand: levels.map(\.onHand).reduce(0, +),
                        totalAvailable: levels.map(\.available).reduce(0, +),
                        locations: levels.map(Representation.stock)))))
    }

    func setStock(_ input: Operations.SetStock.Input) async throws -> Operations.SetStock.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        let level = try await services.catalog.setStock(
            body.onHand, of: SKU(input.path.sku), at: LocationID(input.path.locationId), by: try caller)
        return .ok(.init(body: .json(Representation.stock(level))))
    }

    func reserveInventory(_ input: Operations.ReserveInventory.Input) async throws -> Operations.ReserveInventory.Output
    {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        let request = ReservationRequest(
            reservationID: body.reservationId, location: LocationID(body.locationId),
            orderID: body.orderId.map(OrderID.init),
            items: body.items.map { .init(sku: SKU($0.sku), quantity: $0.quantity) })
        let (reservation, replayed) = try await services.catalog.reserve(request, by: try caller)
        let representation = Representation.reservation(reservation)
        return replayed ? .ok(.init(body: .json(representation))) : .created(.init(body: .json(representation)))
    }

    func releaseInventory(_ input: Operations.ReleaseInventory.Input) async throws -> Operations.ReleaseInventory.Output
    {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        return .ok(
            .init(
                body: .json(
                    Representation.reservation(try await services.catalog.release(body.reservationId, by: try caller))))
        )
    }

    // MARK: System

    func getHealth(_ input: Operations.GetHealth.Input) async throws -> Operations.GetHealth.Output {
        let check = await services.health.check()
        // Anonymous callers learn whether it is up; what runs where, and why it failed, is for
        // those who signed in.
        let detailed = RequestScope.context?.principal != nil
        let database = Components.Schemas.Health.DatabasePayload(
            kind: detailed ? (check.sqlite ? .sqlite : .postgres) : nil, status: check.failure == nil ? .ok : .down,
            latencyMs: detailed ? (check.milliseconds * 1000).rounded() / 1000 : nil,
            error: detailed ? check.failure : nil)
        let health = Components.Schemas.Health(
            status: check.failure == nil ? .ok : .unavailable, version: detailed ? configuration.version : nil,
            uptimeSeconds: detailed ? Int(Date().timeIntervalSince(startedAt)) : nil, database: database)
        return check.failure == nil ? .ok(.init(body: .json(health))) : .serviceUnavailable(.init(body: .json(health)))
    }
}
