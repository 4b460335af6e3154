import Foundation
import OrderFlowDomain
import SQLKit

/// Acknowledgements as stored, and the transmissions they may be about. Which lookup comes first
/// and what a match means is decided by `AcknowledgementMatcher` (Domain); the monitor runs both
/// inside one transaction per batch (`AcknowledgementCorrelator`).
public struct AcknowledgementRepository: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Acknowledgements a person should look at (unmatched, ambiguous, contradicting), newest
    /// first; within `scope`, those that were matched to no order are left out for scoped callers.
    public func inconsistencies(
        channel: String?, scope: OrderScope = .everything, beforeID: Int64?, limit: Int
    ) async throws -> (records: [AcknowledgementRecord], nextBeforeID: Int64?) {
        try await database.read { db in
            var condition: SQLQueryString = "a.outcome IN ('unmatched', 'ambiguous', 'contradiction')"
            if let channel { condition = condition + " AND a.channel = \(bind: channel)" }
            if let beforeID { condition = condition + " AND a.id < \(bind: beforeID)" }
            condition = condition + OrderScopeSQL.condition(scope, order: "o")
            let records = try await Self.load(where: condition, limit: limit + 1, in: db)
            return (Array(records.prefix(limit)), records.count > limit ? records[limit - 1].id : nil)
        }
    }

    /// Every acknowledgement of an order's transmissions, oldest first.
    public func of(order: OrderID) async throws -> [AcknowledgementRecord] {
        try await database.read { db in
            try await Self.load(
                where: "a.transmission_id IN (SELECT id FROM transmissions WHERE order_id = \(bind: order.rawValue))",
                limit: 1_000, in: db
            ).reversed()
        }
    }

    /// One acknowledgement, read inside the caller's transaction.
    public static func find(_ id: Int64, in db: any SQLDatabase) async throws -> AcknowledgementRecord? {
        try await load(where: "a.id = \(bind: id)", limit: 1, in: db).first
    }

    // MARK: Candidates

    /// The transmissions on `channel` that `lookup` finds, oldest first (at most 200), within
    /// `scope`.
    public static func candidates(
        channel: String, _ lookup: AcknowledgementLookup, scope: OrderScope, in db: any SQLDatabase
    ) async throws -> [AcknowledgementCandidate] {
        let found: SQLQueryString
        switch lookup {
        case .eventID(let eventID):
            found = "t.event_id = \(bind: eventID)"
        case .orderID(let orderID):
            found = "t.order_id = \(bind: orderID)"
        case .orderKey(let key):
            found = "t.order_key = \(bind: key)"
        case .amount(let amount, let around, let seconds):
            let window = Int64(seconds * 1_000_000)
            found = """
                o.order_total = \(bind: amount.units) AND t.acknowledged_at IS NULL AND t.state IN ('pending', 'sent')
                AND t.created_at BETWEEN \(bind: around.microseconds - window) AND \(bind: around.microseconds + window)
                """
        }
        return try await candidates(
            "t.channel = \(bind: channel) AND \(found)" + OrderScopeSQL.condition(scope, order: "o"), in: db)
    }

    /// The transmissions carrying any of these event IDs (on any channel), within `scope`, by event
    /// ID: what the event-ID lookups of a whole request of acknowledgements find, read at once.
    public static func candidates(eventIDs: Set<String>, scope: OrderScope, in db: any SQLDatabase) async throws
        -> [String: [AcknowledgementCandidate]]
    {
        var found: [String: [AcknowledgementCandidate]] = [:]
        let ids = Array(eventIDs)
        for start in stride(from: 0, to: ids.count, by: 500) {
            var list = SQLQueryString("t.event_id IN (")
            for (index, id) in ids[start..<min(start + 500, ids.count)].enumerated() {
                list.appendLiteral(index == 0 ? "" : ", ")
                list.appendInterpolation(bind: id)
            }
            list.appendLiteral(")")
            for candidate in try await candidates(
                list + OrderScopeSQL.condition(scope, order: "o"), limit: ids.count * 50, in: db)
            {
                found[candidate.eventID, default: []].append(candidate)
            }
        }
        return found
    }

    /// The transmission with this ID, as a candidate, within `scope`.
    public static func candidate(_ transmissionID: Int64, scope: OrderScope, in db: any SQLDatabase) async throws
        -> AcknowledgementCandidate?
    {
        try await candidates("t.id = \(bind: transmissionID)" + OrderScopeSQL.condition(scope, order: "o"), in: db)
            .first
    }

    /// Read to be changed: on PostgreSQL the rows stay locked until the transaction ends, so two
    /// acknowledgements of one transmission applied at once (on two group-commit lanes or two
    /// instances) take turns, and the second sees the first's verdict and is a duplicate. SQLite
    /// has one writer, so its transactions take turns anyway.
    static func candidates(_ condition: SQLQueryString, limit: Int = 200, in db: any SQLDatabase) async throws
        -> [AcknowledgementCandidate]
    {
        let lock = db.dialect.name == "postgresql" ? " FOR UPDATE OF t" : ""
        return try await db.raw(
            """
            SELECT t.id, t.order_id, t.channel, t.event_id, t.event_type, t.state, t.classification, t.created_at,
                t.ack_deadline,
                   t.acknowledged_at, t.attempts, o.order_total, COALESCE(t.payload_override, x.payload) AS payload
            FROM transmissions t LEFT JOIN orders o ON o.order_id = t.order_id JOIN outbox x ON x.id = t.outbox_id
            WHERE \(condition)
            ORDER BY t.outbox_id LIMIT \(bind: limit)\(unsafeRaw: lock)
            """
        ).all().map { try $0.decode(CandidateRow.self).candidate() }
    }

    // MARK: Writing

    /// Stores a new acknowledgement record; returns its ID.
    public static func insert(_ record: AcknowledgementRecord, in db: any SQLDatabase) async throws -> Int64 {
        let ack = record.acknowledgement
        return try await db.raw(
            """
            INSERT INTO acknowledgements (channel, reference, status, occurred_at, received_at, event_id, order_ref,
                amount, reason,
                transmission_id, match_method, confidence, outcome, detail)
            VALUES (\(bind: ack.channel), \(bind: ack.reference), \(bind: ack.status.rawValue),
                \(bind: ack.occurredAt.microseconds),
                    \(bind: record.receivedAt.microseconds), \(bind: ack.eventID), \(bind: ack.orderID),
                        \(bind: ack.amount?.units), \(bind: ack.reason),
                    \(bind: record.transmissionID), \(bind: record.method?.rawValue), \(bind: record.confidence),
                        \(bind: record.outcome.rawValue),
                    \(bind: record.detail))
            RETURNING id
            """
        ).first()!.decode(column: "id", as: Int64.self)
    }

    /// The acknowledgement matched by an order reference or amount (not by its event ID, not by
    /// hand) that acknowledged `transmissionID`, if any.
    public static func fuzzyHolder(of transmissionID: Int64, in db: any SQLDatabase) async throws
        -> AcknowledgementRecord?
    {
        try await db.raw(
            """
            SELECT a.*, NULL AS matched_order, NULL AS matched_classification FROM acknowledgements a
            WHERE a.transmission_id = \(bind: transmissionID) AND a.outcome = 'matched' AND a.status = 'accepted'
                AND a.match_method IN ('order_id', 'normalized_order_id', 'amount_window')
            ORDER BY a.id DESC LIMIT 1
            """
        ).first().map { try $0.decode(AcknowledgementRow.self).record() }
    }

    /// Moves a matched acknowledgement to another transmission, saying why.
    public static func move(_ id: Int64, to transmissionID: Int64, detail: String, in db: any SQLDatabase)
        async throws
    {
        try await db.raw(
            """
            UPDATE acknowledgements SET transmission_id = \(bind: transmissionID), detail = \(bind: detail)
            WHERE id = \(bind: id)
            """
        ).run()
    }

    /// Stores what linking a record by hand changed: its transmission, method, outcome and who.
    public static func saveLink(_ record: AcknowledgementRecord, in db: any SQLDatabase) async throws {
        try await db.raw(
            """
            UPDATE acknowledgements SET transmission_id = \(bind: record.transmissionID),
                match_method = \(bind: record.method?.rawValue),
                confidence = \(bind: record.confidence), outcome = \(bind: record.outcome.rawValue),
                    detail = \(bind: record.detail),
                linked_by = \(bind: record.linkedBy), linked_at = \(bind: record.linkedAt?.microseconds)
            WHERE id = \(bind: record.id)
            """
        ).run()
    }

    // MARK: Rows

    static func load(where condition: SQLQueryString, limit: Int, in db: any SQLDatabase) async throws
        -> [AcknowledgementRecord]
    {
        try await db.raw(
            """
            SELECT a.*, t.order_id AS matched_order, t.classification AS matched_classification
            FROM acknowledgements a LEFT JOIN transmissions t ON t.id = a.transmission_id LEFT JOIN orders o ON
                o.order_id = t.order_id
            WHERE \(condition) ORDER BY a.id DESC LIMIT \(bind: limit)
            """
        ).all().map { try $0.decode(AcknowledgementRow.self).record() }
    }
}

