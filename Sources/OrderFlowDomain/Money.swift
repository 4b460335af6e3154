/// An exact amount of money in units of 0.0001 (the precision of DECIMAL(18,4)).
///
/// Amounts never pass through floating point: they are parsed from and formatted to decimal
/// strings, added exactly, and rounded only where `Rounding` says so.
public struct Money: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Units of 0.0001 per 1.
    public static let scale: Int64 = 10_000
    /// Decimal places kept.
    public static let decimals = 4

    /// The amount in units of 0.0001.
    public var units: Int64

    public init(units: Int64) { self.units = units }

    public static let zero = Money(units: 0)

    /// Parses a plain decimal string such as `"12"`, `"-3.5"` or `"19.9900"`.
    ///
    /// Returns nil for anything else: exponents, a leading `+`, spaces, more than four decimal
    /// places, or more than 14 integer digits.
    public init?(decimal text: String) {
        guard let units = DecimalText.parse(text, decimals: Money.decimals, maxIntegerDigits: 14) else { return nil }
        self.units = units
    }

    /// The amount with all four decimals, e.g. `"19.9900"`; the API's wire format.
    public var description: String { DecimalText.format(units, decimals: Money.decimals) }

    /// The amount rounded for display with `places` decimals (half away from zero).
    public func formatted(places: Int) -> String {
        let rounded = Rounding.halfAwayFromZero(units, toDecimals: places, from: Money.decimals)
        let text = DecimalText.format(rounded, decimals: Money.decimals)
        return String(text.dropLast(Money.decimals - places)).trimmingSuffix(".")
    }

    public static func < (lhs: Money, rhs: Money) -> Bool { lhs.units < rhs.units }
    public static func + (lhs: Money, rhs: Money) -> Money { Money(units: lhs.units + rhs.units) }
    public static func - (lhs: Money, rhs: Money) -> Money { Money(units: lhs.units - rhs.units) }
    public static func += (lhs: inout Money, rhs: Money) { lhs.units += rhs.units }
    public static func * (lhs: Money, rhs: Int) -> Money { Money(units: lhs.units * Int64(rhs)) }

    /// This amount rounded to `places` decimals, half away from zero.
    public func rounded(toPlaces places: Int) -> Money {
        Money(units: Rounding.halfAwayFromZero(units, toDecimals: places, from: Money.decimals))
    }
}

extension Sequence where Element == Money {
    /// The exact sum.
    public func sum() -> Money { reduce(.zero, +) }
}

/// A percentage with up to four decimals, e.g. `7` or `7.25` (meaning 7.25 %).
public struct Percent: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Units of 0.0001 percent.
    public var units: Int64
    public init(units: Int64) { self.units = units }

    public init?(decimal text: String) {
        guard let units = DecimalText.parse(text, decimals: 4, maxIntegerDigits: 3) else { return nil }
        self.units = units
    }

    public static let hundred = Percent(units: 100 * 10_000)
    public var description: String { DecimalText.format(units, decimals: 4) }
    public static func < (lhs: Percent, rhs: Percent) -> Bool { lhs.units < rhs.units }

    /// `amount × self / 100`, rounded to 0.0001 half away from zero: tax charged on top.
    public func of(_ amount: Money) -> Money {
        let numerator = Int128(amount.units) * Int128(units)
        return Money(units: Int64(Rounding.divide(numerator, by: Int128(100 * 10_000))))
    }

    /// The part of a tax-inclusive `amount` that is tax: `amount × rate / (100 + rate)`, rounded
    /// to 0.0001 half away from zero.
    public func includedIn(_ amount: Money) -> Money {
        let numerator = Int128(amount.units) * Int128(units)
        return Money(units: Int64(Rounding.divide(numerator, by: Int128(100 * 10_000) + Int128(units))))
    }
}

/// The one rounding rule of OrderFlow: half away from zero (0.00005 → 0.0001, −0.00005 → −0.0001).
public enum Rounding {
    /// `numerator / denominator` rounded half away from zero; `denominator` must be positive.
    public static func divide(_ numerator: Int128, by denominator: Int128) -> Int128 {
        let quotient = numerator / denominator
        let remainder = numerator % denominator
        let twice = remainder.magnitude * 2
        guard twice >= denominator.magnitude else { return quotient }
        return numerator < 0 ? quotient - 1 : quotient + 1
    }

    /// Rounds a fixed-point value with `scale` decimals to `places` decimals, keeping its scale.
    static func halfAwayFromZero(_ units: Int64, toDecimals places: Int, from scale: Int) -> Int64 {
        guard places < scale else { return units }
        var step: Int64 = 1
        for _ in places..<scale { step *= 10 }
        return Int64(divide(Int128(units), by: Int128(step))) * step
    }
}

/// Parsing and formatting of fixed-point decimal text, shared by `Money` and `Percent`.
enum DecimalText {
    static func parse(_ text: String, decimals: Int, maxIntegerDigits: Int) -> Int64? {
        var bytes = Array(text.utf8)
        let negative = bytes.first == UInt8(ascii: "-")
        if negative { bytes.removeFirst() }
        let dot = bytes.firstIndex(of: UInt8(ascii: "."))
        let integerPart = bytes[..<(dot ?? bytes.endIndex)]
        let fraction = dot.map { bytes[($0 + 1)...] } ?? []
        guard !integerPart.isEmpty, integerPart.count <= maxIntegerDigits, fraction.count <= decimals else {
            return nil
        }
        if dot != nil && fraction.isEmpty { return nil }
        let isDigit: (UInt8) -> Bool = { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        guard integerPart.allSatisfy(isDigit), fraction.allSatisfy(isDigit) else { return nil }
        var value: Int64 = 0
        for byte in integerPart { value = value * 10 + Int64(byte - UInt8(ascii: "0")) }
        for index in 0..<decimals {
            value *= 10
            if index < fraction.count { value += Int64(fraction[fraction.startIndex + index] - UInt8(ascii: "0")) }
        }
        return negative ? -value : value
    }

    static func format(_ units: Int64, decimals: Int) -> String {
        var scale: Int64 = 1
        for _ in 0..<decimals { scale *= 10 }
        let magnitude = units.magnitude
        let integer = magnitude / UInt64(scale)
        let fraction = String(magnitude % UInt64(scale))
        let padded = String(repeating: "0", count: decimals - fraction.count) + fraction
        return (units < 0 ? "-" : "") + "\(integer).\(padded)"
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
