import CoreMetrics
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OpenAPIRuntime
import OrderFlowAPI
import OrderFlowDomain
import OrderFlowEngine
import OrderFlowMonitor

/// The handlers of the API document (`OrderFlowAPI/openapi.yaml`): the generated server decodes
/// requests and encodes responses; these turn the typed input into one service call (with the
/// caller, whose scope the service applies) and its result into the document's types. No SQL and
/// no business rules here: a dashboard page calling the same service sees and changes the same.
struct APIHandlers: APIProtocol {
    let services: AppServices
    /// Relative windows ("the last 60 minutes") are read against it.
    let clock: any WallClock
    let configuration: AppConfiguration
    let startedAt: Date
    let exports: ExportGate

    /// The request being answered: the generated handlers receive only their typed input, so the
    /// security middleware hands its context over in a task-local.
    var context: AppRequestContext {
        get throws {
            guard let context = RequestScope.context else { throw Authenticator.unauthorized("sign in first") }
            return context
        }
    }

    var caller: Caller { get throws { try context.caller } }

    var principal: Principal { get throws { try context.caller.principal } }
}

/// Dates as RFC 3339 with milliseconds on the way out; with or without fractions on the way in.
struct APIDates: DateTranscoder {
    func encode(_ date: Date) throws -> String {
        // Rounded to the millisecond before formatting, so a parsed date prints back identically.
        let milliseconds = Int64((date.timeIntervalSince1970 * 1_000).rounded())
        return Timestamp.rfc3339(milliseconds * 1_000, fractionDigits: 3)
    }

    func decode(_ text: String) throws -> Date {
        switch Self.parse(text) {
        case .some(let microseconds) where Self.representable.contains(microseconds):
            return Timestamp(microseconds: microseconds).date
        case .some:
            throw InvalidDateTime(
                text: text, rule: "range", problem: "is not between 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z")
        case nil:
            throw InvalidDateTime(
                text: text, rule: "format", problem: "is not an RFC 3339 date-time such as 2026-11-22T10:00:00Z")
        }
    }

    /// What responses can write back: they are in UTC with milliseconds, and RFC 3339 has four
    /// digits for the year (the last half millisecond of 9999 would round into a fifth).
    static let representable: ClosedRange<Int64> = -62_167_219_200_000_000...253_402_300_799_999_000

    /// RFC 3339's `date-time` as JSON Schema's `format` reads it: `T` and `Z` in either case, any
    /// number of decimals (microseconds are kept), an offset of up to ±23:59, and a leap second
    /// only where it falls at 23:59:60 UTC. Returns microseconds since 1970 in UTC.
    static func parse(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int64? {
            guard range.upperBound <= bytes.count else { return nil }
            var value: Int64 = 0
            for index in range {
                let digit = Int64(bytes[index]) - 48
                guard (0...9).contains(digit) else { return nil }
                value = value * 10 + digit
            }
            return value
        }
        func byte(_ index: Int, _ allowed: String) -> Bool {
            index < bytes.count && allowed.utf8.contains(bytes[index])
        }
        guard byte(4, "-"), byte(7, "-"), byte(10, "Tt"), byte(13, ":"), byte(16, ":"),
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), hour < 24, minute < 60, second <= 60
        else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let monthDays: [Int64] = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...monthDays[Int(month) - 1]).contains(day) else { return nil }
        var index = 19
        var fraction: Int64 = 0
        if byte(index, ".") {
            let start = index + 1
            index = start
            while index < bytes.count, (48...57).contains(bytes[index]) { index += 1 }
            guard index > start else { return nil }
            for position in 0..<6 {
                fraction = fraction * 10 + (start + position < index ? Int64(bytes[start + position]) - 48 : 0)
            }
        }
        var offset: Int64 = 0
        if byte(index, "Zz"), index + 1 == bytes.count {
            offset = 0
        } else if byte(index, "+-"), byte(index + 3, ":"), index + 6 == bytes.count,
            let hours = number((index + 1)..<(index + 3)), let minutes = number((index + 4)..<(index + 6)),
            hours < 24, minutes < 60
        {
            offset = (hours * 60 + minutes) * 60 * (bytes[index] == UInt8(ascii: "-") ? -1 : 1)
        } else {
            return nil
        }
        // Civil date to days (H. Hinnant's algorithm), as `Timestamp(rfc3339:)` does.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let days = era * 146_097 + yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear - 719_468
        let utc = days * 86_400 + hour * 3_600 + minute * 60 + min(second, 59) - offset
        // A leap second is the last second of a UTC day; it is read as that day's last instant.
        if second == 60 {
            guard (utc % 86_400 + 86_400) % 86_400 == 86_399 else { return nil }
            return utc * 1_000_000 + 999_999
        }
        return utc * 1_000_000 + fraction
    }

    static let configuration = Configuration(
        dateTranscoder: APIDates(), jsonEncodingOptions: [.sortedKeys, .withoutEscapingSlashes])

    /// JSON coders that write dates the way the generated server does, for stored responses.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(try APIDates().encode(date))
        }
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            try APIDates().decode(try decoder.singleValueContainer().decode(String.self))
        }
        return decoder
    }()
}

extension APIHandlers {
    // MARK: Orders

