/// The validation rules of docs/api.md. A–G are seed 002's story 2.1; H and I cover line items and
/// order-level details the story leaves implicit.
public enum Rule: String, Sendable, CaseIterable {
    /// OrderID: format and uniqueness.
    case A
    /// ShipFromLocationID: known location, the same on every line.
    case B
    /// IsForceAllocation: true for every order from a QC small-format store.
    case C
    /// T1MembershipID format.
    case D
    /// T1Number format.
    case E
    /// CustRef format.
    case F
    /// Customer profile: ID format, name, contact.
    case G
    /// Line items: SKU, quantity, prices, discounts, taxes, descriptions, images, bundles.
    case H
    /// Order details: payment method for the store, delivery address, charges, limits.
    case I
    /// FR8: changes after release, and the 20 % substitution price limit.
    case FR8
}

/// One field that failed one rule.
public struct FieldError: Sendable, Hashable, CustomStringConvertible {
    /// JSON path of the field, e.g. `lines[0].quantity`.
    public var field: String
    /// The rule's code: `A`–`I`, `FR8`, or a structural code such as `required` or `type`.
    public var rule: String
    public var message: String

    public init(field: String, rule: String, message: String) {
        self.field = field
        self.rule = rule
        self.message = message
    }

    public init(field: String, rule: Rule, message: String) {
        self.init(field: field, rule: rule.rawValue, message: message)
    }

    public var description: String { "\(field) [\(rule)]: \(message)" }
}

/// Errors the domain reports; the HTTP edge maps each case once to a status and error code.
public enum DomainError: Error, Sendable, Equatable {
    /// The input broke one or more rules; nothing was changed.
    case validationFailed([FieldError])
    /// Something named in the request does not exist.
    case notFound(kind: String, id: String)
    /// An order with this ID exists already (rule A).
    case duplicateOrder(OrderID)
    /// The order cannot move from its status to the requested one.
    case illegalTransition(from: OrderStatus, to: OrderStatus)
    /// The order's lines can no longer change (FR8).
    case orderLocked(OrderID, OrderStatus)
    /// Not enough stock for one or more items; nothing was reserved.
    case insufficientStock([FieldError])
    /// The same key or ID was used before with different content.
    case conflict(code: String, message: String)
    /// Another writer changed the record between read and write; the caller may retry.
    case concurrentUpdate(String)
    /// The caller's store, region or customer scope does not reach what it asked to change.
    case outOfScope(String)
}

/// Collects every failed rule so a caller sees all problems at once.
public struct ValidationCollector: Sendable {
    public private(set) var errors: [FieldError] = []
    public init() {}

    public mutating func fail(_ field: String, _ rule: Rule, _ message: String) {
        errors.append(FieldError(field: field, rule: rule, message: message))
    }

    public var isEmpty: Bool { errors.isEmpty }

    public func throwIfAny() throws(DomainError) {
        if !errors.isEmpty { throw .validationFailed(errors) }
    }
}
