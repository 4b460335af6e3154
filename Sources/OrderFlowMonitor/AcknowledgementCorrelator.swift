import OrderFlowDomain
import OrderFlowPersistence
import SQLKit

/// Applies acknowledgements from downstream systems: each is matched to a transmission
/// (`AcknowledgementMatcher` decides the order of lookups and what a match means; storage answers
/// the lookups), applied (acknowledged, or failed with a dead letter when the channel rejected
/// it), and recorded with its outcome. Concurrent requests share one transaction through group
/// commit, as orders do at intake: a request whose writes fail is written again alone, so it
/// never fails its neighbours.
public struct AcknowledgementCorrelator: Sendable {
    let database: Database
    let matcher: AcknowledgementMatcher
    let intake: GroupCommit<Request, [AcknowledgementRecord]>

    /// One caller's acknowledgements, with what it may see and when they came.
    struct Request: Sendable {
        var acknowledgements: [IncomingAcknowledgement]
        var scope: OrderScope
        var now: Timestamp
    }

    public init(database: Database, settings: CorrelationSettings = CorrelationSettings()) {
        let matcher = AcknowledgementMatcher(settings: settings)
        self.database = database
        self.matcher = matcher
        intake = database.groupCommit(
            writeBatch: { requests, db in
                var answers: [[AcknowledgementRecord]] = []
                for request in requests { answers.append(try await Self.record(request, matcher: matcher, in: db)) }
                return answers
            },
            writeOne: { request, db in try await Self.record(request, matcher: matcher, in: db) })
    }

    /// Matches, applies and records each acknowledgement. Only transmissions within `scope` are
    /// matched: a caller scoped to some stores cannot acknowledge another store's.
    public func record(_ acknowledgements: [IncomingAcknowledgement], scope: OrderScope, now: Timestamp) async throws
        -> [AcknowledgementRecord]
    {
        try await intake.submit(Request(acknowledgements: acknowledgements, scope: scope, now: now), to: database)
    }

    /// Transactions written so far and the requests they held.
    public var statistics: GroupCommitStatistics { intake.statistics }

    /// One request's acknowledgements, in order, inside the group's transaction: a later one sees
    /// what an earlier one changed (a second acknowledgement of an event is a duplicate).
    static func record(_ request: Request, matcher: AcknowledgementMatcher, in db: any SQLDatabase) async throws
        -> [AcknowledgementRecord]
    {
        let (scope, now) = (request.scope, request.now)
        // Every event ID the request names (most acknowledgements carry ours), looked up in one
        // query, with an empty entry for those that found nothing; an event's entry is dropped once
        // an acknowledgement changed its transmission, so a later one of the same event reads it again.
        let eventIDs = Set(request.acknowledgements.flatMap { [$0.eventID, $0.reference].compactMap { $0 } })
        var known = try await AcknowledgementRepository.candidates(eventIDs: eventIDs, scope: scope, in: db)
        for id in eventIDs where known[id] == nil { known[id] = [] }
        var records: [AcknowledgementRecord] = []
        for ack in request.acknowledgements {
            var record = AcknowledgementRecord(id: 0, acknowledgement: ack, receivedAt: now, outcome: .unmatched)
            let match = try await matcher.match(ack) { lookup in
                if case .eventID(let id) = lookup, let found = known[id] {
                    return found.filter { $0.channel == ack.channel }
                }
                return try await AcknowledgementRepository.candidates(
                    channel: ack.channel, lookup, scope: scope, in: db)
            }
            if case .found(let candidate, _) = match { known[candidate.eventID] = nil }
            switch match {
            case .none:
                record.detail =
                    "no transmission on channel '\(ack.channel)' matches by event ID, order ID, "
                    + "normalised order ID or amount"
            case .ambiguous(let orders):
                record.outcome = .ambiguous
                record.detail = "matches several orders: " + orders.prefix(10).joined(separator: ", ")
            case .found(var candidate, let method):
                if method == .eventID, ack.status == .accepted, candidate.acknowledgedAt != nil,
                    try await yieldFuzzyMatch(of: candidate, to: ack, matcher: matcher, scope: scope, now: now, in: db)
                {
                    // Its own acknowledgement takes it back (at this one's time). Another
                    // transmission changed too: what was looked up before is read again.
                    candidate.acknowledgedAt = nil
                    known = [:]
                }
                record.transmissionID = candidate.id
                record.orderID = OrderID(candidate.orderID)
                record.method = method
                record.confidence = method.confidence
                let decision = matcher.decide(ack, for: candidate, checkAmount: method != .amountWindow, now: now)
                try await apply(decision, to: candidate, recordingIn: &record, now: now, in: db)
            }
            record.id = try await AcknowledgementRepository.insert(record, in: db)
            records.append(record)
        }
        return records
    }

