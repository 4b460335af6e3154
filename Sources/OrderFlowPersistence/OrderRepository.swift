import Foundation
import OrderFlowDomain
import OrderFlowRuntime
import SQLKit

/// Orders, their lines and history, idempotency records and outbox events.
public struct OrderRepository: Sendable {
    public let database: Database

    public init(database: Database) { self.database = database }

    /// Writes a new order, its first history row, its event, its jobs and (optionally) its
    /// idempotency record in one transaction — shared with concurrent intake (group commit, see
    /// `GroupCommit`); this returns once that transaction committed.
    ///
    /// - Throws: `DomainError.duplicateOrder` if the ID exists, `DomainError.conflict` if the
    ///   idempotency key was used with another body.
    public func create(
        _ order: Order, history: StatusChange, event: OutboxEvent, idempotency: IdempotencyClaim?, jobs: [NewJob] = []
    ) async throws -> CreateOutcome {
        do {
            return try await database.orderIntake.submit(
                NewOrder(order: order, history: history, event: event, idempotency: idempotency, jobs: jobs),
                to: database)
        } catch  where ConstraintViolation.isUnique(error) {
            // A concurrent request won the race: answer as it was answered, if it was the same request.
            if let claim = idempotency,
                let earlier = try await database.read({ db in try await Self.storedResponse(for: claim, in: db) })
            {
                return earlier
            }
            throw DomainError.duplicateOrder(order.id)
        }
    }

    /// How new orders were grouped into transactions since the database was opened.
    public var intakeStatistics: GroupCommitStatistics { database.orderIntake.statistics }

    /// What `create` writes for one order.
    struct NewOrder: Sendable {
        var order: Order
        var history: StatusChange
        var event: OutboxEvent
        var idempotency: IdempotencyClaim?
        var jobs: [NewJob]
    }

    /// Several orders (or one) with one statement per table. Throws if any is refused (a duplicate
    /// ID or idempotency key); `GroupCommit` then writes them one by one.
    static func write(_ batch: [NewOrder], into db: any SQLDatabase) async throws -> [CreateOutcome] {
        var outcomes = [CreateOutcome](repeating: .created, count: batch.count)
        for (index, new) in batch.enumerated() {
            if let claim = new.idempotency, let earlier = try await storedResponse(for: claim, in: db) {
                outcomes[index] = earlier
            }
        }
        let fresh = batch.indices.filter { outcomes[$0] == .created }.map { batch[$0] }
        guard !fresh.isEmpty else { return outcomes }
        try await db.insert(into: "orders", rows: try fresh.map { try OrderRow($0.order).columnValues })
        try await db.insert(
            into: "order_lines",
            rows: try fresh.flatMap { new in
                try new.order.lines.map { try OrderLineRow($0, of: new.order.id).columnValues }
            })
        try await db.insert(
            into: "order_status_history", rows: fresh.map { StatusHistoryRow($0.history, of: $0.order.id).columnValues }
        )
        try await insert(fresh.map(\.event), into: db)
        try await JobRepository.enqueue(fresh.flatMap(\.jobs), in: db)
        let claims = fresh.compactMap { new in new.idempotency.map { ($0, new.order.createdAt) } }
        if !claims.isEmpty { try await insertIdempotency(claims, into: db) }
        return outcomes
    }

    private static func insertIdempotency(_ claims: [(IdempotencyClaim, Timestamp)], into db: any SQLDatabase)
        async throws
    {
        try await db.insert(
            into: "idempotency_keys",
            rows: claims.map { claim, at in
                [
                    ("scope", claim.scope), ("idempotency_key", claim.key), ("request_hash", claim.requestHash),
                    ("status_code", claim.statusCode), ("response_body", claim.responseBody),
                    ("created_at", at.microseconds),
                ]
            })
    }

