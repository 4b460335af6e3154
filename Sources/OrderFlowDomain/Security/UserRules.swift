/// Formats for accounts; failures use the rule code `format` (or `password`, `scope`).
public enum UserRules {
    /// Customer IDs of shoppers who registered themselves: `R-` and ten random letters and
    /// digits, made by OrderFlow and unique in the database. No channel, store or administrator
    /// may place an order under one or give one to another account, so registering can never
    /// reach a customer someone else already is.
    public static let registrantPrefix = "R-"

    public static func isRegistrantCustomerID(_ id: String) -> Bool {
        id.uppercased().hasPrefix(registrantPrefix)
    }

    /// A new registrant's customer ID (32 symbols, ten of them: 50 bits).
    public static func newRegistrantCustomerID<G: RandomNumberGenerator>(using generator: inout G) -> String {
        let symbols = Array("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        return registrantPrefix
            + String((0..<10).map { _ in symbols[Int(generator.next(upperBound: UInt64(symbols.count)))] })
    }

    /// 3–40 of a–z, 0–9, `.`, `_`, `-` in any letter case; stored lower case.
    public static func username(_ text: String, into errors: inout [FieldError], field: String = "username") -> String {
        let name = text.trimmingSpaces()
        let ok =
            (3...40).contains(name.count)
            && name.allSatisfy { Formats.isAlphanumeric($0, upperOnly: false) || $0 == "." || $0 == "_" || $0 == "-" }
        if !ok {
            errors.append(
                FieldError(field: field, rule: "format", message: "must be 3–40 of a–z, 0–9, '.', '_' or '-'"))
        }
        return name.lowercased()
    }

    /// 12–72 characters (scalars, as the API document counts them), at most 72 bytes in UTF-8
    /// (bcrypt reads no further), and at least 4 different characters.
    public static func password(_ text: String, into errors: inout [FieldError], field: String = "password") {
        if !(12...72).contains(text.unicodeScalars.count) {
            errors.append(FieldError(field: field, rule: "password", message: "must be 12–72 characters long"))
        } else if text.utf8.count > 72 {
            errors.append(FieldError(field: field, rule: "password", message: "must be at most 72 bytes in UTF-8"))
        } else if Set(text).count < 4 {
            errors.append(
                FieldError(field: field, rule: "password", message: "must have at least 4 different characters"))
        }
    }

    public static func displayName(_ text: String, into errors: inout [FieldError], field: String = "displayName")
        -> String
    {
        let name = text.trimmingSpaces()
        if !Formats.isText(name, maxLength: 100) {
            errors.append(FieldError(field: field, rule: "format", message: "must be 1–100 characters"))
        }
        return name
    }

    /// nil for an empty string (which clears the address).
    public static func email(_ text: String?, into errors: inout [FieldError], field: String = "email") -> String? {
        guard let text else { return nil }
        let email = text.trimmingSpaces()
        if email.isEmpty { return nil }
        if !Formats.isEmail(email) {
            errors.append(FieldError(field: field, rule: "format", message: "must be an email address"))
        }
        return email.lowercased()
    }

    /// A key's or user's own request budget as asked for: a rate of 0 goes back to the roles'
    /// default (nil; a burst with it is checked, then ignored); otherwise 0.1 to 1,000,000 a second with a burst
    /// of 1 to 2,000,000.
    public static func rateLimit(
        requestsPerSecond: Double, burst: Double?, into errors: inout [FieldError], field: String = "rateLimit"
    ) -> RateLimit? {
        if let burst, !(1...2_000_000).contains(burst) {
            errors.append(FieldError(field: "\(field).burst", rule: "format", message: "must be 1 to 2000000 requests"))
            return nil
        }
        if requestsPerSecond == 0 { return nil }
        if !RateLimit.rates.contains(requestsPerSecond) {
            errors.append(
                FieldError(
                    field: "\(field).requestsPerSecond", rule: "format",
                    message: "must be 0.1 to 1000000 requests a second, or 0 for the roles' default"))
            return nil
        }
        return RateLimit(requestsPerSecond: requestsPerSecond, burst: burst)
    }

    /// Scoped roles need their scope: a store for store managers, a region for regional
    /// coordinators, a customer ID for customers.
    public static func scopes(
        roles: Set<Role>, store: LocationID?, region: String?, customerID: String?, into errors: inout [FieldError]
    ) {
        if roles.isEmpty {
            errors.append(FieldError(field: "roles", rule: "format", message: "needs at least one role"))
        }
        if roles.contains(.storeManager) && store == nil {
            errors.append(FieldError(field: "storeScope", rule: "scope", message: "a store manager needs a store"))
        }
        if roles.contains(.regionalCoordinator) && region == nil {
            errors.append(
                FieldError(field: "regionScope", rule: "scope", message: "a regional coordinator needs a region"))
        }
        if roles.contains(.customer) && customerID == nil {
            errors.append(FieldError(field: "customerId", rule: "scope", message: "a customer needs a customer ID"))
        }
        if let customerID, isRegistrantCustomerID(customerID) {
            errors.append(
                FieldError(
                    field: "customerId", rule: "scope",
                    message: "IDs starting with R- belong to shoppers who registered themselves"))
        }
        if let customerID, !Formats.isCode(customerID, maxLength: 40, caseSensitive: true) {
            errors.append(
                FieldError(field: "customerId", rule: "format", message: "must be 1–40 letters, digits, '-' or '_'"))
        }
    }
}
