import Foundation
import OrderFlowDomain
import OrderFlowRuntime
import SQLKit

/// The outbox fan-out and the per-channel delivery queue.
///
/// Per channel, an order's events go out one at a time in outbox order: a transmission is claimed
/// only when no earlier one of the same order and channel is still pending, and no earlier event
/// of the order is still unpublished.
public struct TransmissionRepository: Sendable {
    public let database: Database
    let normalizer: OrderReferenceNormalizer

    public init(database: Database, normalizer: OrderReferenceNormalizer = OrderReferenceNormalizer()) {
        self.database = database
        self.normalizer = normalizer
    }

    /// Turns up to `limit` unpublished outbox events into one transmission per subscribed channel
    /// and marks them published, in one transaction: one statement marks and returns the events,
    /// one multi-row insert (per thousand rows) writes their transmissions. Returns the number of
    /// events handled.
    ///
    /// The rows are made here rather than by `INSERT … SELECT` because a subscription's event
    /// patterns (`order.*`) and an order's matching key are the application's rules, not SQL's.
    public func fanOut(_ subscriptions: [ChannelSubscription], limit: Int, now: Timestamp) async throws -> Int {
        let lock = database.kind == .postgres ? "FOR UPDATE SKIP LOCKED" : ""
        return try await database.transaction { db in
            let events = try await db.raw(
                """
                UPDATE outbox SET published_at = \(bind: now.microseconds)
                WHERE id IN (SELECT id FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT \(bind: limit)
                    \(unsafeRaw: lock))
                RETURNING id, event_id, event_type, order_id, created_at
                """
            ).all()
            var rows: [SQLQueryString] = []
            for event in events {
                let type = try event.decode(column: "event_type", as: String.self)
                let created = try event.decode(column: "created_at", as: Int64.self)
                let orderID = try event.decode(column: "order_id", as: String.self)
                let outboxID = try event.decode(column: "id", as: Int64.self)
                let eventID = try event.decode(column: "event_id", as: String.self)
                for subscription in subscriptions where subscription.takes(type) {
                    let deadline = created + Int64(subscription.ackThresholdSeconds * 1_000_000)
                    rows.append(
                        """
                        (\(bind: outboxID), \(bind: eventID), \(bind: type), \(bind: subscription.channel),
                            \(bind: orderID), \(bind: normalizer.normalize(orderID)), 'pending', 0,
                            \(bind: now.microseconds), \(bind: created), \(bind: deadline))
                        """)
                }
            }
            // A thousand rows of ten bound values stay well inside SQLite's limit of 32,766.
            for start in stride(from: 0, to: rows.count, by: 1_000) {
                let created = try await db.raw(
                    """
                    INSERT INTO transmissions (outbox_id, event_id, event_type, channel, order_id, order_key,
                        state, attempts, next_attempt_at, created_at, ack_deadline)
                    VALUES \(rows[start..<min(start + 1_000, rows.count)].joined(separator: ", "))
                    ON CONFLICT (event_id, channel) DO NOTHING RETURNING id, order_id, channel, event_type
                    """
                ).all()
                for row in created {
                    LiveFeed.record(
                        .transmission(
                            "created", id: try row.decode(column: "id", as: Int64.self),
                            orderID: try row.decode(column: "order_id", as: String.self),
                            channel: try row.decode(column: "channel", as: String.self),
                            eventType: try row.decode(column: "event_type", as: String.self), classification: .pending))
                }
            }
            return events.count
        }
    }

