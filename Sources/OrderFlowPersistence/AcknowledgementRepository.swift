import Foundation
import OrderFlowDomain
import OrderFlowRuntime
import SQLKit

/// Stores acknowledgements and matches them, in order: event ID → order ID → normalised order ID
/// → amount + channel + time window. A match is applied to the transmission (acknowledged, or
/// failed with a dead letter when rejected) in the same transaction as the record of the match.
public struct AcknowledgementRepository: Sendable {
    public let database: Database
    public let settings: CorrelationSettings

    public init(database: Database, settings: CorrelationSettings = CorrelationSettings()) {
        self.database = database
        self.settings = settings
    }

    /// Matches, applies and records each acknowledgement; one transaction for the batch.
    public func record(_ acknowledgements: [IncomingAcknowledgement], now: Timestamp) async throws -> [AcknowledgementRecord] {
        try await database.transaction { db in
            var records: [AcknowledgementRecord] = []
            for acknowledgement in acknowledgements {
                records.append(try await record(acknowledgement, now: now, in: db))
            }
            return records
        }
    }

    func record(_ ack: IncomingAcknowledgement, now: Timestamp, in db: any SQLDatabase) async throws -> AcknowledgementRecord {
        var record = AcknowledgementRecord(id: 0, acknowledgement: ack, receivedAt: now, outcome: .unmatched)
        switch try await match(ack, now: now, in: db) {
        case .none:
            record.detail = "no transmission on channel '\(ack.channel)' matches by event ID, order ID, normalised order ID or amount"
        case .ambiguous(let orders):
            record.outcome = .ambiguous
            record.detail = "matches several orders: " + orders.prefix(10).joined(separator: ", ")
        case .found(let candidate, let method):
            record.transmissionID = candidate.id
            record.orderID = OrderID(candidate.orderID)
            record.method = method
            record.confidence = method.confidence
            try await apply(ack, to: candidate, checkAmount: method != .amountWindow, recordingIn: &record, now: now, in: db)
        }
        record.id = try await insert(record, in: db)
        return record
    }

    /// Links an unmatched, ambiguous or contradicting acknowledgement to a transmission by hand,
    /// and applies it; `audit` commits with it.
    public func link(_ id: Int64, to transmissionID: Int64, by actor: String, now: Timestamp, audit: AuditEntry) async throws -> AcknowledgementRecord {
        try await database.transaction { db in
            guard var record = try await Self.load(where: "a.id = \(bind: id)", limit: 1, in: db).first else { throw AcknowledgementError.notFound(id) }
            guard record.outcome.needsAttention else { throw AcknowledgementError.notLinkable(record.outcome) }
            guard let candidate = try await candidates("t.id = \(bind: transmissionID)", in: db).first else { throw AcknowledgementError.transmissionNotFound(transmissionID) }
            guard candidate.channel == record.acknowledgement.channel else {
                throw AcknowledgementError.channelMismatch(acknowledgement: record.acknowledgement.channel, transmission: candidate.channel)
            }
            try await apply(record.acknowledgement, to: candidate, checkAmount: false, recordingIn: &record, now: now, in: db)
            record.transmissionID = candidate.id
            record.orderID = OrderID(candidate.orderID)
            record.method = .manual
            record.confidence = 1
            if record.outcome == .matched { record.outcome = .linked }
            record.linkedBy = actor
            record.linkedAt = now
            try await db.raw("""
                UPDATE acknowledgements SET transmission_id = \(bind: candidate.id), match_method = 'manual', confidence = 1,
                    outcome = \(bind: record.outcome.rawValue), detail = \(bind: record.detail), linked_by = \(bind: actor), linked_at = \(bind: now.microseconds)
                WHERE id = \(bind: id)
                """).run()
            try await AuditRepository.append(audit, into: db)
            return record
        }
    }

