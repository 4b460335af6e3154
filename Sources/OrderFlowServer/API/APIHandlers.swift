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
import OrderFlowPersistence

/// The handlers of the API document (`OrderFlowAPI/openapi.yaml`); the generated server decodes
/// requests and encodes responses, these turn them into domain calls.
struct APIHandlers: APIProtocol {
    let orders: OrderRepository
    let catalog: CatalogRepository
    let inventory: InventoryRepository
    let security: SecurityService
    let engine: Engine
    let monitor: Monitor
    let invoices: InvoiceStream
    let database: Database
    let metrics: AppMetrics
    let clock: any WallClock
    let configuration: AppConfiguration
    let startedAt: Date

    /// Who is calling, for history rows and idempotency scopes: the user name or key name.
    var actor: String { RequestScope.context?.principal?.name ?? "anonymous" }

    /// Whose idempotency keys these are.
    var idempotencyScope: String { RequestScope.context?.principal?.id ?? "anonymous" }
}

/// Dates as RFC 3339 with milliseconds on the way out; with or without fractions on the way in.
struct APIDates: DateTranscoder {
    func encode(_ date: Date) throws -> String {
        // Rounded to the millisecond before formatting, so a parsed date prints back identically.
        let milliseconds = Int64((date.timeIntervalSince1970 * 1_000).rounded())
        return Timestamp.rfc3339(milliseconds * 1_000, fractionDigits: 3)
    }

