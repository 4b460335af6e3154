import Foundation
import OrderFlowDomain
import OrderFlowPersistence

/// Orders as callers see and change them: placing, reading, searching, cancelling, changing
/// lines, fulfilment and delivery events, demonstration orders, exports and figures.
///
/// Every method takes the caller and applies its scope itself (store, region or customer): an
/// order outside it is reported as not existing, a search never reaches beyond it. API handlers
/// and dashboard pages call these methods and nothing below them, so a page and a route cannot
/// see different things.
public struct OrderService: Sendable {
    let orders: OrderRepository
    let catalog: CatalogRepository
    let statistics: OrderStatisticsRepository
    let pipeline: OrderPipeline
    let fulfillment: FulfillmentEvents
    let metrics: PipelineMetrics
    let clock: any WallClock
    let defaultImageURL: String?
    /// New work was committed: the worker and relay should run now.
    let wake: @Sendable () -> Void

    init(
        database: Database, pipeline: OrderPipeline, fulfillment: FulfillmentEvents, metrics: PipelineMetrics,
        clock: any WallClock,
        defaultImageURL: String?, wake: @escaping @Sendable () -> Void
    ) {
        orders = OrderRepository(database: database)
        catalog = CatalogRepository(database: database, clock: clock)
        statistics = OrderStatisticsRepository(database: database)
        self.pipeline = pipeline
        self.fulfillment = fulfillment
        self.metrics = metrics
        self.clock = clock
        self.defaultImageURL = defaultImageURL
        self.wake = wake
    }

    /// The part of the order book `principal` may see.
    public func scope(of principal: Principal) async throws -> OrderScope {
        try await catalog.orderScope(of: principal)
    }

    // MARK: Placing

    /// Validates, calculates and accepts an order: it, its first history row, its `order.created`
    /// event and its first pipeline job commit together. A scoped caller places orders only for
    /// its stores, or as itself. With `idempotency`, a retry gets the first answer back.
    public func place(_ draft: OrderDraft, by caller: Caller, idempotency: IdempotencyRequest?) async throws
        -> Placement
    {
        var draft = draft
        try await checkPlacement(&draft, for: caller.principal)
        let snapshot = try await catalog.snapshot(
            location: LocationID(draft.shipFromLocationID), skus: draft.lines.map { SKU($0.sku) },
            defaultImageURL: defaultImageURL)
        let now = clock.now()
        let order: Order
        do {
            order = try OrderIntake.prepare(draft, catalog: snapshot, at: now)
        } catch {
            metrics.orderRejected()
            throw error
        }
        let history = StatusChange(
            status: order.status, paymentStatus: order.paymentStatus, at: now, reason: nil, actor: caller.name)
        let stored = StoredOrder(order: order, history: [history])
        let claim = try idempotency.map { request in
            IdempotencyClaim(
                scope: caller.principal.id, key: request.key, requestHash: request.requestHash, statusCode: 201,
                responseBody: try request.response(stored))
        }
        let outcome = try await orders.create(
            order, history: history, event: .forOrder("order.created", order, at: now), idempotency: claim,
            jobs: [pipeline.firstJob(for: order, at: now)])
        switch outcome {
        case .created:
            metrics.ordersIngested()
            wake()
            return .created(stored)
        case .replayed(_, let body):
            return .replayed(body)
        }
    }

    /// Up to 1,000 demonstration orders over the catalog's stores and active products, written
    /// in one transaction (`POST /api/v1/seed-mock-data`); returns their IDs.
    public func seedDemonstrationOrders(count: Int, by caller: Caller) async throws -> [OrderID] {
        let locations = try await catalog.locations().map(\.id)
        var query = ProductQuery()
        query.limit = 200
        let products = try await catalog.search(query).products.filter(\.active)
        guard !locations.isEmpty, !products.isEmpty else {
            throw DomainError.conflict(
                code: "empty_catalog", message: "the catalog has no stores or no products to build orders from")
        }
        let now = clock.now()
        let stamp = Timestamp.rfc3339(now.microseconds, fractionDigits: 0).filter(\.isNumber).prefix(14)
        let batch = String(UInt16.random(in: 0...UInt16.max), radix: 36).uppercased()
        var accepted: [(order: Order, history: StatusChange, jobs: [NewJob])] = []
        var snapshots: [LocationID: CatalogSnapshot] = [:]
        for index in 1...count {
            let product = products[(index - 1) % products.count]
            let customer = index % 50
            var draft = OrderDraft(
                orderID: "MOCK-\(stamp)-\(batch)-\(String(format: "%04d", index))",
                shipFromLocationID: locations[(index - 1) % locations.count].rawValue,
                orderType: .delivery, channel: .app, isForceAllocation: true, paymentMethod: .cod,
                customer: CustomerDraft(
                    id: "CUST-MOCK-\(customer)", name: "Mock Customer \(customer)",
                    phone: "+6681000\(String(format: "%04d", index % 10_000))"),
                deliveryAddress: AddressDraft(
                    line1: "\(index) Mock Street", city: "Bangkok", postalCode: "10110", country: "TH"),
                lines: [LineDraft(sku: product.sku.rawValue, quantity: 1 + index % 3)])
            try await checkPlacement(&draft, for: caller.principal)
            let location = LocationID(draft.shipFromLocationID)
            if snapshots[location] == nil {
                snapshots[location] = try await catalog.snapshot(
                    location: location, skus: products.map(\.sku), defaultImageURL: defaultImageURL)
            }
            let order = try OrderIntake.prepare(draft, catalog: snapshots[location]!, at: now)
            let history = StatusChange(
                status: order.status, paymentStatus: order.paymentStatus, at: now, reason: "seed-mock-data",
                actor: caller.name)
            accepted.append((order, history, [pipeline.firstJob(for: order, at: now)]))
        }
        // One transaction for the batch: a thousand orders in one request stays quick.
        try await orders.createAll(accepted)
        metrics.ordersIngested(accepted.count)
        wake()
        return accepted.map(\.order.id)
    }

