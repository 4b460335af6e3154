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
        if let date = try? Date(
            text,
            strategy: .iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true)
                .timeSeparator(.colon).timeZone(separator: .omitted))
        {
            return date
        }
        if let date = try? Date(text, strategy: .iso8601) { return date }
        throw DecodingError.dataCorrupted(
            .init(
                codingPath: [], debugDescription: "'\(text)' is not an RFC 3339 date-time such as 2026-11-22T10:00:00Z")
        )
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
                guard let status = OrderStatus(rawValue: code) else {
                    throw APIError.invalid("status", rule: "enum", "\(code) is not a status code")
                }
                return status
            }
        }
        if q.statusFrom != nil || q.statusTo != nil {
            let range = (q.statusFrom ?? 0, q.statusTo ?? 9999)
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
        if let text = q.q, text.count > 100 { throw APIError.invalid("q", rule: "length", "at most 100 characters") }
        query.text = q.q
        query.limit = try Self.checkedLimit(q.limit)
        if let token = q.cursor {
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

    static func checkedLimit(_ limit: Int?) throws -> Int {
        guard let limit else { return 50 }
        guard (1...200).contains(limit) else { throw APIError.invalid("limit", rule: "range", "must be 1–200") }
        return limit
    }

    /// The ID in a page cursor this API returned (`nextCursor`).
    static func cursorID(_ cursor: String?) throws -> Int64? {
        guard let cursor else { return nil }
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
