import Foundation
import HTTPTypes
import OrderFlowAPI
import OrderFlowDomain
import OrderFlowPersistence
import OrderFlowRuntime

extension APIHandlers {
    // MARK: Products and locations

    func listProducts(_ input: Operations.ListProducts.Input) async throws -> Operations.ListProducts.Output {
        var query = ProductQuery()
        if let text = input.query.q, text.count > 100 { throw APIError.invalid("q", rule: "length", "at most 100 characters") }
        query.text = input.query.q
        query.category = input.query.category?.lowercased()
        query.limit = try Self.checkedLimit(input.query.limit)
        if let token = input.query.cursor {
            guard let sku = Base64URL.decode(token) else { throw APIError.invalid("cursor", rule: "format", "is not a cursor this API returned") }
            query.afterSKU = sku
        }
        let page = try await catalog.search(query)
        return .ok(.init(body: .json(.init(items: page.products.map(Representation.product), nextCursor: page.nextAfterSKU.map(Base64URL.encode)))))
    }

    func createProduct(_ input: Operations.CreateProduct.Input) async throws -> Operations.CreateProduct.Output {
        guard case .json(let body) = input.body else { throw APIError(.unsupportedMediaType, code: "unsupported_media_type", message: "send the body as application/json") }
        let product = try CatalogRules.product(ProductDraft(
            sku: body.sku, name: body.name, description: body.description, category: body.category, unitPrice: body.unitPrice,
            taxRate: body.taxRate, taxIncluded: body.taxIncluded, imageURL: body.imageUrl, active: body.active))
        try await catalog.create(product)
        return .created(.init(body: .json(Representation.product(product))))
    }

    func getProduct(_ input: Operations.GetProduct.Input) async throws -> Operations.GetProduct.Output {
        guard let product = try await catalog.product(SKU(input.path.sku)) else { throw APIError.notFound("product", input.path.sku) }
        return .ok(.init(body: .json(Representation.product(product))))
    }

    func listLocations(_ input: Operations.ListLocations.Input) async throws -> Operations.ListLocations.Output {
        .ok(.init(body: .json(.init(items: try await catalog.locations().map(Representation.location)))))
    }

    func createLocation(_ input: Operations.CreateLocation.Input) async throws -> Operations.CreateLocation.Output {
        guard case .json(let body) = input.body else { throw APIError(.unsupportedMediaType, code: "unsupported_media_type", message: "send the body as application/json") }
        let location = try CatalogRules.location(
            id: body.id, name: body.name, region: body.region, format: LocationFormat(rawValue: body.format.rawValue) ?? .standard)
        try await catalog.create(location)
        return .created(.init(body: .json(Representation.location(location))))
    }

    // MARK: Inventory

    func getInventory(_ input: Operations.GetInventory.Input) async throws -> Operations.GetInventory.Output {
        let sku = SKU(input.path.sku)
        guard try await catalog.product(sku) != nil else { throw APIError.notFound("product", sku.rawValue) }
        let levels = try await inventory.levels(of: sku)
        return .ok(.init(body: .json(.init(
            sku: sku.rawValue, totalOnHand: levels.map(\.onHand).reduce(0, +), totalAvailable: levels.map(\.available).reduce(0, +),
            locations: levels.map(Representation.stock)))))
    }

    func setStock(_ input: Operations.SetStock.Input) async throws -> Operations.SetStock.Output {
        guard case .json(let body) = input.body else { throw APIError(.unsupportedMediaType, code: "unsupported_media_type", message: "send the body as application/json") }
        guard (0...100_000_000).contains(body.onHand) else {
            throw APIError.validation([FieldError(field: "onHand", rule: "range", message: "must be 0–100000000")])
        }
        try await checkStockScope(LocationID(input.path.locationId))
        let level = try await inventory.setOnHand(body.onHand, sku: SKU(input.path.sku), at: LocationID(input.path.locationId))
        return .ok(.init(body: .json(Representation.stock(level))))
    }

    func reserveInventory(_ input: Operations.ReserveInventory.Input) async throws -> Operations.ReserveInventory.Output {
        guard case .json(let body) = input.body else { throw APIError(.unsupportedMediaType, code: "unsupported_media_type", message: "send the body as application/json") }
        var errors: [FieldError] = []
        if !Formats.isVisibleASCII(body.reservationId, maxLength: 64) {
            errors.append(FieldError(field: "reservationId", rule: "format", message: "must be 1–64 visible ASCII characters"))
        }
        if !(1...100).contains(body.items.count) {
            errors.append(FieldError(field: "items", rule: "range", message: "1–100 items"))
        }
        var seen: Set<SKU> = []
        for (index, item) in body.items.enumerated() {
            if !seen.insert(SKU(item.sku)).inserted {
                errors.append(FieldError(field: "items[\(index)].sku", rule: "unique", message: "SKU '\(item.sku)' appears twice"))
            }
            if !(1...100_000).contains(item.quantity) {
                errors.append(FieldError(field: "items[\(index)].quantity", rule: "range", message: "must be 1–100000"))
            }
        }
        let location = LocationID(body.locationId)
        if try await catalog.location(location) == nil {
            errors.append(FieldError(field: "locationId", rule: "B", message: "unknown location '\(location)'"))
        }
        if !errors.isEmpty { throw APIError.validation(errors) }
        try await checkStockScope(location)
        let request = ReservationRequest(
            reservationID: body.reservationId, location: location, orderID: body.orderId.map(OrderID.init),
            items: body.items.map { .init(sku: SKU($0.sku), quantity: $0.quantity) })
        let (reservation, replayed) = try await inventory.reserve(request)
        let representation = Representation.reservation(reservation)
        return replayed ? .ok(.init(body: .json(representation))) : .created(.init(body: .json(representation)))
    }

    func releaseInventory(_ input: Operations.ReleaseInventory.Input) async throws -> Operations.ReleaseInventory.Output {
        guard case .json(let body) = input.body else { throw APIError(.unsupportedMediaType, code: "unsupported_media_type", message: "send the body as application/json") }
        guard let existing = try await inventory.reservation(body.reservationId) else { throw APIError.notFound("reservation", body.reservationId) }
        try await checkStockScope(existing.location)
        let reservation = try await inventory.release(body.reservationId)
        return .ok(.init(body: .json(Representation.reservation(reservation))))
    }

    // MARK: System

    func getHealth(_ input: Operations.GetHealth.Input) async throws -> Operations.GetHealth.Output {
        let start = ContinuousClock.now
        var failure: String?
        do {
            try await withTimeout(.seconds(5)) { try await database.ping() }
        } catch {
            failure = String(describing: error).prefix(200).description
        }
        let elapsed = ContinuousClock.now - start
        let latency = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        let health = Components.Schemas.Health(
            status: failure == nil ? .ok : .unavailable, version: configuration.version,
            uptimeSeconds: Int(Date().timeIntervalSince(startedAt)),
            database: .init(kind: database.kind == .sqlite ? .sqlite : .postgres, status: failure == nil ? .ok : .down, latencyMs: (latency * 1000).rounded() / 1000, error: failure))
        return failure == nil ? .ok(.init(body: .json(health))) : .serviceUnavailable(.init(body: .json(health)))
    }
}