    /// Leases up to `limit` due transmissions of `channel`, the next of each order only.
    public func claim(channel: String, owner: String, limit: Int, lease: Double, now: Timestamp) async throws
        -> [Transmission]
    {
        let lock = database.kind == .postgres ? "FOR UPDATE SKIP LOCKED" : ""
        return try await database.transaction { db in
            let rows = try await db.raw(
                """
                UPDATE transmissions SET lease_owner = \(bind: owner),
                    lease_expires_at = \(bind: now.adding(seconds: lease).microseconds), attempts = attempts + 1
                WHERE id IN (
                    SELECT t.id FROM transmissions t
                    WHERE t.channel = \(bind: channel) AND t.state = 'pending' AND t.next_attempt_at <=
                        \(bind: now.microseconds)
                      AND (t.lease_expires_at IS NULL OR t.lease_expires_at < \(bind: now.microseconds))
                      AND NOT EXISTS (SELECT 1 FROM transmissions p WHERE p.channel = t.channel AND p.order_id =
                          t.order_id
                                      AND p.outbox_id < t.outbox_id AND p.state = 'pending')
                      AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.order_id = t.order_id AND o.id < t.outbox_id AND
                          o.published_at IS NULL)
                    ORDER BY t.outbox_id LIMIT \(bind: limit) \(unsafeRaw: lock))
                RETURNING id
                """
            ).all()
            let ids = try rows.map { try $0.decode(column: "id", as: Int64.self) }
            guard !ids.isEmpty else { return [] }
            return try await Self.load(ids: ids, in: db).sorted { $0.outboxID < $1.outboxID }
        }
    }

    public enum Outcome: Sendable {
        /// 2xx: acknowledged at once (sync channels) or awaiting a callback (async channels).
        case delivered(statusCode: Int, acknowledged: Bool)
        case retry(at: Timestamp, statusCode: Int?, error: String)
        /// Refused for good or out of attempts: becomes a dead letter.
        case failed(statusCode: Int?, error: String)
    }

    /// One attempt's outcome, to record with `finish(_:owner:)`.
    public struct Finished: Sendable {
        public var transmission: Transmission
        public var attempt: TransmissionAttempt
        public var outcome: Outcome
        /// When the answer came: the acknowledgement time of a sync channel's 2xx.
        public var at: Timestamp

        public init(_ transmission: Transmission, attempt: TransmissionAttempt, outcome: Outcome, at: Timestamp) {
            self.transmission = transmission
            self.attempt = attempt
            self.outcome = outcome
            self.at = at
        }
    }

    /// Records an attempt and its outcome, only while the lease is still held (false if lost).
    public func finish(
        _ transmission: Transmission, owner: String, attempt: TransmissionAttempt, outcome: Outcome, now: Timestamp
    ) async throws -> Bool {
        try await finish([Finished(transmission, attempt: attempt, outcome: outcome, at: now)], owner: owner)[0]
    }

    /// Records many attempts and their outcomes in one transaction: each transmission's row only
    /// while its lease is still held, then the attempts of those recorded in one multi-row insert,
    /// and a dead letter for each that failed for good. Returns, in order, whether each was recorded.
    public func finish(_ batch: [Finished], owner: String) async throws -> [Bool] {
        guard !batch.isEmpty else { return [] }
        return try await database.transaction { db in
            var recorded: [Bool] = []
            for finished in batch {
                recorded.append(try await Self.update(finished, owner: owner, in: db))
            }
            let attempts = zip(batch, recorded).filter(\.1).map(\.0)
            let rows = attempts.map { finished -> SQLQueryString in
                let attempt = finished.attempt
                return """
                    (\(bind: finished.transmission.id), \(bind: attempt.attempt),
                        \(bind: attempt.startedAt.microseconds),
                        \(bind: attempt.durationMicroseconds), \(bind: attempt.httpStatus),
                        \(bind: attempt.error.map { String($0.prefix(1_000)) }),
                        \(bind: attempt.responseExcerpt.map { String($0.prefix(500)) }))
                    """
            }
            // A thousand rows of seven bound values stay well inside SQLite's limit of 32,766.
            for start in stride(from: 0, to: rows.count, by: 1_000) {
                try await db.raw(
                    """
                    INSERT INTO transmission_attempts (transmission_id, attempt, started_at, duration_us, http_status,
                        error, response_excerpt)
                    VALUES \(rows[start..<min(start + 1_000, rows.count)].joined(separator: ", "))
                    """
                ).run()
            }
            for finished in attempts {
                guard case .failed(let statusCode, let error) = finished.outcome else { continue }
                let transmission = finished.transmission
                try await DeadLetterRepository.insert(
                    DeadLetter.New(
                        source: .transmission, sourceID: transmission.id, orderID: transmission.orderID,
                        channel: transmission.channel,
                        eventID: transmission.eventID, kind: transmission.eventType, payload: transmission.payload,
                        error: [statusCode.map { "HTTP \($0)" }, error].compactMap { $0 }.joined(separator: ": "),
                        attempts: transmission.attempts),
                    at: finished.at, in: db)
            }
            return recorded
        }
    }

