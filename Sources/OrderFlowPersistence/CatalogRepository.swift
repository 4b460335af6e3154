import Foundation
import OrderFlowDomain
import SQLKit

/// Locations and products: the catalog orders are validated and enriched against.
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
        try await database.read { db in
            try await db.raw("SELECT id, name, region, format FROM locations WHERE id = \(bind: id.rawValue)").first()
                .map(Self.location)
        }
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
        return try await database.read { db in
            let rows = try await db.select().column("*").from("products").where(
                "sku", .in, Array(Set(skus.map(\.rawValue)))
            )
            .all(decoding: ProductRow.self, with: Rows.decoder)
            return Dictionary(rows.map { ($0.product.sku, $0.product) }, uniquingKeysWith: { first, _ in first })
        }
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

    /// Everything validation and enrichment of one order needs, in two queries.
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
