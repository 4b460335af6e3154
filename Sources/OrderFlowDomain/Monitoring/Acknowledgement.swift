import Foundation

/// An acknowledgement a downstream system sent back for one of our messages.
public struct IncomingAcknowledgement: Sendable, Hashable {
    public enum Status: String, Sendable, CaseIterable { case accepted, rejected }

    public var channel: String
    /// Their reference for the message (their ID, or our event ID echoed back).
    public var reference: String
    public var status: Status
    /// When they processed it, by their clock.
    public var occurredAt: Timestamp
    public var eventID: String?
    /// The order ID as they wrote it (any case, spacing, prefixes, leading zeros).
    public var orderID: String?
    public var amount: Money?
    /// Why they rejected it.
    public var reason: String?

    public init(
        channel: String, reference: String, status: Status, occurredAt: Timestamp, eventID: String? = nil,
        orderID: String? = nil, amount: Money? = nil, reason: String? = nil
    ) {
        self.channel = channel
        self.reference = reference
        self.status = status
        self.occurredAt = occurredAt
        self.eventID = eventID
        self.orderID = orderID
        self.amount = amount
        self.reason = reason
    }
}

/// A stored acknowledgement and what became of it.
public struct AcknowledgementRecord: Sendable, Hashable {
    public enum Outcome: String, Sendable, CaseIterable {
        /// Matched, and applied to the transmission.
        case matched
        /// Matches nothing we sent on that channel.
        case unmatched
        /// Matches several orders equally well; not applied.
        case ambiguous
        /// The transmission was already acknowledged the same way.
        case duplicate
        /// Says something else than what we know (another status, another amount); not applied.
        case contradiction
        /// Linked to a transmission by a person.
        case linked

        /// Listed as an inconsistency for a person to look at.
        public var needsAttention: Bool { self == .unmatched || self == .ambiguous || self == .contradiction }
    }

    public enum Method: String, Sendable, CaseIterable {
        case eventID = "event_id"
        case orderID = "order_id"
        case normalizedOrderID = "normalized_order_id"
        case amountWindow = "amount_window"
        case manual

        /// How sure a match by this method is.
        public var confidence: Double {
            switch self {
            case .eventID, .manual: 1.0
            case .orderID: 0.9
            case .normalizedOrderID: 0.75
            case .amountWindow: 0.5
            }
        }
    }

    public var id: Int64
    public var acknowledgement: IncomingAcknowledgement
    public var receivedAt: Timestamp
    public var outcome: Outcome
    public var transmissionID: Int64?
    /// The order of the matched transmission.
    public var orderID: OrderID?
    public var method: Method?
    public var confidence: Double?
    /// What a person needs to know: the candidates of an ambiguous match, what contradicts.
    public var detail: String?
    /// The transmission's classification after this acknowledgement.
    public var classification: TransmissionStatus?
    public var linkedBy: String?
    public var linkedAt: Timestamp?
    /// Event → acknowledgement, for an acknowledgement that was just applied.
    public var latencySeconds: Double?

    public init(
        id: Int64, acknowledgement: IncomingAcknowledgement, receivedAt: Timestamp, outcome: Outcome,
        transmissionID: Int64? = nil, orderID: OrderID? = nil, method: Method? = nil, confidence: Double? = nil,
        detail: String? = nil, classification: TransmissionStatus? = nil, linkedBy: String? = nil,
        linkedAt: Timestamp? = nil, latencySeconds: Double? = nil
    ) {
        self.id = id
        self.acknowledgement = acknowledgement
        self.receivedAt = receivedAt
        self.outcome = outcome
        self.transmissionID = transmissionID
        self.orderID = orderID
        self.method = method
        self.confidence = confidence
        self.detail = detail
        self.classification = classification
        self.linkedBy = linkedBy
        self.linkedAt = linkedAt
        self.latencySeconds = latencySeconds
    }
}

/// How acknowledgements are matched to transmissions.
public struct CorrelationSettings: Sendable, Hashable {
    public var normalizer = OrderReferenceNormalizer()
    /// For matching by amount: how far apart (either way) the event and the acknowledgement may be.
    public var amountWindowSeconds: Double = 600

    public init() {}
}

public enum AcknowledgementError: Error, Equatable {
    case notFound(Int64)
    case transmissionNotFound(Int64)
    /// Only unmatched, ambiguous or contradicting acknowledgements are linked by hand.
    case notLinkable(AcknowledgementRecord.Outcome)
    case channelMismatch(acknowledgement: String, transmission: String)
}