    /// A scoped caller places orders only for its store(s), or as itself; only a registered
    /// shopper places orders under a registrant's customer ID, its own.
    func checkPlacement(_ draft: inout OrderDraft, for principal: Principal) async throws {
        if let given = draft.customer.id, UserRules.isRegistrantCustomerID(given), given != principal.customerID {
            throw DomainError.validationFailed([
                FieldError(
                    field: "customer.id", rule: .G,
                    message: "IDs starting with R- belong to shoppers who registered themselves")
            ])
        }
        switch try await scope(of: principal) {
        case .everything:
            return
        case .nothing:
            throw DomainError.outOfScope("your account has no store, region or customer scope")
        case .locations(let allowed):
            guard allowed.contains(LocationID(draft.shipFromLocationID)) else {
                throw DomainError.outOfScope(
                    "you may place orders for \(allowed.map(\.rawValue).joined(separator: ", ")) only")
            }
        case .customer(let id):
            if let given = draft.customer.id, given != id {
                throw DomainError.outOfScope("you may place orders as customer \(id) only")
            }
            draft.customer.id = id
        }
    }

    // MARK: Reading

    /// The order with its history, when it lies within the caller's scope; nil otherwise, so an
    /// order one may not see looks like one that does not exist.
    public func find(_ id: OrderID, for principal: Principal) async throws -> StoredOrder? {
        let scope = try await scope(of: principal)
        guard let stored = try await orders.find(id), scope.allows(stored.order) else { return nil }
        return stored
    }

    /// `find`, or `DomainError.notFound`.
    public func order(_ id: OrderID, for principal: Principal) async throws -> StoredOrder {
        guard let stored = try await find(id, for: principal) else {
            throw DomainError.notFound(kind: "order", id: id.rawValue)
        }
        return stored
    }

    /// A page of the orders `query` finds within the caller's scope, newest first.
    public func search(_ query: OrderQuery, for principal: Principal) async throws -> OrderPage {
        guard let query = query.narrowed(to: try await scope(of: principal)) else { return OrderPage(orders: []) }
        return try await orders.search(query)
    }

    /// The orders `text` may mean, within the caller's scope: the exact ID first; otherwise IDs
    /// containing it; otherwise IDs that normalise alike (separators, prefixes, leading zeros).
    public func find(reference text: String, for principal: Principal) async throws -> [OrderID] {
        if let stored = try await find(OrderID(text), for: principal) { return [stored.order.id] }
        let scope = try await scope(of: principal)
        func search(_ fragment: String) async throws -> [OrderID] {
            var query = OrderQuery()
            query.text = fragment
            query.limit = 50
            guard let narrowed = query.narrowed(to: scope) else { return [] }
            return try await orders.search(narrowed).orders.map(\.order.id)
        }
        let contained = try await search(text).filter { $0.rawValue.localizedCaseInsensitiveContains(text) }
        if !contained.isEmpty { return contained }
        let normalizer = OrderReferenceNormalizer()
        let wanted = normalizer.normalize(text)
        guard wanted.count >= 3 else { return [] }
        // The longest run of letters and digits (a number without its leading zeros) narrows the
        // search; normalising decides.
        let runs = text.split { !($0.isASCII && ($0.isLetter || $0.isNumber)) }.map { run in
            run.allSatisfy(\.isNumber) ? String(run.drop { $0 == "0" }) : String(run)
        }
        guard let longest = runs.max(by: { $0.count < $1.count }), longest.count >= 3 else { return [] }
        let candidates = try await search(longest)
        let same = candidates.filter { normalizer.normalize($0.rawValue) == wanted }
        return same.isEmpty ? candidates.filter { normalizer.normalize($0.rawValue).contains(wanted) } : same
    }

    /// The events recorded for an order within the caller's scope, oldest first.
    public func events(of id: OrderID, for principal: Principal) async throws -> [OutboxEvent] {
        _ = try await order(id, for: principal)
        return try await orders.events(of: id)
    }

