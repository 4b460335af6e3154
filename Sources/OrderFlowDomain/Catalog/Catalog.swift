/// A product in the catalog: the source of enrichment (story 2.2) and default prices and taxes.
public struct Product: Sendable, Hashable {
    public var sku: SKU
    public var name: String
    public var description: String?
    public var category: String
    public var unitPrice: Money
    /// The VAT rate applied to lines that carry no taxes of their own.
    public var taxRate: Percent
    /// Whether `unitPrice` already includes the tax (shelf prices usually do).
    public var taxIncluded: Bool
    public var imageURL: String?
    public var active: Bool

    public init(
        sku: SKU, name: String, description: String? = nil, category: String, unitPrice: Money,
        taxRate: Percent, taxIncluded: Bool = true, imageURL: String? = nil, active: Bool = true
    ) {
        self.sku = sku
        self.name = name
        self.description = description
        self.category = category
        self.unitPrice = unitPrice
        self.taxRate = taxRate
        self.taxIncluded = taxIncluded
        self.imageURL = imageURL
        self.active = active
    }
}

/// A store or warehouse orders ship from.
public struct Location: Sendable, Hashable {
    public var id: LocationID
    public var name: String
    public var region: String
    public var format: LocationFormat

    public init(id: LocationID, name: String, region: String, format: LocationFormat) {
        self.id = id
        self.name = name
        self.region = region
        self.format = format
    }
}

/// The catalog entries one order refers to, read before validation so the rules stay pure.
public struct CatalogSnapshot: Sendable {
    public var locations: [LocationID: Location]
    public var products: [SKU: Product]
    /// Used for a line whose product has no image (story 2.2: "default or catalog images").
    public var defaultImageURL: String?

    public init(locations: [LocationID: Location] = [:], products: [SKU: Product] = [:], defaultImageURL: String? = nil)
    {
        self.locations = locations
        self.products = products
        self.defaultImageURL = defaultImageURL
    }
}