    /// Writes several new orders, each with its first history row, `order.created` event and jobs,
    /// in one transaction: all or none (a batch of demonstration orders, say).
    public func createAll(_ batch: [(order: Order, history: StatusChange, jobs: [NewJob])]) async throws {
        do {
            let orders = batch.map {
                NewOrder(
                    order: $0.order, history: $0.history,
                    event: .forOrder("order.created", $0.order, at: $0.history.at), idempotency: nil, jobs: $0.jobs)
            }
            try await database.transaction { db in
                // In slices, so no statement outgrows the databases' limits on bound values.
                for start in stride(from: 0, to: orders.count, by: 64) {
                    _ = try await Self.write(Array(orders[start..<min(start + 64, orders.count)]), into: db)
                }
            }
        } catch  where ConstraintViolation.isUnique(error) {
            throw DomainError.conflict(
                code: "duplicate_order", message: "an order of the batch exists already; nothing was written")
        }
    }

    private static func storedResponse(for claim: IdempotencyClaim, in db: any SQLDatabase) async throws
        -> CreateOutcome?
    {
        guard
            let row = try await db.raw(
                """
                SELECT request_hash, status_code, response_body FROM idempotency_keys
                WHERE scope = \(bind: claim.scope) AND idempotency_key = \(bind: claim.key)
                """
            ).first()
        else { return nil }
        guard try row.decode(column: "request_hash", as: String.self) == claim.requestHash else {
            throw DomainError.conflict(
                code: "idempotency_key_reused",
                message: "Idempotency-Key '\(claim.key)' was already used with a different request body")
        }
        return .replayed(
            statusCode: try row.decode(column: "status_code", as: Int.self),
            body: try row.decode(column: "response_body", as: String.self))
    }

    /// Writes a changed order if nobody else changed it since `expectedVersion` was read.
    ///
    /// - Parameters:
    ///   - linesChanged: line numbers to rewrite.
    ///   - history: a status-history row, when the status or payment status changed.
    /// - Throws: `DomainError.concurrentUpdate` if the stored version moved on.
    ///   - audit: an audit entry that commits with the change.
    ///   - jobs: work the change asks for (compensation, notifications), enqueued with it.
    public func update(
        _ order: Order, expectedVersion: Int, linesChanged: [Int] = [], history: StatusChange? = nil,
        events: [OutboxEvent], audit: AuditEntry? = nil, jobs: [NewJob] = []
    ) async throws {
        try await database.transaction { db in
            try await Self.update(
                order, expectedVersion: expectedVersion, linesChanged: linesChanged, history: history, events: events,
                in: db)
            try await JobRepository.enqueue(jobs, in: db)
            if let audit { try await AuditRepository.append(audit, into: db) }
        }
    }

    /// The same as `update(_:expectedVersion:…)`, inside a caller's transaction.
    public static func update(
        _ order: Order, expectedVersion: Int, linesChanged: [Int], history: StatusChange?, events: [OutboxEvent],
        in db: any SQLDatabase
    ) async throws {
        try await updateRow(order, expectedVersion: expectedVersion, in: db)
        for number in linesChanged {
            guard let line = order.lines.first(where: { $0.number == number }) else { continue }
            try await db.update("order_lines")
                .set(model: try OrderLineRow(line, of: order.id), with: Rows.encoder)
                .where("order_id", .equal, order.id.rawValue)
                .where("line_number", .equal, number)
                .run()
        }
        if let history { try await insert(history, of: order.id, into: db) }
        try await insert(events, into: db)
    }

    /// Orders with their lines, without history, by ID: one query for the orders and one for their
    /// lines (a batch of pipeline steps reads its orders so). Missing IDs are left out.
    public func orders(_ ids: [OrderID]) async throws -> [OrderID: Order] {
        guard !ids.isEmpty else { return [:] }
        let keys = Array(Set(ids.map(\.rawValue)))
        return try await database.read { db in
            let rows = try await db.select().columns(OrderRow.columns.map { SQLIdentifier($0) }).from("orders")
                .where("order_id", .in, keys).all(decoding: OrderRow.self, with: Rows.decoder)
            var lines: [String: [OrderLine]] = [:]
            for row in try await db.select().column("*").from("order_lines").where("order_id", .in, keys)
                .orderBy("order_id").orderBy("line_number").all(decoding: OrderLineRow.self, with: Rows.decoder)
            {
                lines[row.orderId, default: []].append(try row.line)
            }
            var orders: [OrderID: Order] = [:]
            for row in rows {
                let order = try row.order(lines: lines[row.orderId] ?? [])
                orders[order.id] = order
            }
            return orders
        }
    }

