import Foundation

/// Realistic order bodies for `POST /api/orders`: mixed stores (small-format stores force
/// allocation and take cash on delivery), 1–4 lines of the catalog, card or COD, four sales
/// channels, 80 % delivery with an address and a delivery charge. Used by the demo's order
/// generator and by `orderflow load`.
public struct OrderGenerator: Sendable {
    public struct Place: Sendable, Hashable {
        public var id: String
        /// A small-format store (`qc_smf`).
        public var smallFormat: Bool

        public init(id: String, smallFormat: Bool) {
            self.id = id
            self.smallFormat = smallFormat
        }
    }

    public let places: [Place]
    public let skus: [String]

    static let customers = [
        "Somchai Jaidee", "Malee Srisuk", "Anan Chaiyaporn", "Kanya Boonmee", "Prasert Wongsa", "Ratana Kaewmanee",
        "Niran Thongdee", "Siriporn Rattana",
    ]

    /// Nil when there is no store or no product to order.
    public init?(places: [Place], skus: [String]) {
        guard !places.isEmpty, !skus.isEmpty else { return nil }
        self.places = places
        self.skus = skus
    }

    /// From the bodies of `GET /api/locations` and `GET /api/products`.
    public init?(locations: [String: Any], products: [String: Any]) {
        let places = (locations["items"] as? [[String: Any]] ?? []).compactMap { item -> Place? in
            guard let id = item["id"] as? String else { return nil }
            return Place(id: id, smallFormat: item["format"] as? String == "qc_smf")
        }
        self.init(
            places: places, skus: (products["items"] as? [[String: Any]] ?? []).compactMap { $0["sku"] as? String })
    }

    public func order<R: RandomNumberGenerator>(id: String, using random: inout R) -> [String: Any] {
        let place = places.randomElement(using: &random)!
        let name = Self.customers.randomElement(using: &random)!
        let customerNumber = Int.random(in: 1000...1099, using: &random)
        let lines: [[String: Any]] = skus.shuffled(using: &random).prefix(Int.random(in: 1...4, using: &random)).map {
            ["sku": $0, "quantity": Int.random(in: 1...3, using: &random)]
        }
        var body: [String: Any] = [
            "orderId": id, "shipFromLocationId": place.id,
            "channel": ["app", "web", "store", "marketplace"].randomElement(using: &random)!,
            "isForceAllocation": place.smallFormat,
            "paymentMethod": place.smallFormat || Bool.random(using: &random) ? "cod" : "card",
            "customer": [
                "id": "CUST-\(customerNumber)", "name": name,
                "phone": "+6681\(Int.random(in: 1_000_000...9_999_999, using: &random))",
                "email": "\(name.split(separator: " ").first!.lowercased())\(customerNumber)@example.com",
            ],
            "lines": lines,
        ]
        if Double.random(in: 0..<1, using: &random) < 0.8 {
            body["orderType"] = "delivery"
            body["deliveryAddress"] = [
                "line1":
                    "\(Int.random(in: 1...999, using: &random)) Sukhumvit Soi \(Int.random(in: 1...71, using: &random))",
                "city": "Bangkok", "postalCode": "10110", "country": "TH",
            ]
            body["charges"] = [["type": "delivery", "amount": "25.00"]]
        } else {
            body["orderType"] = "pickup"
        }
        return body
    }

    public func order(id: String) -> [String: Any] {
        var random = SystemRandomNumberGenerator()
        return order(id: id, using: &random)
    }
}
