/// A transmission an acknowledgement may be about, as storage found it.
public struct AcknowledgementCandidate: Sendable, Hashable {
    public var id: Int64
    public var orderID: String
    public var channel: String
    public var eventID: String
    public var eventType: String
    public var state: Transmission.State
    public var classification: TransmissionStatus
    public var createdAt: Timestamp
    public var deadline: Timestamp
    public var acknowledgedAt: Timestamp?
    /// The order's total, for matching by amount and for checking a stated amount.
    public var orderTotal: Money?
    /// The body that was sent, kept in the dead letter when the channel rejects it.
    public var payload: String
    public var attempts: Int

    public init(
        id: Int64, orderID: String, channel: String, eventID: String, eventType: String, state: Transmission.State,
        classification: TransmissionStatus, createdAt: Timestamp, deadline: Timestamp, acknowledgedAt: Timestamp?,
        orderTotal: Money?,
        payload: String, attempts: Int
    ) {
        self.id = id
        self.orderID = orderID
        self.channel = channel
        self.eventID = eventID
        self.eventType = eventType
        self.state = state
        self.classification = classification
        self.createdAt = createdAt
        self.deadline = deadline
        self.acknowledgedAt = acknowledgedAt
        self.orderTotal = orderTotal
        self.payload = payload
        self.attempts = attempts
    }
}

/// One way of looking for an acknowledgement's transmissions on its channel.
public enum AcknowledgementLookup: Sendable, Hashable {
    /// The event ID we sent (or their reference, when they echo it).
    case eventID(String)
    /// The order ID exactly as we wrote it.
    case orderID(String)
    /// The order ID normalised (`OrderReferenceNormalizer`).
    case orderKey(String)
    /// Waiting transmissions of orders of this total, created within `seconds` of `around`.
    case amount(Money, around: Timestamp, seconds: Double)
}

public enum AcknowledgementMatch: Sendable, Hashable {
    case none
    /// Several orders match equally well; their IDs.
    case ambiguous([String])
    case found(AcknowledgementCandidate, AcknowledgementRecord.Method)
}

/// What applying an acknowledgement to its transmission comes to.
public enum AcknowledgementDecision: Sendable, Hashable {
    /// It says something else than what we know: nothing changes.
    case contradiction(String)
    /// The transmission was settled the same way already: nothing changes.
    case duplicate(String)
    /// Acknowledged at `at` (their clock, kept between our send and now), classified.
    case accept(at: Timestamp, latencyMicroseconds: Int64, classification: TransmissionStatus)
    /// Refused by the channel: the transmission fails and goes to the dead letters.
    case reject(reason: String)
}

/// Matches acknowledgements to transmissions and decides what each one means. The order of the
/// ways tried is the seed's: event ID → order ID → normalised order ID → amount, channel and time
/// window; storage only answers each lookup.
public struct AcknowledgementMatcher: Sendable {
    public var settings: CorrelationSettings

    public init(settings: CorrelationSettings = CorrelationSettings()) {
        self.settings = settings
    }

    /// Tries each way in turn; `candidates` answers one lookup on the acknowledgement's channel.
    public func match(
        _ ack: IncomingAcknowledgement, candidates: (AcknowledgementLookup) async throws -> [AcknowledgementCandidate]
    ) async throws -> AcknowledgementMatch {
        for eventID in [ack.eventID, ack.reference].compactMap({ $0 }) {
            if let found = try await candidates(.eventID(eventID)).first { return .found(found, .eventID) }
        }
        if let orderID = ack.orderID, let found = Self.next(try await candidates(.orderID(orderID))) {
            return .found(found, .orderID)
        }
        let key = settings.normalizer.normalize(ack.orderID ?? ack.reference)
        if !key.isEmpty {
            let byKey = try await candidates(.orderKey(key))
            let orders = Set(byKey.map(\.orderID))
            if orders.count > 1 { return .ambiguous(orders.sorted()) }
            if let found = Self.next(byKey) { return .found(found, .normalizedOrderID) }
        }
        if let amount = ack.amount {
            let byAmount = try await candidates(
                .amount(amount, around: ack.occurredAt, seconds: settings.amountWindowSeconds))
            let orders = Set(byAmount.map(\.orderID))
            if orders.count > 1 { return .ambiguous(orders.sorted()) }
            if let found = Self.next(byAmount) { return .found(found, .amountWindow) }
        }
        return .none
    }

    /// Of one order's transmissions on a channel (oldest first): the oldest still waiting for an
    /// acknowledgement, or else the newest (so a repeat is recognised as a duplicate).
    static func next(_ candidates: [AcknowledgementCandidate]) -> AcknowledgementCandidate? {
        candidates.first { $0.acknowledgedAt == nil && $0.state != .failed } ?? candidates.last
    }

    /// What `ack` means for `candidate`: a stated amount that differs from the order's total
    /// contradicts (unless the match was by amount), a transmission settled already makes it a
    /// duplicate or a contradiction, otherwise it is accepted or rejected as it says.
    public func decide(
        _ ack: IncomingAcknowledgement, for candidate: AcknowledgementCandidate, checkAmount: Bool, now: Timestamp
    ) -> AcknowledgementDecision {
        if checkAmount, let amount = ack.amount, let total = candidate.orderTotal, amount != total {
            return .contradiction("amount \(amount) differs from the order total \(total)")
        }
        let prior: IncomingAcknowledgement.Status? =
            candidate.acknowledgedAt != nil ? .accepted : (candidate.state == .failed ? .rejected : nil)
        if let prior {
            let settled = prior == .accepted ? "acknowledged" : "failed"
            return prior == ack.status
                ? .duplicate("already \(settled)")
                : .contradiction("the transmission is already \(settled); this says \(ack.status.rawValue)")
        }
        switch ack.status {
        case .accepted:
            let at = min(max(ack.occurredAt, candidate.createdAt), now)
            let status = TransmissionStatus.classify(
                deadline: candidate.deadline, acknowledgedAt: at, failed: false, now: now)
            return .accept(
                at: at, latencyMicroseconds: at.microseconds - candidate.createdAt.microseconds, classification: status)
        case .rejected:
            return .reject(reason: "rejected by \(candidate.channel): \(ack.reason ?? "no reason given")")
        }
    }
}

extension AcknowledgementRecord {
    /// Sets what `decision` means for this record: outcome, detail, classification and latency.
    /// `candidate` is the transmission it was applied to.
    public mutating func apply(_ decision: AcknowledgementDecision, to candidate: AcknowledgementCandidate) {
        classification = candidate.classification
        switch decision {
        case .contradiction(let why):
            (outcome, detail) = (.contradiction, why)
        case .duplicate(let why):
            (outcome, detail) = (.duplicate, why)
        case .accept(_, let latency, let status):
            (outcome, classification, latencySeconds, detail) = (.matched, status, Double(latency) / 1_000_000, nil)
        case .reject(let reason):
            (outcome, classification, detail) = (.matched, .failed, reason)
        }
    }
}
