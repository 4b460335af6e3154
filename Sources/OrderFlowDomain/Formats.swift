import Foundation

/// The field formats of docs/api.md, written without regular expressions so they are fast and
/// behave the same on every platform. The API document states each as a pattern; lengths count
/// Unicode scalars (code points), as JSON Schema does. Callers check what was sent (trimmed) before
/// changing its case: upper-casing `ı` or `ß` makes ASCII of what was not.
public enum Formats {
    static func isLetter(_ c: Character) -> Bool {
        c.isASCII && ((c >= "A" && c <= "Z") || (c >= "a" && c <= "z"))
    }

    static func isAlphanumeric(_ c: Character, upperOnly: Bool) -> Bool {
        guard c.isASCII else { return false }
        return (c >= "A" && c <= "Z") || (!upperOnly && c >= "a" && c <= "z") || (c >= "0" && c <= "9")
    }

    /// Rule A: 3–40 of A–Z, a–z, 0–9, `-`, `_`, starting and ending with a letter or digit.
    public static func isOrderID(_ text: String) -> Bool {
        guard OrderLimits.orderIDLength.contains(text.count), let first = text.first, let last = text.last else {
            return false
        }
        return isAlphanumeric(first, upperOnly: false) && isAlphanumeric(last, upperOnly: false)
            && text.allSatisfy { isAlphanumeric($0, upperOnly: false) || $0 == "-" || $0 == "_" }
    }

    /// Letters, digits, `-` and (unless excluded) `_`; upper case only unless `caseSensitive`.
    public static func isCode(
        _ text: String, maxLength: Int, minLength: Int = 1, caseSensitive: Bool = false, allowUnderscore: Bool = true
    ) -> Bool {
        guard text.count >= minLength, text.count <= maxLength else { return false }
        return text.allSatisfy {
            isAlphanumeric($0, upperOnly: !caseSensitive) || $0 == "-" || (allowUnderscore && $0 == "_")
        }
    }

    public static func isDigits(_ text: String, count: ClosedRange<Int>) -> Bool {
        count.contains(text.count) && text.allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// Printable ASCII from `!` to `~`: no spaces, no control characters.
    public static func isVisibleASCII(_ text: String, maxLength: Int) -> Bool {
        !text.isEmpty && text.count <= maxLength
            && text.unicodeScalars.allSatisfy { $0.value >= 0x21 && $0.value <= 0x7E }
    }

    /// Non-empty text of at most `maxLength` scalars with no control characters.
    public static func isText(_ text: String, maxLength: Int) -> Bool {
        !text.isEmpty && text.unicodeScalars.count <= maxLength
            && !text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    }

    /// At most `maxLength` scalars, as JSON Schema counts a string's length.
    public static func isAtMost(_ text: String, _ maxLength: Int) -> Bool {
        text.unicodeScalars.count <= maxLength
    }

    public static func isEmail(_ text: String) -> Bool {
        guard text.count <= 254, !text.contains(" ") else { return false }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].count <= 64 else { return false }
        let domain = parts[1]
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty }) else { return false }
        return isVisibleASCII(String(parts[0]), maxLength: 64)
            && domain.allSatisfy { isAlphanumeric($0, upperOnly: false) || $0 == "-" || $0 == "." }
    }

    /// Removes the spaces, dashes, dots and brackets people type in phone numbers.
    public static func normalizedPhone(_ text: String) -> String {
        String(text.filter { !" -.()".contains($0) })
    }

    /// E.164-like: 8–15 digits with an optional leading `+` (after `normalizedPhone`).
    public static func isPhone(_ text: String) -> Bool {
        let digits = text.hasPrefix("+") ? String(text.dropFirst()) : text
        return isDigits(digits, count: 8...15)
    }

    public static func isPostalCode(_ text: String) -> Bool {
        (3...10).contains(text.count)
            && text.allSatisfy { isAlphanumeric($0, upperOnly: false) || $0 == " " || $0 == "-" }
    }

    public static func isHTTPURL(_ text: String) -> Bool {
        let lower = text.lowercased()
        guard lower.hasPrefix("https://") || lower.hasPrefix("http://") else { return false }
        let host = lower.drop(while: { $0 != "/" }).dropFirst(2)
        return text.count <= OrderLimits.urlLength && !host.isEmpty && !host.hasPrefix("/")
            && isVisibleASCII(text, maxLength: OrderLimits.urlLength)
    }
}

/// URL-safe base64 without padding: page tokens, JWT parts, secrets.
public enum Base64URL {
    public static func encode(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(
                of: "=", with: "")
    }

    public static func encode(_ text: String) -> String { encode(Data(text.utf8)) }

    public static func decodeData(_ token: String) -> Data? {
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }

    public static func decode(_ token: String) -> String? {
        decodeData(token).flatMap { String(data: $0, encoding: .utf8) }
    }
}