    /// Writes a changed order's row (not its lines) if nobody changed it since `expectedVersion`,
    /// inside a caller's transaction.
    /// - Throws: `DomainError.concurrentUpdate` if the stored version moved on.
    public static func updateRow(_ order: Order, expectedVersion: Int, in db: any SQLDatabase) async throws {
        // SQL text over the row's own column list (see `insert(into:rows:)`): the same text each
        // time, so its prepared statement is kept.
        var sql = SQLQueryString("UPDATE orders SET ")
        for (index, column) in try OrderRow(order).columnValues.enumerated() {
            sql.appendLiteral(index == 0 ? "" : ", ")
            sql.appendInterpolation(unsafeRaw: column.column)
            sql.appendLiteral(" = ")
            sql.appendInterpolation(bind: column.value)
        }
        sql =
            sql
            + " WHERE order_id = \(bind: order.id.rawValue) AND version = \(bind: expectedVersion) RETURNING order_id"
        let updated = try await db.raw(sql).all()
        guard !updated.isEmpty else {
            throw DomainError.concurrentUpdate("order \(order.id) changed while this request ran; retry")
        }
    }

    /// History rows of several orders, in one statement.
    public static func insertHistory(_ changes: [(order: OrderID, change: StatusChange)], into db: any SQLDatabase)
        async throws
    {
        guard !changes.isEmpty else { return }
        try await db.insert(
            into: "order_status_history", rows: changes.map { StatusHistoryRow($0.change, of: $0.order).columnValues })
    }

    /// Outbox events of several orders, in one statement (and on the live feed once committed).
    public static func insertEvents(_ events: [OutboxEvent], into db: any SQLDatabase) async throws {
        guard !events.isEmpty else { return }
        try await insert(events, into: db)
    }

    public func find(_ id: OrderID) async throws -> StoredOrder? {
        try await database.read { db in
            guard
                let row = try await db.select().columns(OrderRow.columns.map { SQLIdentifier($0) }).from("orders")
                    .where("order_id", .equal, id.rawValue).first(decoding: OrderRow.self, with: Rows.decoder)
            else { return nil }
            let lines = try await db.select().column("*").from("order_lines")
                .where("order_id", .equal, id.rawValue).orderBy("line_number")
                .all(decoding: OrderLineRow.self, with: Rows.decoder).map { try $0.line }
            let history = try await db.select().columns("order_id", "status", "payment_status", "reason", "actor", "at")
                .from("order_status_history").where("order_id", .equal, id.rawValue).orderBy("id")
                .all(decoding: StatusHistoryRow.self, with: Rows.decoder).map { try $0.change }
            return StoredOrder(order: try row.order(lines: lines), history: history)
        }
    }