    /// Acknowledgements a person should look at (unmatched, ambiguous, contradicting), newest first.
    public func inconsistencies(channel: String?, beforeID: Int64?, limit: Int) async throws -> (records: [AcknowledgementRecord], nextBeforeID: Int64?) {
        try await database.read { db in
            var condition: SQLQueryString = "a.outcome IN ('unmatched', 'ambiguous', 'contradiction')"
            if let channel { condition = condition + " AND a.channel = \(bind: channel)" }
            if let beforeID { condition = condition + " AND a.id < \(bind: beforeID)" }
            let records = try await Self.load(where: condition, limit: limit + 1, in: db)
            return (Array(records.prefix(limit)), records.count > limit ? records[limit - 1].id : nil)
        }
    }

    /// Every acknowledgement of an order's transmissions, oldest first.
    public func of(order: OrderID) async throws -> [AcknowledgementRecord] {
        try await database.read { db in
            try await Self.load(
                where: "a.transmission_id IN (SELECT id FROM transmissions WHERE order_id = \(bind: order.rawValue))", limit: 1_000, in: db
            ).reversed()
        }
    }

    // MARK: Matching

    struct Candidate {
        var id: Int64
        var orderID: String
        var channel: String
        var eventID: String
        var eventType: String
        var state: Transmission.State
        var classification: TransmissionStatus
        var createdAt: Timestamp
        var deadline: Timestamp
        var acknowledgedAt: Timestamp?
        var orderTotal: Int64?
        var payload: String
        var attempts: Int
    }

    enum Match {
        case none
        case ambiguous([String])
        case found(Candidate, AcknowledgementRecord.Method)
    }

    func match(_ ack: IncomingAcknowledgement, now: Timestamp, in db: any SQLDatabase) async throws -> Match {
        let channel = ack.channel
        for eventID in [ack.eventID, ack.reference].compactMap({ $0 }) {
            if let found = try await candidates("t.channel = \(bind: channel) AND t.event_id = \(bind: eventID)", in: db).first {
                return .found(found, .eventID)
            }
        }
        if let orderID = ack.orderID, let found = Self.next(try await candidates("t.channel = \(bind: channel) AND t.order_id = \(bind: orderID)", in: db)) {
            return .found(found, .orderID)
        }
        let key = settings.normalizer.normalize(ack.orderID ?? ack.reference)
        if !key.isEmpty {
            let byKey = try await candidates("t.channel = \(bind: channel) AND t.order_key = \(bind: key)", in: db)
            let orders = Set(byKey.map(\.orderID))
            if orders.count > 1 { return .ambiguous(orders.sorted()) }
            if let found = Self.next(byKey) { return .found(found, .normalizedOrderID) }
        }
        if let amount = ack.amount {
            let window = Int64(settings.amountWindowSeconds * 1_000_000)
            let byAmount = try await candidates("""
                t.channel = \(bind: channel) AND o.order_total = \(bind: amount.units) AND t.acknowledged_at IS NULL AND t.state IN ('pending', 'sent')
                AND t.created_at BETWEEN \(bind: ack.occurredAt.microseconds - window) AND \(bind: ack.occurredAt.microseconds + window)
                """, in: db)
            let orders = Set(byAmount.map(\.orderID))
            if orders.count > 1 { return .ambiguous(orders.sorted()) }
            if let found = Self.next(byAmount) { return .found(found, .amountWindow) }
        }
        return .none
    }

    /// Of one order's transmissions on a channel: the oldest still waiting for an
    /// acknowledgement, or else the newest (so a repeat is recognised as a duplicate).
    static func next(_ candidates: [Candidate]) -> Candidate? {
        candidates.first { $0.acknowledgedAt == nil && $0.state != .failed } ?? candidates.last
    }