    /// An acknowledgement that names its event outranks one that named only the order (or an
    /// amount): when an order's acknowledgements arrive out of order, one by order reference may
    /// have taken the oldest waiting transmission, which is this event's. That one moves to the
    /// order's oldest transmission still waiting on the channel, acknowledged at its own time, and
    /// returns true; with none waiting, nothing moves and this one is a duplicate as before.
    static func yieldFuzzyMatch(
        of candidate: AcknowledgementCandidate, to ack: IncomingAcknowledgement, matcher: AcknowledgementMatcher,
        scope: OrderScope, now: Timestamp, in db: any SQLDatabase
    ) async throws -> Bool {
        guard let holder = try await AcknowledgementRepository.fuzzyHolder(of: candidate.id, in: db),
            let next = try await AcknowledgementRepository.candidates(
                channel: candidate.channel, .orderID(candidate.orderID), scope: scope, in: db
            ).first(where: { $0.id != candidate.id && $0.acknowledgedAt == nil && $0.state != .failed })
        else { return false }
        var moved = holder
        let decision = matcher.decide(holder.acknowledgement, for: next, checkAmount: false, now: now)
        guard case .accept = decision else { return false }
        try await apply(decision, to: next, recordingIn: &moved, now: now, in: db)
        try await AcknowledgementRepository.move(
            holder.id, to: next.id,
            detail: "moved from \(candidate.eventID) (\(candidate.eventType)), which its own acknowledgement named",
            in: db)
        return true
    }

    /// Links an unmatched, ambiguous or contradicting acknowledgement to a transmission (within
    /// `scope`) by hand, and applies it; `audit` commits with it.
    public func link(
        _ id: Int64, to transmissionID: Int64, scope: OrderScope, by actor: String, now: Timestamp, audit: AuditEntry
    ) async throws -> AcknowledgementRecord {
        try await database.transaction { db in
            guard var record = try await AcknowledgementRepository.find(id, in: db) else {
                throw AcknowledgementError.notFound(id)
            }
            guard record.outcome.needsAttention else { throw AcknowledgementError.notLinkable(record.outcome) }
            guard let candidate = try await AcknowledgementRepository.candidate(transmissionID, scope: scope, in: db)
            else {
                throw AcknowledgementError.transmissionNotFound(transmissionID)
            }
            guard candidate.channel == record.acknowledgement.channel else {
                throw AcknowledgementError.channelMismatch(
                    acknowledgement: record.acknowledgement.channel, transmission: candidate.channel)
            }
            let decision = matcher.decide(record.acknowledgement, for: candidate, checkAmount: false, now: now)
            try await Self.apply(decision, to: candidate, recordingIn: &record, now: now, in: db)
            record.transmissionID = candidate.id
            record.orderID = OrderID(candidate.orderID)
            record.method = .manual
            record.confidence = 1
            if record.outcome == .matched { record.outcome = .linked }
            record.linkedBy = actor
            record.linkedAt = now
            try await AcknowledgementRepository.saveLink(record, in: db)
            try await AuditRepository.append(audit, into: db)
            return record
        }
    }

    /// Carries out a decision: an accepted acknowledgement acknowledges the transmission; a
    /// rejection fails it and keeps what was sent as a dead letter someone can replay.
    static func apply(
        _ decision: AcknowledgementDecision, to candidate: AcknowledgementCandidate,
        recordingIn record: inout AcknowledgementRecord,
        now: Timestamp, in db: any SQLDatabase
    ) async throws {
        record.apply(decision, to: candidate)
        switch decision {
        case .accept(let at, let latency, let status):
            try await TransmissionRepository.acknowledge(
                candidate, at: at, latencyMicroseconds: latency, status: status, now: now, in: db)
        case .reject(let reason):
            try await TransmissionRepository.reject(candidate, reason: reason, now: now, in: db)
            try await DeadLetterRepository.insert(
                DeadLetter.New(
                    source: .transmission, sourceID: candidate.id, orderID: OrderID(candidate.orderID),
                    channel: candidate.channel,
                    eventID: candidate.eventID, kind: candidate.eventType, payload: candidate.payload, error: reason,
                    attempts: candidate.attempts),
                at: now, in: db)
        case .contradiction, .duplicate:
            break
        }
    }
}