    /// One transmission's row after an attempt, if `owner` still holds its lease; notes the change
    /// for the live feed.
    static func update(_ finished: Finished, owner: String, in db: any SQLDatabase) async throws -> Bool {
        let transmission = finished.transmission
        let now = finished.at
        // A sync channel's 2xx acknowledges: classified by when it came.
        var status: TransmissionStatus?
        if case .delivered(_, acknowledged: true) = finished.outcome {
            status = TransmissionStatus.classify(
                deadline: transmission.ackDeadline, acknowledgedAt: now, failed: false, now: now)
        }
        let update: SQLQueryString
        switch finished.outcome {
        case .delivered(let code, let acknowledged):
            update = """
                UPDATE transmissions SET
                    state = CASE WHEN acknowledged_at IS NOT NULL THEN 'acknowledged' ELSE
                        \(bind: acknowledged ? "acknowledged" : "sent") END,
                    sent_at = COALESCE(sent_at, \(bind: now.microseconds)),
                    acknowledged_at = COALESCE(acknowledged_at, \(bind: acknowledged ? now.microseconds : nil)),
                    classification = CASE WHEN acknowledged_at IS NOT NULL THEN classification ELSE
                        COALESCE(\(bind: status?.rawValue), classification) END,
                    classified_at = CASE WHEN acknowledged_at IS NOT NULL THEN classified_at ELSE
                        COALESCE(\(bind: acknowledged ? now.microseconds : nil), classified_at) END,
                    ack_latency_us = COALESCE(ack_latency_us,
                        \(bind: acknowledged ? now.microseconds - transmission.createdAt.microseconds : nil)),
                    lease_owner = NULL, lease_expires_at = NULL, last_status_code = \(bind: code), last_error = NULL
                WHERE id = \(bind: transmission.id) AND lease_owner = \(bind: owner) AND attempts =
                    \(bind: transmission.attempts) RETURNING id
                """
        case .retry(let at, let code, let message):
            update = """
                UPDATE transmissions SET next_attempt_at = \(bind: at.microseconds), lease_owner = NULL,
                    lease_expires_at = NULL,
                    last_status_code = \(bind: code), last_error = \(bind: String(message.prefix(1_000)))
                WHERE id = \(bind: transmission.id) AND lease_owner = \(bind: owner) AND attempts =
                    \(bind: transmission.attempts) RETURNING id
                """
        case .failed(let code, let message):
            update = """
                UPDATE transmissions SET state = 'failed', lease_owner = NULL, lease_expires_at = NULL,
                    classification = 'failed', classified_at = \(bind: now.microseconds),
                    last_status_code = \(bind: code), last_error = \(bind: String(message.prefix(1_000)))
                WHERE id = \(bind: transmission.id) AND lease_owner = \(bind: owner) AND attempts =
                    \(bind: transmission.attempts) RETURNING id
                """
        }
        guard try await db.raw(update).first() != nil else { return false }
        switch finished.outcome {
        case .delivered(let code, let acknowledged):
            LiveFeed.record(
                .transmission(
                    acknowledged ? "acknowledged" : "sent", transmission, classification: status,
                    more: [("httpStatus", .int(Int64(code)))]))
        case .retry(_, let code, let message):
            LiveFeed.record(
                .transmission(
                    "retrying", transmission,
                    more: [
                        ("httpStatus", code.map { .int(Int64($0)) } ?? .null),
                        ("error", .string(String(message.prefix(200)))),
                    ]))
        case .failed(let code, let message):
            LiveFeed.record(
                .transmission(
                    "failed", transmission, classification: .failed,
                    more: [
                        ("httpStatus", code.map { .int(Int64($0)) } ?? .null),
                        ("error", .string(String(message.prefix(200)))),
                    ]))
        }
        return true
    }

