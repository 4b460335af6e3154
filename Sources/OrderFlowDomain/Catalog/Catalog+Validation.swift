/// Catalog input as a caller sent it.
public struct ProductDraft: Sendable, Hashable {
    public var sku: String
    public var name: String
    public var description: String?
    public var category: String
    public var unitPrice: String
    public var taxRate: String?
    public var taxIncluded: Bool?
    public var imageURL: String?
    public var active: Bool?

    public init(
        sku: String, name: String, description: String? = nil, category: String, unitPrice: String,
        taxRate: String? = nil, taxIncluded: Bool? = nil, imageURL: String? = nil, active: Bool? = nil
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

/// Rules for catalog entries; failures use the rule code `format`.
public enum CatalogRules {
    public static func product(_ draft: ProductDraft) throws(DomainError) -> Product {
        var errors: [FieldError] = []
        func fail(_ field: String, _ message: String) {
            errors.append(FieldError(field: field, rule: "format", message: message))
        }
        let sku = SKU(draft.sku)
        if !Formats.isCode(sku.rawValue, maxLength: 40, caseSensitive: true) {
            fail("sku", "must be 1–40 letters, digits, '-' or '_'")
        }
        let name = draft.name.trimmingSpaces()
        if !Formats.isText(name, maxLength: 200) { fail("name", "must be 1–200 characters without control characters") }
        let description = draft.description?.trimmingSpaces()
        if let description, !description.isEmpty, !Formats.isText(description, maxLength: 2_000) {
            fail("description", "must be at most 2000 characters")
        }
        let category = draft.category.trimmingSpaces()
        if !Formats.isText(category, maxLength: 60) { fail("category", "must be 1–60 characters") }
        let price = Money(decimal: draft.unitPrice)
        if price == nil || price! < .zero || price! > OrderLimits.maxUnitPrice {
            fail("unitPrice", "must be a decimal string from 0 to \(OrderLimits.maxUnitPrice) with at most 4 decimals")
        }
        let rate = Percent(decimal: draft.taxRate ?? "0")
        if rate == nil || rate! < Percent(units: 0) || rate! > .hundred {
            fail("taxRate", "must be a percentage from 0 to 100 with at most 4 decimals")
        }
        let image = draft.imageURL?.trimmingSpaces()
        if let image, !image.isEmpty, !Formats.isHTTPURL(image) {
            fail("imageUrl", "must be an http(s) URL of at most 2048 characters")
        }
        if !errors.isEmpty { throw .validationFailed(errors) }
        return Product(
            sku: sku, name: name, description: description?.isEmpty == true ? nil : description,
            category: category.lowercased(),
            unitPrice: price!, taxRate: rate!, taxIncluded: draft.taxIncluded ?? true,
            imageURL: image?.isEmpty == true ? nil : image, active: draft.active ?? true)
    }

    public static func location(id: String, name: String, region: String, format: LocationFormat) throws(DomainError)
        -> Location
    {
        var errors: [FieldError] = []
        let locationID = LocationID(id)
        if !Formats.isCode(id.trimmingSpaces(), maxLength: 32, caseSensitive: true) {
            errors.append(FieldError(field: "id", rule: "format", message: "must be 1–32 letters, digits, '-' or '_'"))
        }
        let name = name.trimmingSpaces()
        if !Formats.isText(name, maxLength: 100) {
            errors.append(FieldError(field: "name", rule: "format", message: "must be 1–100 characters"))
        }
        let region = region.trimmingSpaces()
        if !Formats.isCode(region, maxLength: 40, caseSensitive: true) {
            errors.append(
                FieldError(field: "region", rule: "format", message: "must be 1–40 letters, digits, '-' or '_'"))
        }
        if !errors.isEmpty { throw .validationFailed(errors) }
        return Location(id: locationID, name: name, region: region.uppercased(), format: format)
    }
}
