import OrderFlowDomain

/// Lists and addresses inside a row, stored as JSON text.
struct AddressJSON: Codable {
    var line1: String
    var line2: String?
    var city: String
    var postalCode: String
    var country: String
    init(_ a: Address) {
        line1 = a.line1
        line2 = a.line2
        city = a.city
        postalCode = a.postalCode
        country = a.country
    }
    var address: Address { Address(line1: line1, line2: line2, city: city, postalCode: postalCode, country: country) }
}

struct ChargeJSON: Codable {
    var type: String
    var amount: Int64
}

struct DiscountJSON: Codable {
    var code: String?
    var amount: Int64
}

struct TaxJSON: Codable {
    var code: String
    var rate: Int64
    var inclusive: Bool
    var amount: Int64
}
