import Foundation

public struct ProductQuery: Sendable {
    /// Matches part of the SKU, name, description or category, ignoring case.
    public var text: String?
    public var category: String?
    public var limit: Int = 50
    /// The last SKU of the previous page.
    public var afterSKU: String?
    public init() {}
}

public struct ProductPage: Sendable {
    public var products: [Product]
    public var nextAfterSKU: String?

    public init(products: [Product], nextAfterSKU: String? = nil) {
        self.products = products
        self.nextAfterSKU = nextAfterSKU
    }
}
