import Foundation

/// One order event on its way to one downstream channel.
public struct Transmission: Sendable, Hashable {
    public enum State: String, Sendable, CaseIterable {
        /// Not yet taken by the channel (never sent, or being retried).
        case pending
        /// Taken (2xx) by a channel that acknowledges later, by callback.
        case sent
        /// Acknowledged: by the 2xx itself (sync channels) or by a callback.
        case acknowledged
        /// Refused for good or out of retries; a dead letter holds it.
        case failed
    }

    public var id: Int64
    public var outboxID: Int64
    public var eventID: String
    public var eventType: String
    public var channel: String
    public var orderID: OrderID
    public var state: State
    public var attempts: Int
    public var nextAttemptAt: Timestamp
    /// The body to send: the outbox event, or a corrected one from a dead-letter replay.
    public var payload: String
    public var createdAt: Timestamp
    public var ackDeadline: Timestamp
    public var sentAt: Timestamp?
    public var acknowledgedAt: Timestamp?
    public var lastStatusCode: Int?
    public var lastError: String?
    public var classification: TransmissionStatus
    /// Event → acknowledgement, once acknowledged.
    public var ackLatencyMicroseconds: Int64?

    public init(
        id: Int64, outboxID: Int64, eventID: String, eventType: String, channel: String, orderID: OrderID, state: State,
        attempts: Int, nextAttemptAt: Timestamp, payload: String, createdAt: Timestamp, ackDeadline: Timestamp,
        sentAt: Timestamp? = nil, acknowledgedAt: Timestamp? = nil, lastStatusCode: Int? = nil,
        lastError: String? = nil, classification: TransmissionStatus, ackLatencyMicroseconds: Int64? = nil
    ) {
        self.id = id
        self.outboxID = outboxID
        self.eventID = eventID
        self.eventType = eventType
        self.channel = channel
        self.orderID = orderID
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.payload = payload
        self.createdAt = createdAt
        self.ackDeadline = ackDeadline
        self.sentAt = sentAt
        self.acknowledgedAt = acknowledgedAt
        self.lastStatusCode = lastStatusCode
        self.lastError = lastError
        self.classification = classification
        self.ackLatencyMicroseconds = ackLatencyMicroseconds
    }
}

public struct TransmissionAttempt: Sendable, Hashable {
    public var attempt: Int
    public var startedAt: Timestamp
    public var durationMicroseconds: Int64
    public var httpStatus: Int?
    public var error: String?
    public var responseExcerpt: String?

    public init(
        attempt: Int, startedAt: Timestamp, durationMicroseconds: Int64, httpStatus: Int?, error: String?,
        responseExcerpt: String?
    ) {
        self.attempt = attempt
        self.startedAt = startedAt
        self.durationMicroseconds = durationMicroseconds
        self.httpStatus = httpStatus
        self.error = error
        self.responseExcerpt = responseExcerpt
    }
}

/// A transmission with every attempt to deliver it.
public struct TransmissionHistory: Sendable, Hashable {
    public var transmission: Transmission
    public var attempts: [TransmissionAttempt]

    public init(transmission: Transmission, attempts: [TransmissionAttempt]) {
        self.transmission = transmission
        self.attempts = attempts
    }
}

/// An order's whole way: its status history, its events, every transmission of them with every
/// attempt, and the acknowledgements that came back and how each was matched.
public struct OrderTrace: Sendable, Hashable {
    public var order: StoredOrder
    public var events: [OutboxEvent]
    public var transmissions: [TransmissionHistory]
    public var acknowledgements: [AcknowledgementRecord]

    public init(
        order: StoredOrder, events: [OutboxEvent], transmissions: [TransmissionHistory],
        acknowledgements: [AcknowledgementRecord]
    ) {
        self.order = order
        self.events = events
        self.transmissions = transmissions
        self.acknowledgements = acknowledgements
    }
}