    func createOrder(_ input: Operations.CreateOrder.Input) async throws -> Operations.CreateOrder.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        let idempotency = try input.headers.idempotencyKey.map { key in
            IdempotencyRequest(key: try Self.checkedIdempotencyKey(key), requestHash: try Self.fingerprint(body)) {
                stored in
                String(decoding: try APIDates.encoder.encode(Representation.order(stored)), as: UTF8.self)
            }
        }
        switch try await services.orders.place(Representation.draft(body), by: try caller, idempotency: idempotency) {
        case .created(let stored):
            return .created(.init(body: .json(Representation.order(stored))))
        case .replayed(let stored):
            let earlier = try APIDates.decoder.decode(Components.Schemas.Order.self, from: Data(stored.utf8))
            return .created(.init(headers: .init(idempotentReplayed: "true"), body: .json(earlier)))
        }
    }

    func getOrder(_ input: Operations.GetOrder.Input) async throws -> Operations.GetOrder.Output {
        .ok(
            .init(
                body: .json(
                    Representation.order(
                        try await services.orders.order(OrderID(input.path.orderId), for: try principal)))))
    }

    func searchOrders(_ input: Operations.SearchOrders.Input) async throws -> Operations.SearchOrders.Output {
        let q = input.query
        var query = OrderQuery()
        if let codes = q.status {
            query.statuses = try codes.map { code in
                guard let status = OrderStatus(rawValue: code.rawValue) else {
                    throw APIError.invalid("status", rule: "enum", "\(code.rawValue) is not a status code")
                }
                return status
            }
        }
        if q.statusFrom != nil || q.statusTo != nil {
            let range = (q.statusFrom ?? 0, q.statusTo ?? 9999)
            for (name, value) in [("statusFrom", range.0), ("statusTo", range.1)] where !(0...9999).contains(value) {
                throw APIError.invalid(name, rule: "range", "must be 0–9999")
            }
            guard range.0 <= range.1 else {
                throw APIError.invalid("statusFrom", rule: "range", "must not be greater than statusTo")
            }
            query.statusRange = range.0...range.1
        }
        query.locations = q.store.map { [LocationID($0)] }
        query.customerID = q.customer
        query.orderType = q.orderType.map(OrderType.init)
        query.channel = q.channel.map(SalesChannel.init)
        query.createdFrom = q.createdFrom.map(Timestamp.init)
        query.createdTo = q.createdTo.map(Timestamp.init)
        query.updatedFrom = q.updatedFrom.map(Timestamp.init)
        query.updatedTo = q.updatedTo.map(Timestamp.init)
        query.text = try Self.checkedLength(q.q, "q", max: 100)
        query.limit = try Self.checkedLimit(q.limit)
        if let token = try Self.checkedLength(q.cursor, "cursor", max: 200) {
            guard let cursor = OrderCursor(token: token) else {
                throw APIError.invalid("cursor", rule: "format", "is not a cursor this API returned")
            }
            query.after = cursor
        }
        let page = try await services.orders.search(query, for: try principal)
        return .ok(
            .init(
                body: .json(
                    .init(
                        items: page.orders.map { Representation.summary($0.order, lineCount: $0.lineCount) },
                        nextCursor: page.next?.token))))
    }

    func cancelOrder(_ input: Operations.CancelOrder.Input) async throws -> Operations.CancelOrder.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        let stored = try await services.orders.cancel(OrderID(input.path.orderId), reason: body.reason, by: try caller)
        return .ok(.init(body: .json(Representation.order(stored))))
    }

    func changeOrderLine(_ input: Operations.ChangeOrderLine.Input) async throws -> Operations.ChangeOrderLine.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        let change = LineChange(sku: body.sku, quantity: body.quantity, unitPrice: body.unitPrice, reason: body.reason)
        let stored = try await services.orders.changeLine(
            OrderID(input.path.orderId), line: input.path.lineNumber, change, by: try caller)
        return .ok(.init(body: .json(Representation.order(stored))))
    }

    // MARK: Input checks shared by the handlers

    static func checkedIdempotencyKey(_ key: String) throws -> String {
        guard Formats.isVisibleASCII(key, maxLength: 255) else {
            throw APIError.invalid("Idempotency-Key", rule: "format", "must be 1–255 visible ASCII characters")
        }
        return key
    }

    /// A hash of the request body's meaning: the same JSON with other spacing or key order matches.
    static func fingerprint(_ body: some Encodable) throws -> String {
        let canonical = try APIDates.encoder.encode(body)
        return TokenService.hex(SHA256.hash(data: canonical))
    }

    /// A parameter of at most `max` characters, counted as the API document counts them.
    static func checkedLength(_ value: String?, _ name: String, max: Int) throws -> String? {
        guard let value else { return nil }
        guard Formats.isAtMost(value, max) else {
            throw APIError.invalid(name, rule: "length", "at most \(max) characters")
        }
        return value
    }

    /// A channel to filter by: any text of at most 40 characters (one that no channel has matches nothing).
    static func checkedChannel(_ channel: String?) throws -> String? {
        try checkedLength(channel, "channel", max: 40)
    }

    static func checkedLimit(_ limit: Int?) throws -> Int {
        guard let limit else { return 50 }
        guard (1...200).contains(limit) else { throw APIError.invalid("limit", rule: "range", "must be 1–200") }
        return limit
    }

    /// The ID in a page cursor this API returned (`nextCursor`).
    static func cursorID(_ cursor: String?) throws -> Int64? {
        guard let cursor = try checkedLength(cursor, "cursor", max: 200) else { return nil }
        guard let id = Base64URL.decode(cursor).flatMap(Int64.init) else {
            throw APIError.invalid("cursor", rule: "format", "is not a cursor this API returned")
        }
        return id
    }

    /// A page cursor for the ID of the last item of a page.
    static func cursor(_ id: Int64?) -> String? {
        id.map { Base64URL.encode(String($0)) }
    }
}
