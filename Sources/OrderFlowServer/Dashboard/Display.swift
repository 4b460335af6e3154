import Foundation
import OrderFlowDomain

/// How values read on the dashboard: one place, so every view says the same thing the same way.
enum Display {
    static func time(_ time: Timestamp) -> String {
        let text = time.description
        // 2026-11-22T03:14:15.926535Z → 2026-11-22 03:14:15
        return String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(8))
    }

    /// Short for tables: the time of day when it is today (UTC), else the date and minute.
    static func moment(_ time: Timestamp, now: Timestamp) -> String {
        let full = Self.time(time)
        return full.prefix(10) == Self.time(now).prefix(10)
            ? String(full.dropFirst(11)) : String(full.dropFirst(5).prefix(11))
    }

    /// `prefix` and `value`, or nothing when there is no value (" · by ops").
    static func part(_ prefix: String, _ value: String?) -> String {
        value.map { prefix + $0 } ?? ""
    }

    static func percent(_ ratio: Double?) -> String {
        guard let ratio else { return "–" }
        return String(format: "%.1f %%", ratio * 100)
    }

    /// A duration for people: "0.4 ms", "31 ms", "2,500 ms", "42 s".
    static func duration(milliseconds value: Double?) -> String {
        guard let value else { return "–" }
        if value >= 10_000 { return String(format: "%.0f s", value / 1_000) }
        return value < 10 ? String(format: "%.1f ms", value) : String(format: "%.0f ms", value)
    }

    /// The same, for a duration in seconds (monitoring summaries keep latencies in seconds).
    static func duration(seconds value: Double?) -> String {
        duration(milliseconds: value.map { $0 * 1_000 })
    }

    static func money(_ value: Money) -> String {
        // Two decimals for people; the API keeps all four.
        let units = value.units
        let sign = units < 0 ? "-" : ""
        let cents = (abs(units) + 50) / 100
        return "\(sign)\(cents / 100).\(String(format: "%02d", cents % 100))"
    }

    /// A whole number as people read it: 51,228.
    static func grouped(_ value: Int64) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return (value < 0 ? "-" : "") + out
    }

    /// Cents as people read amounts: 51,228.10.
    static func cents(_ cents: Int64) -> String {
        let magnitude = Int64(cents.magnitude)
        return (cents < 0 ? "-" : "") + grouped(magnitude / 100) + "." + String(format: "%02d", magnitude % 100)
    }

    static func statusName(_ status: TransmissionStatus) -> String {
        switch status {
        case .pending: "Pending"
        case .success: "Success"
        case .successLate: "Success (late)"
        case .delayed: "Delayed"
        case .failed: "Failed"
        }
    }

    static func tone(_ status: TransmissionStatus) -> String {
        switch status {
        case .success: "ok"
        case .successLate, .delayed: "warn"
        case .failed: "bad"
        case .pending: "info"
        }
    }

    static func statusBadge(_ status: TransmissionStatus) -> HTML {
        "<span class=\"badge \(tone(status))\">\(statusName(status))</span>"
    }

    static func orderBadge(_ status: OrderStatus) -> HTML {
        let tone =
            switch status {
            case .delivered, .fulfilled: "ok"
            case .cancelled, .deliveryFailed: "bad"
            case .open, .allocated: "warn"
            default: "info"
            }
        return "<span class=\"badge \(tone)\">\(status.rawValue) \(status.name)</span>"
    }

    /// An order's status history, oldest first: when, the status, the payment state, why and by whom.
    static func history(_ changes: [StatusChange]) -> HTML {
        let items = changes.map { change -> HTML in
            """
            <li data-row="h\(change.at.microseconds)"><strong>\(time(change.at))</strong> \(orderBadge(change.status)) \
            payment \(change.paymentStatus.rawValue)\(part(" · ", change.reason))\(part(" · by ", change.actor))</li>
            """
        }
        return "<ol class=\"timeline\">\(items)</ol>"
    }

    static func counter(_ label: String, _ value: Int, _ tone: String, id: String) -> HTML {
        "<div class=\"counter \(tone)\"><span class=\"muted\">\(label)</span><span class=\"n\" id=\"\(id)\">\(value)</span></div>"
    }
}