    func candidates(_ condition: SQLQueryString, in db: any SQLDatabase) async throws -> [Candidate] {
        try await db.raw("""
            SELECT t.id, t.order_id, t.channel, t.event_id, t.event_type, t.state, t.classification, t.created_at, t.ack_deadline,
                   t.acknowledged_at, t.attempts, o.order_total, COALESCE(t.payload_override, x.payload) AS payload
            FROM transmissions t LEFT JOIN orders o ON o.order_id = t.order_id JOIN outbox x ON x.id = t.outbox_id
            WHERE \(condition)
            ORDER BY t.outbox_id LIMIT 200
            """).all().map { row in
                Candidate(
                    id: try row.decode(column: "id", as: Int64.self), orderID: try row.decode(column: "order_id", as: String.self),
                    channel: try row.decode(column: "channel", as: String.self), eventID: try row.decode(column: "event_id", as: String.self),
                    eventType: try row.decode(column: "event_type", as: String.self),
                    state: Transmission.State(rawValue: try row.decode(column: "state", as: String.self)) ?? .pending,
                    classification: TransmissionStatus(rawValue: try row.decode(column: "classification", as: String.self)) ?? .pending,
                    createdAt: Timestamp(microseconds: try row.decode(column: "created_at", as: Int64.self)),
                    deadline: Timestamp(microseconds: try row.decode(column: "ack_deadline", as: Int64.self)),
                    acknowledgedAt: try row.decode(column: "acknowledged_at", as: Int64?.self).map(Timestamp.init(microseconds:)),
                    orderTotal: try row.decode(column: "order_total", as: Int64?.self), payload: try row.decode(column: "payload", as: String.self),
                    attempts: try row.decode(column: "attempts", as: Int.self))
            }
    }

    /// Applies an acknowledgement to its transmission, unless it repeats or contradicts what is
    /// known; sets the record's outcome, detail, classification and latency.
    func apply(
        _ ack: IncomingAcknowledgement, to candidate: Candidate, checkAmount: Bool, recordingIn record: inout AcknowledgementRecord, now: Timestamp,
        in db: any SQLDatabase
    ) async throws {
        record.classification = candidate.classification
        if checkAmount, let amount = ack.amount, let total = candidate.orderTotal, amount.units != total {
            (record.outcome, record.detail) = (.contradiction, "amount \(amount) differs from the order total \(Money(units: total))")
            return
        }
        let priorStatus: IncomingAcknowledgement.Status? = candidate.acknowledgedAt != nil ? .accepted : (candidate.state == .failed ? .rejected : nil)
        if let priorStatus {
            let prior = priorStatus == .accepted ? "acknowledged" : "failed"
            (record.outcome, record.detail) = priorStatus == ack.status
                ? (.duplicate, "already \(prior)") : (.contradiction, "the transmission is already \(prior); this says \(ack.status.rawValue)")
            return
        }
        record.outcome = .matched
        switch ack.status {
        case .accepted:
            // Their clock decides when, kept between our send and now.
            let at = min(max(ack.occurredAt, candidate.createdAt), now)
            let latency = at.microseconds - candidate.createdAt.microseconds
            let status = TransmissionStatus.classify(deadline: candidate.deadline, acknowledgedAt: at, failed: false, now: now)
            try await db.raw("""
                UPDATE transmissions SET state = 'acknowledged', acknowledged_at = \(bind: at.microseconds), classification = \(bind: status.rawValue),
                    classified_at = \(bind: now.microseconds), ack_latency_us = \(bind: latency)
                WHERE id = \(bind: candidate.id)
                """).run()
            LiveFeed.record(.transmission(
                "acknowledged", id: candidate.id, orderID: candidate.orderID, channel: candidate.channel, eventType: candidate.eventType,
                classification: status, more: [("ackLatencyMs", .int(latency / 1_000))]))
            (record.classification, record.latencySeconds, record.detail) = (status, Double(latency) / 1_000_000, nil)
        case .rejected:
            let reason = "rejected by \(candidate.channel): \(ack.reason ?? "no reason given")"
            try await db.raw("""
                UPDATE transmissions SET state = 'failed', classification = 'failed', classified_at = \(bind: now.microseconds),
                    last_error = \(bind: String(reason.prefix(1_000))), lease_owner = NULL, lease_expires_at = NULL
                WHERE id = \(bind: candidate.id)
                """).run()
            try await DeadLetterRepository.insert(
                DeadLetter.New(
                    source: .transmission, sourceID: candidate.id, orderID: OrderID(candidate.orderID), channel: candidate.channel,
                    eventID: candidate.eventID, kind: candidate.eventType, payload: candidate.payload, error: reason, attempts: candidate.attempts),
                at: now, in: db)
            LiveFeed.record(.transmission(
                "rejected", id: candidate.id, orderID: candidate.orderID, channel: candidate.channel, eventType: candidate.eventType,
                classification: .failed, more: [("error", .string(String(reason.prefix(200))))]))
            (record.classification, record.detail) = (.failed, reason)
        }
    }

