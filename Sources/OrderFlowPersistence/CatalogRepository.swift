import Foundation
import OrderFlowDomain
import SQLKit
import Synchronization

/// Locations and products: the catalog orders are validated and enriched against.
///
/// Neither changes once created, so what was read once is kept (`CatalogCache`) and order intake
/// reads the database only for a store or product this instance has not seen yet.
public struct CatalogRepository: Sendable {
    public let database: Database
    let clock: any WallClock

    public init(database: Database, clock: any WallClock = SystemClock()) {
        self.database = database
        self.clock = clock
    }

    // MARK: Locations

    /// - Throws: `DomainError.conflict` if the ID exists.
    public func create(_ location: Location) async throws {
        do {
            try await database.transaction { db in
                try await db.raw(
                    """
                    INSERT INTO locations (id, name, region, format, created_at)
                    VALUES (\(bind: location.id.rawValue), \(bind: location.name), \(bind: location.region),
                        \(bind: location.format.rawValue), \(bind: clock.now().microseconds))
                    """
                ).run()
            }
        } catch  where ConstraintViolation.isUnique(error) {
            throw DomainError.conflict(code: "location_exists", message: "location '\(location.id)' already exists")
        }
    }

    public func locations() async throws -> [Location] {
        try await database.read { db in
            try await db.raw("SELECT id, name, region, format FROM locations ORDER BY id").all().map(Self.location)
        }
    }

    public func location(_ id: LocationID) async throws -> Location? {
        if let known = database.catalogCache.location(id) { return known }
        let found = try await database.read { db in
            try await db.raw("SELECT id, name, region, format FROM locations WHERE id = \(bind: id.rawValue)").first()
                .map(Self.location)
        }
        if let found { database.catalogCache.keep(found) }
        return found
    }

    /// The part of the order book `principal` may see: a region scope becomes its region's stores.
    public func orderScope(of principal: Principal) async throws -> OrderScope {
        let locations = principal.regionScope == nil ? [] : try await self.locations()
        return principal.orderScope { region in locations.filter { $0.region == region }.map(\.id) }
    }

    static func location(_ row: any SQLRow) throws -> Location {
        try row.decode(LocationRow.self).location()
    }

    // MARK: Products

    /// - Throws: `DomainError.conflict` if the SKU exists.
    public func create(_ product: Product) async throws {
        let now = clock.now().microseconds
        do {
            try await database.transaction { db in
                try await db.insert(into: "products").model(ProductRow(product, createdAt: now), with: Rows.encoder)
                    .run()
            }
        } catch  where ConstraintViolation.isUnique(error) {
            throw DomainError.conflict(code: "product_exists", message: "product '\(product.sku)' already exists")
        }
    }

    public func product(_ sku: SKU) async throws -> Product? {
        try await products([sku])[sku]
    }

    /// The products with these SKUs that exist, by SKU.
    public func products(_ skus: [SKU]) async throws -> [SKU: Product] {
        guard !skus.isEmpty else { return [:] }
        var products = database.catalogCache.products(skus)
        let missing = Set(skus.filter { products[$0] == nil }.map(\.rawValue))
        guard !missing.isEmpty else { return products }
        let rows = try await database.read { db in
            try await db.select().column("*").from("products").where("sku", .in, Array(missing))
                .all(decoding: ProductRow.self, with: Rows.decoder)
        }
        for row in rows { products[row.product.sku] = row.product }
        database.catalogCache.keep(rows.map(\.product))
        return products
    }

    public func search(_ query: ProductQuery) async throws -> ProductPage {
        let limit = max(1, min(query.limit, 200))
        return try await database.read { db in
            let select = db.select().column("*").from("products")
            if let text = query.text?.trimmingSpaces(), !text.isEmpty {
                let pattern = "%" + OrderRepository.escapeLike(text.lowercased()) + "%"
                select.where(SQLQueryString("search_text LIKE \(bind: pattern) ESCAPE '!'"))
            }
            if let category = query.category { select.where("category", .equal, category) }
            if let after = query.afterSKU { select.where("sku", .greaterThan, after) }
            let rows = try await select.orderBy("sku").limit(limit + 1).all(
                decoding: ProductRow.self, with: Rows.decoder)
            let products = rows.prefix(limit).map(\.product)
            return ProductPage(products: products, nextAfterSKU: rows.count > limit ? products.last?.sku.rawValue : nil)
        }
    }

    /// Everything validation and enrichment of one order needs: from the cache, or in two queries.
    public func snapshot(location: LocationID, skus: [SKU], defaultImageURL: String?) async throws -> CatalogSnapshot {
        async let products = self.products(skus)
        let location = try await self.location(location)
        return CatalogSnapshot(
            locations: location.map { [$0.id: $0] } ?? [:], products: try await products,
            defaultImageURL: defaultImageURL)
    }
}

struct ProductRow: Codable {
    var sku: String
    var name: String
    var searchText: String
    var description: String?
    var category: String
    var unitPrice: Int64
    var taxRate: Int64
    var taxIncluded: Bool
    var imageUrl: String?
    var active: Bool
    var createdAt: Int64
    var updatedAt: Int64

    init(_ product: Product, createdAt: Int64) {
        sku = product.sku.rawValue
        name = product.name
        searchText = [product.sku.rawValue, product.name, product.description ?? "", product.category].joined(
            separator: " "
        ).lowercased()
        description = product.description
        category = product.category
        unitPrice = product.unitPrice.units
        taxRate = product.taxRate.units
        taxIncluded = product.taxIncluded
        imageUrl = product.imageURL
        active = product.active
        self.createdAt = createdAt
        updatedAt = createdAt
    }

    var product: Product {
        Product(
            sku: SKU(sku), name: name, description: description, category: category, unitPrice: Money(units: unitPrice),
            taxRate: Percent(units: taxRate), taxIncluded: taxIncluded, imageURL: imageUrl, active: active)
    }
}

struct LocationRow: TableRow {
    static let table = "locations"
    var id: String
    var name: String
    var region: String
    var format: String

    func location() throws -> Location {
        Location(id: LocationID(id), name: name, region: region, format: try Self.parse(format, column: "format"))
    }
}

/// The stores and products this instance has read. A catalog row never changes once written (no
/// route updates or deletes one), so a kept row is what the database holds; only rows found are
/// kept, so one created later, here or on another instance, is read when first asked for. Bounded:
/// past `limit` rows it starts again empty.
final class CatalogCache: Sendable {
    private struct Rows {
        var products: [SKU: Product] = [:]
        var locations: [LocationID: Location] = [:]
    }
    private let rows = Mutex(Rows())
    let limit: Int

    init(limit: Int = 100_000) { self.limit = limit }

    func products(_ skus: [SKU]) -> [SKU: Product] {
        rows.withLock { rows in
            var found: [SKU: Product] = [:]
            for sku in skus { if let product = rows.products[sku] { found[sku] = product } }
            return found
        }
    }

    func location(_ id: LocationID) -> Location? { rows.withLock { $0.locations[id] } }

    func keep(_ products: [Product]) {
        guard !products.isEmpty else { return }
        rows.withLock { rows in
            if rows.products.count + products.count > limit { rows.products.removeAll() }
            for product in products { rows.products[product.sku] = product }
        }
    }

    func keep(_ location: Location) {
        rows.withLock { rows in
            if rows.locations.count >= limit { rows.locations.removeAll() }
            rows.locations[location.id] = location
        }
    }
}