    func decode(_ text: String) throws -> Date {
        if let date = try? Date(text, strategy: .iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true).timeSeparator(.colon).timeZone(separator: .omitted)) {
            return date
        }
        if let date = try? Date(text, strategy: .iso8601) { return date }
        throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "'\(text)' is not an RFC 3339 date-time such as 2026-11-22T10:00:00Z"))
    }

    static let configuration = Configuration(dateTranscoder: APIDates(), jsonEncodingOptions: [.sortedKeys, .withoutEscapingSlashes])

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
        guard case .json(let body) = input.body else { throw APIError(.unsupportedMediaType, code: "unsupported_media_type", message: "send the body as application/json") }
        var draft = Representation.draft(body)
        try await checkPlacement(&draft)
        let snapshot = try await catalog.snapshot(
            location: LocationID(draft.shipFromLocationID), skus: draft.lines.map { SKU($0.sku) },
            defaultImageURL: configuration.defaultImageURL)
        let now = clock.now()
        let order: Order
        do {
            order = try OrderIntake.prepare(draft, catalog: snapshot, at: now)
        } catch {
            metrics.ordersRejected.increment()
            throw error
        }
        let history = StatusChange(status: order.status, paymentStatus: order.paymentStatus, at: now, reason: nil, actor: actor)
        let response = Representation.order(StoredOrder(order: order, history: [history]))
        let claim = try input.headers.idempotencyKey.map { key in
            IdempotencyClaim(
                scope: idempotencyScope, key: try Self.checkedIdempotencyKey(key), requestHash: try Self.fingerprint(body),
                statusCode: 201, responseBody: String(decoding: try APIDates.encoder.encode(response), as: UTF8.self))
        }
        switch try await accept(order, history: history, idempotency: claim) {
        case .created:
            engine.wake()
            return .created(.init(body: .json(response)))
        case .replayed(_, let stored):
            let earlier = try APIDates.decoder.decode(Components.Schemas.Order.self, from: Data(stored.utf8))
            return .created(.init(headers: .init(idempotentReplayed: "true"), body: .json(earlier)))
        }
    }

    /// Writes an accepted order with its first history row, its `order.created` event and its
    /// first pipeline job in one transaction, and counts it (`o2o_orders_ingested_total`).
    func accept(_ order: Order, history: StatusChange, idempotency: IdempotencyClaim?) async throws -> CreateOutcome {
        let outcome = try await orders.create(
            order, history: history, event: .forOrder("order.created", order, at: history.at), idempotency: idempotency,
            jobs: [engine.pipeline.firstJob(for: order, at: history.at)])
        if case .created = outcome { metrics.ordersIngested.increment() }
        return outcome
    }

    func getOrder(_ input: Operations.GetOrder.Input) async throws -> Operations.GetOrder.Output {
        guard let stored = try await visibleOrder(OrderID(input.path.orderId)) else { throw APIError.notFound("order", input.path.orderId) }
        return .ok(.init(body: .json(Representation.order(stored))))
    }

    /// The order, when it exists and lies within the caller's scope (store, region, customer);
    /// nil otherwise, so an order one may not see looks like one that does not exist.
    func visibleOrder(_ id: OrderID) async throws -> StoredOrder? {
        let scope = try await orderScope()
        guard let stored = try await orders.find(id), scope.allows(location: stored.order.shipFromLocationID, customerID: stored.order.customer.id) else {
            return nil
        }
        return stored
    }

    func searchOrders(_ input: Operations.SearchOrders.Input) async throws -> Operations.SearchOrders.Output {
        let q = input.query
        var query = OrderQuery()
        if let codes = q.status {
            query.statuses = try codes.map { code in
                guard let status = OrderStatus(rawValue: code) else { throw APIError.invalid("status", rule: "enum", "\(code) is not a status code") }
                return status
            }
        }
        if q.statusFrom != nil || q.statusTo != nil {
            let range = (q.statusFrom ?? 0, q.statusTo ?? 9999)
            guard range.0 <= range.1 else { throw APIError.invalid("statusFrom", rule: "range", "must not be greater than statusTo") }
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
            guard let cursor = OrderCursor(token: token) else { throw APIError.invalid("cursor", rule: "format", "is not a cursor this API returned") }
            query.after = cursor
        }
        guard Self.narrow(&query, to: try await orderScope()) else { return .ok(.init(body: .json(.init(items: [])))) }
        let page = try await orders.search(query)
        return .ok(.init(body: .json(.init(
            items: page.orders.map { Representation.summary($0.order, lineCount: $0.lineCount) }, nextCursor: page.next?.token))))
    }

    func cancelOrder(_ input: Operations.CancelOrder.Input) async throws -> Operations.CancelOrder.Output {
        guard case .json(let body) = input.body else { throw APIError(.unsupportedMediaType, code: "unsupported_media_type", message: "send the body as application/json") }
        let id = OrderID(input.path.orderId)
        let stored = try await changeOrder(id, action: "order.cancel") { order, now in
            let change = try order.cancel(reason: body.reason, actor: actor, at: now)
            return (change, [.forOrder("order.cancelled", order, reason: change.reason, at: now)], [], engine.pipeline.cancellationJobs(for: order, at: now))
        }
        engine.wake()
        return .ok(.init(body: .json(Representation.order(stored))))
    }

    func changeOrderLine(_ input: Operations.ChangeOrderLine.Input) async throws -> Operations.ChangeOrderLine.Output {
        guard case .json(let body) = input.body else { throw APIError(.unsupportedMediaType, code: "unsupported_media_type", message: "send the body as application/json") }
        let id = OrderID(input.path.orderId)
        let number = input.path.lineNumber
        let products = try await catalog.products(body.sku.map { [SKU($0)] } ?? [])
        let change = LineChange(sku: body.sku, quantity: body.quantity, unitPrice: body.unitPrice, reason: body.reason)
        let stored = try await changeOrder(id, action: "order.change_line") { order, now in
            try order.changeLine(number, change, products: products, at: now)
            return (nil, [.forOrder("order.lines_changed", order, reason: change.reason, at: now)], [number], [])
        }
        return .ok(.init(body: .json(Representation.order(stored))))
    }

    /// Reads, changes and writes an order within the caller's scope, with an audit entry in the
    /// same transaction, retrying when another writer got there first.
    private func changeOrder(
        _ id: OrderID, action: String,
        _ apply: (inout Order, Timestamp) throws -> (StatusChange?, [OutboxEvent], [Int], [NewJob])
    ) async throws -> StoredOrder {
        let scope = try await orderScope()
        for attempt in 1...3 {
            guard var stored = try await orders.find(id), scope.allows(location: stored.order.shipFromLocationID, customerID: stored.order.customer.id) else {
                throw APIError.notFound("order", id.rawValue)
            }
            let expected = stored.order.version
            let now = clock.now()
            let (history, events, lines, jobs) = try apply(&stored.order, now)
            let audit = origin.entry(action, targetType: "order", targetID: id.rawValue, at: now, details: history?.reason.map { ["reason": $0] } ?? [:])
            do {
                try await orders.update(stored.order, expectedVersion: expected, linesChanged: lines, history: history, events: events, audit: audit, jobs: jobs)
                if let history { stored.history.append(history) }
                return stored
            } catch DomainError.concurrentUpdate where attempt < 3 {
                continue
            }
        }
        throw DomainError.concurrentUpdate("order \(id) is changing too often; retry")
    }

    /// The part of the order book the caller may see.
    func orderScope() async throws -> OrderScope {
        guard let principal = RequestScope.context?.principal else { return .nothing }
        let locations = principal.regionScope == nil ? [] : try await catalog.locations()
        return principal.orderScope { region in locations.filter { $0.region == region }.map(\.id) }
    }

    /// Narrows a search to the scope; false when nothing can match.
    static func narrow(_ query: inout OrderQuery, to scope: OrderScope) -> Bool {
        switch scope {
        case .everything:
            return true
        case .nothing:
            return false
        case .locations(let allowed):
            let wanted = query.locations.map { $0.filter(allowed.contains) } ?? allowed
            query.locations = wanted
            return !wanted.isEmpty
        case .customer(let id):
            if let asked = query.customerID, asked != id { return false }
            query.customerID = id
            return true
        }
    }

    /// A scoped caller places orders only for its store(s), or as itself.
    func checkPlacement(_ draft: inout OrderDraft) async throws {
        switch try await orderScope() {
        case .everything:
            return
        case .nothing:
            throw APIError(.forbidden, code: "out_of_scope", message: "your account has no store, region or customer scope")
        case .locations(let allowed):
            guard allowed.contains(LocationID(draft.shipFromLocationID)) else {
                throw APIError(.forbidden, code: "out_of_scope", message: "you may place orders for \(allowed.map(\.rawValue).joined(separator: ", ")) only")
            }
        case .customer(let id):
            if let given = draft.customer.id, given != id {
                throw APIError(.forbidden, code: "out_of_scope", message: "you may place orders as customer \(id) only")
            }
            draft.customer.id = id
        }
    }

    /// Stock changes by a store- or region-scoped caller stay within its stores.
    func checkStockScope(_ location: LocationID) async throws {
        switch try await orderScope() {
        case .everything: return
        case .locations(let allowed) where allowed.contains(location): return
        default: throw APIError(.forbidden, code: "out_of_scope", message: "stock at \(location) is outside your scope")
        }
    }

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
}
