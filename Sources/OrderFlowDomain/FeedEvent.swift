import Foundation

/// A committed change, as live pages and stream clients hear of it.
public struct FeedEvent: Sendable {
    public enum Topic: String, Sendable, CaseIterable {
        case order, transmission, alert, invoice
    }

    /// A value of `fields`: feed events carry only strings, integers and nulls.
    public enum Value: Sendable, Equatable {
        case string(String)
        case int(Int64)
        case null
    }

    /// Position in this process's feed, from 1; set when published.
    public package(set) var sequence: UInt64 = 0
    /// When the transaction holding the change committed; set when published.
    public package(set) var committedAt = Timestamp(microseconds: 0)
    public var topic: Topic
    /// `order.created`, `transmission.acknowledged`, `alert.firing`, …
    public var type: String
    public var orderID: String?
    /// The order's store, for callers who see one store or region only.
    public var locationID: String?
    /// The order's customer, for callers who see their own orders only. Never sent.
    public var customerID: String?
    /// Topic-specific members of the event's JSON (status, channel, classification, …).
    public var fields: [(String, Value)]
    /// The event as one line of JSON; rendered once when published, shared by every subscriber.
    public package(set) var json = ""
    /// The event as one event-stream frame (`id`, `event`, `data`), rendered with `json`.
    public package(set) var frame = ""

    public init(
        topic: Topic, type: String, orderID: String? = nil, locationID: String? = nil, customerID: String? = nil,
        fields: [(String, Value)] = []
    ) {
        self.topic = topic
        self.type = type
        self.orderID = orderID
        self.locationID = locationID
        self.customerID = customerID
        self.fields = fields
    }

    /// Sets `json` and `frame` for this event's place in the feed `epoch`.
    package mutating func render(feed epoch: String) {
        json = rendered(feed: epoch)
        frame = "id: \(epoch)-\(sequence)\nevent: \(topic.rawValue)\ndata: \(json)\n\n"
    }

    package func rendered(feed epoch: String) -> String {
        var out = #"{"id":"\#(epoch)-\#(sequence)","topic":"\#(topic.rawValue)","type":"#
        JSONText.appendString(type, to: &out)
        out += #","committedAt":""# + committedAt.description + "\""
        if let orderID {
            out += #","orderId":"#
            JSONText.appendString(orderID, to: &out)
        }
        if let locationID {
            out += #","store":"#
            JSONText.appendString(locationID, to: &out)
        }
        for (name, value) in fields {
            out += ","
            JSONText.appendString(name, to: &out)
            out += ":"
            switch value {
            case .string(let text): JSONText.appendString(text, to: &out)
            case .int(let number): out += String(number)
            case .null: out += "null"
            }
        }
        return out + "}"
    }
}

/// JSON string literals written by hand, for text built on hot paths.
package enum JSONText {
    package static func appendString(_ text: String, to out: inout String) {
        out.append("\"")
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out.append("\\\"")
            case "\\": out.append("\\\\")
            case "\n": out.append("\\n")
            case "\r": out.append("\\r")
            case "\t": out.append("\\t")
            case _ where scalar.value < 0x20:
                out.append("\\u")
                let hex = String(scalar.value, radix: 16)
                out.append(String(repeating: "0", count: 4 - hex.count) + hex)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out.append("\"")
    }
}