    // MARK: Rows

    func insert(_ record: AcknowledgementRecord, in db: any SQLDatabase) async throws -> Int64 {
        let ack = record.acknowledgement
        return try await db.raw("""
            INSERT INTO acknowledgements (channel, reference, status, occurred_at, received_at, event_id, order_ref, amount, reason,
                transmission_id, match_method, confidence, outcome, detail)
            VALUES (\(bind: ack.channel), \(bind: ack.reference), \(bind: ack.status.rawValue), \(bind: ack.occurredAt.microseconds),
                    \(bind: record.receivedAt.microseconds), \(bind: ack.eventID), \(bind: ack.orderID), \(bind: ack.amount?.units), \(bind: ack.reason),
                    \(bind: record.transmissionID), \(bind: record.method?.rawValue), \(bind: record.confidence), \(bind: record.outcome.rawValue),
                    \(bind: record.detail))
            RETURNING id
            """).first()!.decode(column: "id", as: Int64.self)
    }

    static func load(where condition: SQLQueryString, limit: Int, in db: any SQLDatabase) async throws -> [AcknowledgementRecord] {
        try await db.raw("""
            SELECT a.*, t.order_id AS matched_order, t.classification AS matched_classification
            FROM acknowledgements a LEFT JOIN transmissions t ON t.id = a.transmission_id
            WHERE \(condition) ORDER BY a.id DESC LIMIT \(bind: limit)
            """).all().map { row in
                let status = try row.decode(column: "status", as: String.self)
                let outcome = try row.decode(column: "outcome", as: String.self)
                return AcknowledgementRecord(
                    id: try row.decode(column: "id", as: Int64.self),
                    acknowledgement: IncomingAcknowledgement(
                        channel: try row.decode(column: "channel", as: String.self), reference: try row.decode(column: "reference", as: String.self),
                        status: try OrderRow.decode(IncomingAcknowledgement.Status(rawValue: status), "status", status),
                        occurredAt: Timestamp(microseconds: try row.decode(column: "occurred_at", as: Int64.self)),
                        eventID: try row.decode(column: "event_id", as: String?.self), orderID: try row.decode(column: "order_ref", as: String?.self),
                        amount: try row.decode(column: "amount", as: Int64?.self).map(Money.init(units:)), reason: try row.decode(column: "reason", as: String?.self)),
                    receivedAt: Timestamp(microseconds: try row.decode(column: "received_at", as: Int64.self)),
                    outcome: try OrderRow.decode(AcknowledgementRecord.Outcome(rawValue: outcome), "outcome", outcome),
                    transmissionID: try row.decode(column: "transmission_id", as: Int64?.self),
                    orderID: try row.decode(column: "matched_order", as: String?.self).map(OrderID.init),
                    method: try row.decode(column: "match_method", as: String?.self).flatMap(AcknowledgementRecord.Method.init(rawValue:)),
                    confidence: try row.decode(column: "confidence", as: Double?.self), detail: try row.decode(column: "detail", as: String?.self),
                    classification: try row.decode(column: "matched_classification", as: String?.self).flatMap(TransmissionStatus.init(rawValue:)),
                    linkedBy: try row.decode(column: "linked_by", as: String?.self),
                    linkedAt: try row.decode(column: "linked_at", as: Int64?.self).map(Timestamp.init(microseconds:)))
            }
    }
}
