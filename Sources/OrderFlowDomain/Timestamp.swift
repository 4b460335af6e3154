import Foundation

/// A UTC instant with microsecond precision, stored as an integer so it survives both databases
/// exactly.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var microseconds: Int64

    public init(microseconds: Int64) { self.microseconds = microseconds }

    public init(_ date: Date) {
        microseconds = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    public var date: Date { Date(timeIntervalSince1970: Double(microseconds) / 1_000_000) }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.microseconds < rhs.microseconds }

    /// `other` if it is later than this instant, else one microsecond after it: for marks that
    /// must move forward even when the clock does not (password changes invalidating tokens).
    public func later(_ other: Timestamp) -> Timestamp {
        other > self ? other : Timestamp(microseconds: microseconds + 1)
    }

    public func adding(seconds: Double) -> Timestamp {
        Timestamp(microseconds: microseconds + Int64(seconds * 1_000_000))
    }

    /// RFC 3339 in UTC with microseconds, e.g. `2026-11-22T03:14:15.926535Z`.
    public var description: String { Self.rfc3339(microseconds, fractionDigits: 6) }

    /// RFC 3339 in UTC with `fractionDigits` (3 or 6) decimals of the second, truncated; pure
    /// integer arithmetic, so formatting a parsed value gives back the same text.
    public static func rfc3339(_ microseconds: Int64, fractionDigits: Int) -> String {
        let seconds = microseconds >= 0 ? microseconds / 1_000_000 : (microseconds - 999_999) / 1_000_000
        let fraction = microseconds - seconds * 1_000_000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // Days to civil date (H. Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let digits = fractionDigits == 3 ? pad(fraction / 1_000, 3) : pad(fraction, 6)
        return
            "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3_600, 2)):\(pad(secondOfDay % 3_600 / 60, 2)):\(pad(secondOfDay % 60, 2)).\(digits)Z"
    }
}

extension Timestamp {
    /// Parses what `description` writes (`2026-11-22T03:14:15.926535Z`; 0–6 decimals, UTC only).
    public init?(rfc3339 text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.last == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for index in range {
                let digit = Int64(bytes[index]) - 48
                guard (0...9).contains(digit) else { return nil }
                value = value * 10 + digit
            }
            return value
        }
        guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var fraction: Int64 = 0
        if bytes.count > 20 {
            let digits = bytes.count - 21
            guard bytes[19] == UInt8(ascii: "."), (1...6).contains(digits), let value = number(20..<(bytes.count - 1))
            else { return nil }
            fraction = value * [1, 100_000, 10_000, 1_000, 100, 10, 1][digits]
        } else if bytes.count != 20 {
            return nil
        }
        // Civil date to days (H. Hinnant's algorithm), the inverse of `rfc3339(_:fractionDigits:)`.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        self.init(microseconds: ((days * 86_400 + hour * 3_600 + minute * 60 + second) * 1_000_000) + fraction)
    }
}

/// Where the current time comes from: the system in production, a manual clock in tests
/// (OrderFlowTestSupport's `ManualClock`).
public protocol WallClock: Sendable {
    func now() -> Timestamp
}

public struct SystemClock: WallClock {
    public init() {}
    public func now() -> Timestamp { Timestamp(Date()) }
}

/// A clock one can wait on: the invoice stream's actors sleep on it; tests move it by hand.
public protocol SleepingClock: WallClock {
    /// Returns at `deadline` or later (at once when it has passed); throws `CancellationError` if
    /// the task is cancelled while waiting.
    func sleep(until deadline: Timestamp) async throws
}

extension SystemClock: SleepingClock {
    public func sleep(until deadline: Timestamp) async throws {
        let wait = deadline.microseconds - now().microseconds
        if wait > 0 { try await Task.sleep(for: .microseconds(wait)) } else { try Task.checkCancellation() }
    }
}