    /// Turns every pending transmission whose deadline passed before `now` delayed (or before
    /// `cutoff`, when earlier: while refused acknowledgements are on their way back), through the
    /// deadline index (never a scan of all rows). Returns the channel of each one changed.
    public func sweepDeadlines(now: Timestamp, deadlineBefore cutoff: Timestamp? = nil, limit: Int = 5_000)
        async throws -> [String]
    {
        let cutoff = min(cutoff ?? now, now)
        return try await database.transaction { db in
            try await db.raw(
                """
                UPDATE transmissions SET classification = 'delayed', classified_at = \(bind: now.microseconds)
                WHERE id IN (SELECT id FROM transmissions WHERE classification = 'pending' AND ack_deadline <
                    \(bind: cutoff.microseconds)
                             ORDER BY ack_deadline LIMIT \(bind: limit))
                RETURNING id, channel, order_id, event_type
                """
            ).all().map { row in
                let channel = try row.decode(column: "channel", as: String.self)
                LiveFeed.record(
                    .transmission(
                        "delayed", id: try row.decode(column: "id", as: Int64.self),
                        orderID: try row.decode(column: "order_id", as: String.self),
                        channel: channel, eventType: try row.decode(column: "event_type", as: String.self),
                        classification: .delayed))
                return channel
            }
        }
    }

    /// Marks a transmission acknowledged at `at`, classified `status` (an acknowledgement applied).
    public static func acknowledge(
        _ candidate: AcknowledgementCandidate, at: Timestamp, latencyMicroseconds: Int64, status: TransmissionStatus,
        now: Timestamp,
        in db: any SQLDatabase
    ) async throws {
        try await db.raw(
            """
            UPDATE transmissions SET state = 'acknowledged', acknowledged_at = \(bind: at.microseconds),
                classification = \(bind: status.rawValue),
                classified_at = \(bind: now.microseconds), ack_latency_us = \(bind: latencyMicroseconds)
            WHERE id = \(bind: candidate.id)
            """
        ).run()
        LiveFeed.record(
            .transmission(
                "acknowledged", id: candidate.id, orderID: candidate.orderID, channel: candidate.channel,
                eventType: candidate.eventType,
                classification: status, more: [("ackLatencyMs", .int(latencyMicroseconds / 1_000))]))
    }

    /// Marks a transmission failed because its channel rejected it (the caller keeps the dead letter).
    public static func reject(
        _ candidate: AcknowledgementCandidate, reason: String, now: Timestamp, in db: any SQLDatabase
    ) async throws {
        try await db.raw(
            """
            UPDATE transmissions SET state = 'failed', classification = 'failed',
                classified_at = \(bind: now.microseconds),
                last_error = \(bind: String(reason.prefix(1_000))), lease_owner = NULL, lease_expires_at = NULL
            WHERE id = \(bind: candidate.id)
            """
        ).run()
        LiveFeed.record(
            .transmission(
                "rejected", id: candidate.id, orderID: candidate.orderID, channel: candidate.channel,
                eventType: candidate.eventType,
                classification: .failed, more: [("error", .string(String(reason.prefix(200))))]))
    }

    /// Puts a failed transmission back in the queue (a dead-letter replay), optionally with a corrected body.
    static func requeue(_ id: Int64, payload: String?, at now: Timestamp, in db: any SQLDatabase) async throws {
        let rows = try await db.raw(
            """
            UPDATE transmissions SET state = 'pending', attempts = 0, next_attempt_at = \(bind: now.microseconds),
                lease_owner = NULL,
                lease_expires_at = NULL, payload_override = COALESCE(\(bind: payload), payload_override),
                classification = CASE WHEN ack_deadline < \(bind: now.microseconds) THEN 'delayed' ELSE 'pending' END,
                    classified_at = \(bind: now.microseconds)
            WHERE id = \(bind: id)
            RETURNING order_id, channel, event_type, classification
            """
        ).all()
        for row in rows {
            LiveFeed.record(
                .transmission(
                    "requeued", id: id, orderID: try row.decode(column: "order_id", as: String.self),
                    channel: try row.decode(column: "channel", as: String.self),
                    eventType: try row.decode(column: "event_type", as: String.self),
                    classification: TransmissionStatus(
                        rawValue: try row.decode(column: "classification", as: String.self))))
        }
    }

