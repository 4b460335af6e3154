import Foundation
import Hummingbird
import OrderFlowDomain

/// The filters of the monitoring views, read from the query string: a window (`minutes`) or a
/// `from`/`to` range, and status, channel and order type.
struct MonitorFilters: Sendable {
    var minutes: Int
    var from: String?
    var to: String?
    var status: TransmissionStatus?
    var channel: String?
    var orderType: String?

    static let windows = [(10, "10 minutes"), (60, "1 hour"), (1_440, "24 hours"), (10_080, "7 days")]

    init(_ request: Request) throws {
        let query = request.queryForm
        func text(_ name: String) -> String? { query[name].flatMap { $0.isEmpty ? nil : $0 } }
        minutes = text("minutes").flatMap(Int.init) ?? 10
        guard (1...10_080).contains(minutes) else {
            throw APIError.invalid("minutes", rule: "range", "must be 1–10080")
        }
        from = text("from")
        to = text("to")
        if let status = text("status") {
            guard let known = TransmissionStatus(rawValue: status) else {
                let names = TransmissionStatus.allCases.map(\.rawValue).joined(separator: ", ")
                throw APIError.invalid("status", rule: "enum", "one of \(names)")
            }
            self.status = known
        }
        channel = text("channel")
        if let orderType = text("orderType") {
            guard OrderType(rawValue: orderType) != nil else {
                throw APIError.invalid("orderType", rule: "enum", "an order type such as delivery")
            }
            self.orderType = orderType
        }
    }

    /// The window as instants: `from`/`to` (a `datetime-local` value, read as UTC) or the last `minutes`.
    func window(now: Timestamp) throws -> (Timestamp, Timestamp) {
        func instant(_ field: String, _ text: String?) throws -> Timestamp? {
            guard let text else { return nil }
            let padded = text.count == 16 ? text + ":00Z" : (text.hasSuffix("Z") ? text : text + "Z")
            guard let time = Timestamp(rfc3339: padded) else {
                throw APIError.invalid(field, rule: "format", "a date and time such as 2026-11-22T09:30")
            }
            return time
        }
        let end = try instant("to", to) ?? now.adding(seconds: 0.000001)
        let start = try instant("from", from) ?? end.adding(seconds: -Double(minutes) * 60)
        guard start < end else { throw APIError.invalid("from", rule: "range", "must be before to") }
        guard end.microseconds - start.microseconds <= 31 * 86_400 * 1_000_000 else {
            throw APIError.invalid("from", rule: "range", "the range may span at most 31 days")
        }
        return (start, end)
    }

    func transmissionFilter(now: Timestamp, withStatus: Bool = true) throws -> TransmissionFilter {
        let (start, end) = try window(now: now)
        return TransmissionFilter(
            from: start, to: end, channel: channel, status: withStatus ? status : nil,
            orderType: orderType.flatMap(OrderType.init(rawValue:)))
    }

    /// The filter form; the page's own query, so links and fragments keep the same filters.
    func form(action: String, channels: [String]) -> HTML {
        func option(_ value: String, _ label: String, selected: Bool) -> HTML {
            "<option value=\"\(value)\"\(selected ? " selected" : "" as HTML)>\(label)</option>"
        }
        let windows = Self.windows.map { option(String($0.0), $0.1, selected: $0.0 == minutes && from == nil) }
        let statuses =
            [option("", "Any status", selected: status == nil)]
            + TransmissionStatus.allCases.map { option($0.rawValue, Display.statusName($0), selected: $0 == status) }
        let channelOptions =
            [option("", "Any channel", selected: channel == nil)]
            + channels.map { option($0, $0, selected: $0 == channel) }
        let types =
            [option("", "Any order type", selected: orderType == nil)]
            + OrderType.allCases.map { type in
                let label = type.rawValue.replacingOccurrences(of: "_", with: " ")
                return option(type.rawValue, label, selected: type.rawValue == orderType)
            }
        return """
            <form class="filters card" method="get" action="\(action)" aria-label="Filters">
            <div><label for="f-minutes">Window</label><select id="f-minutes" name="minutes">\(windows)</select></div>
            <div><label for="f-from">From (UTC)</label>\
            <input id="f-from" type="datetime-local" name="from" value="\(from ?? "")"></div>
            <div><label for="f-to">To (UTC)</label>\
            <input id="f-to" type="datetime-local" name="to" value="\(to ?? "")"></div>
            <div><label for="f-status">Status</label><select id="f-status" name="status">\(statuses)</select></div>
            <div><label for="f-channel">Channel</label>\
            <select id="f-channel" name="channel">\(channelOptions)</select></div>
            <div><label for="f-type">Order type</label><select id="f-type" name="orderType">\(types)</select></div>
            <button type="submit" class="primary">Apply</button>
            <a class="button" href="\(action)">Clear</a>
            </form>
            """
    }
}
