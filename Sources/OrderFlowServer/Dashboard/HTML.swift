import Hummingbird
import NIOCore

/// A fragment of HTML. Text interpolated into it is escaped unless it is HTML itself, so a
/// page cannot be injected into by an order's customer name or a downstream system's error text:
///
///     let row: HTML = "<td>\(order.customerName)</td><td>\(badge)</td>"   // badge: HTML, kept
///
/// Pages are built from these with plain string interpolation; no template engine, no runtime
/// parsing (docs/dashboard.md says why).
struct HTML: ExpressibleByStringInterpolation, Sendable, CustomStringConvertible {
    private(set) var text: String

    init(unsafe text: String) { self.text = text }
    init(stringLiteral value: String) { text = value }
    init(stringInterpolation: Interpolation) { text = stringInterpolation.text }

    var description: String { text }

    static let empty = HTML(unsafe: "")

    struct Interpolation: StringInterpolationProtocol {
        var text = ""
        init(literalCapacity: Int, interpolationCount: Int) {
            text.reserveCapacity(literalCapacity + interpolationCount * 16)
        }
        mutating func appendLiteral(_ literal: String) { text += literal }
        mutating func appendInterpolation(_ html: HTML) { text += html.text }
        mutating func appendInterpolation(_ html: HTML?) { text += html?.text ?? "" }
        mutating func appendInterpolation(_ items: [HTML]) { for item in items { text += item.text } }
        /// Text, escaped for element content and quoted attribute values alike.
        mutating func appendInterpolation(_ value: String) { HTML.escape(value, into: &text) }
        mutating func appendInterpolation(_ value: String?) { if let value { HTML.escape(value, into: &text) } }
        mutating func appendInterpolation(_ value: Substring) { HTML.escape(String(value), into: &text) }
        mutating func appendInterpolation(_ value: Int) { text += String(value) }
        mutating func appendInterpolation(_ value: Int64) { text += String(value) }
    }

    static func escape(_ value: String, into out: inout String) {
        for character in value.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(character)
            }
        }
    }

    static func escaped(_ value: String) -> String {
        var out = ""
        escape(value, into: &out)
        return out
    }

    /// A page or fragment as a response (never cached: every view is live data).
    func response(_ status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

extension Array where Element == HTML {
    func joined(_ separator: HTML = .empty) -> HTML {
        HTML(unsafe: map(\.text).joined(separator: separator.text))
    }
}