    /// The orders created in [from, to) that the caller may see, with their line counts, newest
    /// first, a page at a time (the CSV export).
    public func created(from: Timestamp, to: Timestamp, for principal: Principal) async throws -> Paged<
        (order: Order, lineCount: Int), OrderQuery
    > {
        var query = OrderQuery()
        query.createdFrom = from
        query.createdTo = to
        query.limit = 500
        guard let narrowed = query.narrowed(to: try await scope(of: principal)) else {
            return Paged(start: query) { _ in ([], nil) }
        }
        let orders = orders
        return Paged(start: narrowed) { query in
            let page = try await orders.search(query)
            var next = query
            next.after = page.next
            return (page.orders, page.next == nil ? nil : next)
        }
    }

    // MARK: Changing

    /// Cancels an order within the caller's scope, with its compensations queued.
    public func cancel(_ id: OrderID, reason: String, by caller: Caller) async throws -> StoredOrder {
        let stored = try await change(id, action: "order.cancel", by: caller) { order, now in
            let change = try order.cancel(reason: reason, actor: caller.name, at: now)
            return (
                change, [.forOrder("order.cancelled", order, reason: change.reason, at: now)], [],
                pipeline.cancellationJobs(for: order, at: now)
            )
        }
        wake()
        return stored
    }

    /// Substitutes a line's product, or changes its quantity or price, within FR8's limits.
    public func changeLine(_ id: OrderID, line number: Int, _ change: LineChange, by caller: Caller) async throws
        -> StoredOrder
    {
        let products = try await catalog.products(change.sku.map { [SKU($0)] } ?? [])
        return try await self.change(id, action: "order.change_line", by: caller) { order, now in
            try order.changeLine(number, change, products: products, at: now)
            return (nil, [.forOrder("order.lines_changed", order, reason: change.reason, at: now)], [number], [])
        }
    }

    /// Reads, changes and writes an order within the caller's scope, with an audit entry in the
    /// same transaction, retrying when another writer got there first.
    private func change(
        _ id: OrderID, action: String, by caller: Caller,
        _ apply: (inout Order, Timestamp) throws -> (StatusChange?, [OutboxEvent], [Int], [NewJob])
    ) async throws -> StoredOrder {
        for attempt in 1...3 {
            var stored = try await order(id, for: caller.principal)
            let expected = stored.order.version
            let now = clock.now()
            let (history, events, lines, jobs) = try apply(&stored.order, now)
            let audit = caller.audit(
                action, targetType: "order", targetID: id.rawValue, at: now,
                details: history?.reason.map { ["reason": $0] } ?? [:])
            do {
                try await orders.update(
                    stored.order, expectedVersion: expected, linesChanged: lines, history: history, events: events,
                    audit: audit, jobs: jobs)
                if let history { stored.history.append(history) }
                return stored
            } catch DomainError.concurrentUpdate where attempt < 3 {
                continue
            }
        }
        throw DomainError.concurrentUpdate("order \(id) is changing too often; retry")
    }

    // MARK: Fulfilment and delivery

    /// A fulfilment step the fulfilment centre reports, for an order within the caller's scope.
    public func record(
        ship event: FulfillmentEvents.ShipEvent, _ update: FulfillmentEvents.Update, by caller: Caller
    ) async throws -> (outcome: FulfillmentEvents.Outcome, order: StoredOrder) {
        let scope = try await scope(of: caller.principal)
        let result = try await fulfillment.apply(ship: event, update, actor: caller.name) { scope.allows($0) }
        wake()
        return result
    }

    /// A delivery status the carrier reports, for an order within the caller's scope.
    public func record(
        delivery status: FulfillmentEvents.DeliveryStatus, _ update: FulfillmentEvents.Update, by caller: Caller
    ) async throws -> (outcome: FulfillmentEvents.Outcome, order: StoredOrder) {
        let scope = try await scope(of: caller.principal)
        let result = try await fulfillment.apply(delivery: status, update, actor: caller.name) { scope.allows($0) }
        wake()
        return result
    }

    // MARK: Figures

    /// Orders within the caller's scope created in [from, to): how many, their value, their status now.
    public func volume(from: Timestamp, to: Timestamp, for principal: Principal) async throws -> OrderVolume {
        try await statistics.volume(from: from, to: to, locations: try await locations(for: principal))
    }

    /// Orders within the caller's scope created per bucket of `bucketSeconds` in [from, to).
    public func createdPerBucket(
        from: Timestamp, to: Timestamp, bucketSeconds: Int64, for principal: Principal
    ) async throws -> [(start: Timestamp, count: Int)] {
        try await statistics.created(
            from: from, to: to, bucketSeconds: bucketSeconds, locations: try await locations(for: principal))
    }

    /// The items ordered most within the caller's scope in [from, to).
    public func topItems(from: Timestamp, to: Timestamp, limit: Int, for principal: Principal) async throws
        -> [ItemSales]
    {
        try await statistics.topItems(from: from, to: to, limit: limit, locations: try await locations(for: principal))
    }

    /// The stores whose figures the caller sees (nil: all).
    private func locations(for principal: Principal) async throws -> [LocationID]? {
        switch try await scope(of: principal) {
        case .everything: nil
        case .locations(let locations): locations
        case .customer, .nothing: []
        }
    }
}