    /// Every transmission of an order, oldest first.
    public func of(order: OrderID) async throws -> [Transmission] {
        try await database.read { db in
            let ids = try await db.raw("SELECT id FROM transmissions WHERE order_id = \(bind: order.rawValue)").all()
                .map { try $0.decode(column: "id", as: Int64.self) }
            return try await Self.load(ids: ids, in: db).sorted {
                ($0.outboxID, $0.channel) < ($1.outboxID, $1.channel)
            }
        }
    }

    public func attempts(of transmissionID: Int64) async throws -> [TransmissionAttempt] {
        try await database.read { db in
            try await db.raw(
                """
                SELECT attempt, started_at, duration_us, http_status, error, response_excerpt FROM transmission_attempts
                WHERE transmission_id = \(bind: transmissionID) ORDER BY attempt, id
                """
            ).all().map { try $0.decode(TransmissionAttemptRow.self).transmissionAttempt() }
        }
    }

    static func load(ids: [Int64], in db: any SQLDatabase) async throws -> [Transmission] {
        guard !ids.isEmpty else { return [] }
        let rows = try await db.raw(
            """
            SELECT t.id, t.outbox_id, t.event_id, t.event_type, t.channel, t.order_id, t.state, t.attempts,
                t.next_attempt_at,
                   COALESCE(t.payload_override, o.payload) AS payload, t.created_at, t.ack_deadline, t.sent_at,
                       t.acknowledged_at,
                   t.last_status_code, t.last_error, t.classification, t.ack_latency_us
            FROM transmissions t JOIN outbox o ON o.id = t.outbox_id
            WHERE t.id IN (\(binds: ids))
            """
        ).all()
        return try rows.map { try $0.decode(TransmissionRow.self).transmission() }
    }
}

extension FeedEvent {
    /// A change to one transmission: `transmission.<change>`.
    static func transmission(
        _ change: String, id: Int64, orderID: String, channel: String, eventType: String,
        classification: TransmissionStatus?, more: [(String, Value)] = []
    ) -> FeedEvent {
        FeedEvent(
            topic: .transmission, type: "transmission.\(change)", orderID: orderID,
            fields: [
                ("transmissionId", .int(id)), ("channel", .string(channel)), ("eventType", .string(eventType)),
                ("classification", classification.map { .string($0.rawValue) } ?? .null),
            ] + more)
    }

    static func transmission(
        _ change: String, _ t: Transmission, classification: TransmissionStatus? = nil, more: [(String, Value)] = []
    ) -> FeedEvent {
        transmission(
            change, id: t.id, orderID: t.orderID.rawValue, channel: t.channel, eventType: t.eventType,
            classification: classification, more: more)
    }
}

struct TransmissionRow: TableRow {
    static let table = "transmissions"
    var id: Int64
    var outboxId: Int64
    var eventId: String
    var eventType: String
    var channel: String
    var orderId: String
    var state: String
    var attempts: Int
    var nextAttemptAt: Int64
    var payload: String
    var createdAt: Int64
    var ackDeadline: Int64
    var sentAt: Int64?
    var acknowledgedAt: Int64?
    var lastStatusCode: Int?
    var lastError: String?
    var classification: String
    var ackLatencyUs: Int64?

    func transmission() throws -> Transmission {
        Transmission(
            id: id, outboxID: outboxId, eventID: eventId, eventType: eventType, channel: channel,
            orderID: OrderID(orderId),
            state: try Self.parse(state, column: "state"), attempts: attempts, nextAttemptAt: nextAttemptAt.time,
            payload: payload,
            createdAt: createdAt.time, ackDeadline: ackDeadline.time, sentAt: sentAt.time,
            acknowledgedAt: acknowledgedAt.time,
            lastStatusCode: lastStatusCode, lastError: lastError,
            classification: try Self.parse(classification, column: "classification"),
            ackLatencyMicroseconds: ackLatencyUs)
    }
}

struct TransmissionAttemptRow: TableRow {
    static let table = "transmission_attempts"
    var attempt: Int
    var startedAt: Int64
    var durationUs: Int64
    var httpStatus: Int?
    var error: String?
    var responseExcerpt: String?

    func transmissionAttempt() -> TransmissionAttempt {
        TransmissionAttempt(
            attempt: attempt, startedAt: startedAt.time, durationMicroseconds: durationUs, httpStatus: httpStatus,
            error: error,
            responseExcerpt: responseExcerpt)
    }
}
