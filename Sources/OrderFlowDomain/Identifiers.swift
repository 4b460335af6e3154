/// The caller's order identifier, canonical in upper case (`ord-1` and `ORD-1` are one order).
public struct OrderID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: String
    /// Canonicalises without validating: trims spaces and upper-cases.
    public init(_ text: String) { rawValue = text.trimmingSpaces().uppercased() }
    public var description: String { rawValue }
    public static func < (lhs: OrderID, rhs: OrderID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A stock-keeping unit, kept as given (SKUs are case-sensitive in most catalogs).
public struct SKU: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: String
    public init(_ text: String) { rawValue = text.trimmingSpaces() }
    public var description: String { rawValue }
    public static func < (lhs: SKU, rhs: SKU) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A store or warehouse that orders ship from (seed 002's ShipFromLocationID), canonical in upper case.
public struct LocationID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: String
    public init(_ text: String) { rawValue = text.trimmingSpaces().uppercased() }
    public var description: String { rawValue }
    public static func < (lhs: LocationID, rhs: LocationID) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension String {
    /// The string without leading and trailing spaces, tabs and line breaks (Foundation-free).
    /// Read scalar by scalar, as the API document's patterns read text: as characters, `\r\n` is
    /// one that is neither `\r` nor `\n`, and would stay.
    public func trimmingSpaces() -> String {
        let isSpace: (Unicode.Scalar) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !isSpace($0) }),
            let last = scalars.lastIndex(where: { !isSpace($0) })
        else {
            return ""
        }
        return String(scalars[first...last])
    }
}