    /// Newest first, `query.limit` at a time.
    public func search(_ query: OrderQuery) async throws -> OrderPage {
        let limit = max(1, min(query.limit, 200))
        return try await database.read { db in
            let select = db.select().columns((OrderRow.columns + ["seq"]).map { SQLIdentifier($0) }).from("orders")
            if let statuses = query.statuses, !statuses.isEmpty {
                select.where("status", .in, statuses.map(\.rawValue))
            }
            if let range = query.statusRange {
                select.where("status", .greaterThanOrEqual, range.lowerBound).where(
                    "status", .lessThanOrEqual, range.upperBound)
            }
            if let locations = query.locations {
                select.where("location_id", .in, locations.map(\.rawValue))
            }
            if let customer = query.customerID { select.where("customer_id", .equal, customer) }
            if let type = query.orderType { select.where("order_type", .equal, type.rawValue) }
            if let channel = query.channel { select.where("channel", .equal, channel.rawValue) }
            if let from = query.createdFrom { select.where("created_at", .greaterThanOrEqual, from.microseconds) }
            if let to = query.createdTo { select.where("created_at", .lessThanOrEqual, to.microseconds) }
            if let from = query.updatedFrom { select.where("updated_at", .greaterThanOrEqual, from.microseconds) }
            if let to = query.updatedTo { select.where("updated_at", .lessThanOrEqual, to.microseconds) }
            if let text = query.text?.trimmingSpaces(), !text.isEmpty {
                let upper = "%" + Self.escapeLike(text.uppercased()) + "%"
                let lower = "%" + Self.escapeLike(text.lowercased()) + "%"
                select.where(
                    SQLQueryString(
                        "(order_id LIKE \(bind: upper) ESCAPE '!' OR customer_search LIKE \(bind: lower) ESCAPE '!')"))
            }
            if let after = query.after {
                select.where(
                    SQLQueryString(
                        "(created_at < \(bind: after.createdAt) OR (created_at = \(bind: after.createdAt) AND seq < \(bind: after.seq)))"
                    ))
            }
            let rows = try await select.orderBy("created_at", .descending).orderBy("seq", .descending).limit(limit + 1)
                .all()
            var orders: [(order: Order, lineCount: Int)] = []
            var next: OrderCursor?
            for (index, row) in rows.enumerated() {
                if index == limit {
                    let last = rows[index - 1]
                    next = OrderCursor(
                        createdAt: try last.decode(column: "created_at", as: Int64.self),
                        seq: try last.decode(column: "seq", as: Int64.self))
                    break
                }
                let stored = try row.decode(model: OrderRow.self, with: Rows.decoder)
                orders.append((try stored.order(lines: []), stored.lineCount))
            }
            return OrderPage(orders: orders, next: next)
        }
    }

    static func escapeLike(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if character == "%" || character == "_" || character == "!" { escaped.append("!") }
            escaped.append(character)
        }
        return escaped
    }

    /// A history row without a change to the order itself (compensation notes, say).
    public static func appendHistory(_ change: StatusChange, of order: OrderID, in db: any SQLDatabase) async throws {
        try await insert(change, of: order, into: db)
    }

    static func insert(_ change: StatusChange, of order: OrderID, into db: any SQLDatabase) async throws {
        try await db.insert(into: "order_status_history", rows: [StatusHistoryRow(change, of: order).columnValues])
    }

    static func insert(_ events: [OutboxEvent], into db: any SQLDatabase) async throws {
        try await db.insert(
            into: "outbox",
            rows: events.map { event in
                [
                    ("event_id", event.eventID), ("event_type", event.type), ("order_id", event.orderID.rawValue),
                    ("payload", event.payload), ("created_at", event.createdAt.microseconds),
                ]
            })
        for case let live? in events.map(\.live) { LiveFeed.record(live) }
    }

    /// Outbox events of one order, oldest first (the pipeline consumes them; tests read them).
    public func events(of id: OrderID) async throws -> [OutboxEvent] {
        try await database.read { db in
            try await db.raw(
                "SELECT event_id, event_type, order_id, payload, created_at FROM outbox WHERE order_id = \(bind: id.rawValue) ORDER BY id"
            )
            .all().map { row in
                OutboxEvent(
                    eventID: try row.decode(column: "event_id", as: String.self),
                    type: try row.decode(column: "event_type", as: String.self),
                    orderID: OrderID(try row.decode(column: "order_id", as: String.self)),
                    payload: try row.decode(column: "payload", as: String.self),
                    createdAt: Timestamp(microseconds: try row.decode(column: "created_at", as: Int64.self)))
            }
        }
    }
}