struct AcknowledgementRow: TableRow {
    static let table = "acknowledgements"
    var id: Int64
    var channel: String
    var reference: String
    var status: String
    var occurredAt: Int64
    var receivedAt: Int64
    var eventId: String?
    var orderRef: String?
    var amount: Int64?
    var reason: String?
    var transmissionId: Int64?
    var matchMethod: String?
    var confidence: Double?
    var outcome: String
    var detail: String?
    var linkedBy: String?
    var linkedAt: Int64?
    var matchedOrder: String?
    var matchedClassification: String?

    func record() throws -> AcknowledgementRecord {
        AcknowledgementRecord(
            id: id,
            acknowledgement: IncomingAcknowledgement(
                channel: channel, reference: reference, status: try Self.parse(status, column: "status"),
                occurredAt: occurredAt.time,
                eventID: eventId, orderID: orderRef, amount: amount.map(Money.init(units:)), reason: reason),
            receivedAt: receivedAt.time, outcome: try Self.parse(outcome, column: "outcome"),
            transmissionID: transmissionId,
            orderID: matchedOrder.map(OrderID.init),
            method: try matchMethod.map { try Self.parse($0, column: "match_method") },
            confidence: confidence, detail: detail,
            classification: try matchedClassification.map { try Self.parse($0, column: "classification") },
            linkedBy: linkedBy, linkedAt: linkedAt.time)
    }
}

struct CandidateRow: TableRow {
    static let table = "transmissions"
    var id: Int64
    var orderId: String
    var channel: String
    var eventId: String
    var eventType: String
    var state: String
    var classification: String
    var createdAt: Int64
    var ackDeadline: Int64
    var acknowledgedAt: Int64?
    var attempts: Int
    var orderTotal: Int64?
    var payload: String

    func candidate() throws -> AcknowledgementCandidate {
        AcknowledgementCandidate(
            id: id, orderID: orderId, channel: channel, eventID: eventId, eventType: eventType,
            state: try Self.parse(state, column: "state"),
            classification: try Self.parse(classification, column: "classification"), createdAt: createdAt.time,
            deadline: ackDeadline.time,
            acknowledgedAt: acknowledgedAt.time, orderTotal: orderTotal.map(Money.init(units:)), payload: payload,
            attempts: attempts)
    }
}
