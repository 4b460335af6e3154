import Foundation
import OrderFlowDomain
import SQLKit

public struct DeadLetterRepository: Sendable {
    public let database: Database

    public init(database: Database) { self.database = database }

    public static func insert(_ letter: DeadLetter.New, at now: Timestamp, in db: any SQLDatabase) async throws {
        try await db.raw(
            """
            INSERT INTO dead_letters (source, source_id, order_id, channel, event_id, kind, payload, error, attempts,
                state, created_at)
            VALUES (\(bind: letter.source.rawValue), \(bind: letter.sourceID), \(bind: letter.orderID?.rawValue),
                \(bind: letter.channel),
                    \(bind: letter.eventID), \(bind: letter.kind), \(bind: letter.payload),
                        \(bind: String(letter.error.prefix(4_000))),
                    \(bind: letter.attempts), 'open', \(bind: now.microseconds))
            """
        ).run()
    }

    /// The dead letter, when it lies within `scope` (its order does).
    public func find(_ id: Int64, scope: OrderScope = .everything) async throws -> DeadLetter? {
        try await database.read { db in
            try await Self.letters(where: "d.id = \(bind: id)", scope: scope, limit: 1, in: db).first
        }
    }

    /// Newest first, within the query's scope.
    public func search(_ query: DeadLetterQuery) async throws -> (letters: [DeadLetter], nextBeforeID: Int64?) {
        let limit = max(1, min(query.limit, 200))
        var condition: SQLQueryString = "1 = 1"
        if let state = query.state { condition = condition + " AND d.state = \(bind: state.rawValue)" }
        if let source = query.source { condition = condition + " AND d.source = \(bind: source.rawValue)" }
        if let channel = query.channel { condition = condition + " AND d.channel = \(bind: channel)" }
        if let order = query.orderID { condition = condition + " AND d.order_id = \(bind: order.rawValue)" }
        if let sourceID = query.sourceID { condition = condition + " AND d.source_id = \(bind: sourceID)" }
        if let from = query.from { condition = condition + " AND d.created_at >= \(bind: from.microseconds)" }
        if let to = query.to { condition = condition + " AND d.created_at <= \(bind: to.microseconds)" }
        if let before = query.beforeID { condition = condition + " AND d.id < \(bind: before)" }
        let filter = condition
        return try await database.read { db in
            let found = try await Self.letters(where: filter, scope: query.scope, limit: limit + 1, in: db)
            let letters = Array(found.prefix(limit))
            return (letters, found.count > limit ? letters.last?.id : nil)
        }
    }

    static func letters(where condition: SQLQueryString, scope: OrderScope, limit: Int, in db: any SQLDatabase)
        async throws -> [DeadLetter]
    {
        let join: SQLQueryString = scope == .everything ? "" : "LEFT JOIN orders o ON o.order_id = d.order_id"
        return try await db.raw(
            """
            SELECT d.* FROM dead_letters d \(join) WHERE \(condition)\(OrderScopeSQL.condition(scope, order: "o"))
            ORDER BY d.id DESC LIMIT \(bind: limit)
            """
        ).all().map(Self.letter)
    }

    public func count(state: DeadLetter.State = .open) async throws -> Int {
        try await database.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM dead_letters WHERE state = \(bind: state.rawValue)").first()!
                .decode(column: "n", as: Int.self)
        }
    }

    public enum Resolution: Sendable {
        /// Send or run it again; a transmission may carry a corrected payload.
        case replay(correctedPayload: String?)
        case discard
    }

    /// Replays or discards an open dead letter, with `audit` in the same transaction.
    /// - Throws: `DomainError.notFound`, or `DomainError.conflict` when it is no longer open.
    public func resolve(
        _ id: Int64, _ resolution: Resolution, by actor: String, note: String?, at now: Timestamp, audit: AuditEntry
    ) async throws -> DeadLetter {
        try await database.transaction { db in
            guard
                let letter = try await db.raw("SELECT * FROM dead_letters WHERE id = \(bind: id)").first().map(
                    Self.letter)
            else {
                throw DomainError.notFound(kind: "dead letter", id: String(id))
            }
            let state: DeadLetter.State
            switch resolution {
            case .discard: state = .discarded
            case .replay: state = .replayed
            }
            let updated = try await db.raw(
                """
                UPDATE dead_letters SET state = \(bind: state.rawValue), resolved_at = \(bind: now.microseconds),
                    resolved_by = \(bind: actor), note = \(bind: note)
                WHERE id = \(bind: id) AND state = 'open' RETURNING id
                """
            ).first()
            guard updated != nil else {
                throw DomainError.conflict(
                    code: "dead_letter_resolved", message: "dead letter \(id) was already \(letter.state.rawValue)")
            }
            if case .replay(let corrected) = resolution {
                switch letter.source {
                case .transmission:
                    try await TransmissionRepository.requeue(letter.sourceID, payload: corrected, at: now, in: db)
                case .job:
                    try await JobRepository.enqueue(
                        [
                            NewJob(
                                kind: letter.kind, orderID: letter.orderID, dedupeKey: nil,
                                payload: corrected ?? letter.payload, runAt: now)
                        ], in: db)
                }
            }
            try await AuditRepository.append(audit, into: db)
            var resolved = letter
            resolved.state = state
            resolved.resolvedAt = now
            resolved.resolvedBy = actor
            resolved.note = note
            return resolved
        }
    }

    static func letter(_ row: any SQLRow) throws -> DeadLetter {
        try row.decode(DeadLetterRow.self).letter()
    }
}

struct DeadLetterRow: TableRow {
    static let table = "dead_letters"
    var id: Int64
    var source: String
    var sourceId: Int64
    var orderId: String?
    var channel: String?
    var eventId: String?
    var kind: String
    var payload: String
    var error: String
    var attempts: Int
    var state: String
    var createdAt: Int64
    var resolvedAt: Int64?
    var resolvedBy: String?
    var note: String?

    func letter() throws -> DeadLetter {
        DeadLetter(
            id: id, source: try Self.parse(source, column: "source"), sourceID: sourceId,
            orderID: orderId.map(OrderID.init), channel: channel,
            eventID: eventId, kind: kind, payload: payload, error: error, attempts: attempts,
            state: try Self.parse(state, column: "state"),
            createdAt: createdAt.time, resolvedAt: resolvedAt.time, resolvedBy: resolvedBy, note: note)
    }
}
