import Foundation

/// Work that failed for good: a job out of attempts, or a transmission a channel refused or never
/// took. Kept until someone replays or discards it.
public struct DeadLetter: Sendable, Hashable {
    public enum Source: String, Sendable { case job, transmission }
    public enum State: String, Sendable, CaseIterable { case open, replayed, discarded }

    public var id: Int64
    public var source: Source
    public var sourceID: Int64
    public var orderID: OrderID?
    public var channel: String?
    public var eventID: String?
    /// The job kind or the event type.
    public var kind: String
    public var payload: String
    public var error: String
    public var attempts: Int
    public var state: State
    public var createdAt: Timestamp
    public var resolvedAt: Timestamp?
    public var resolvedBy: String?
    public var note: String?

    public struct New: Sendable {
        public var source: Source
        public var sourceID: Int64
        public var orderID: OrderID?
        public var channel: String?
        public var eventID: String?
        public var kind: String
        public var payload: String
        public var error: String
        public var attempts: Int

        public init(
            source: Source, sourceID: Int64, orderID: OrderID?, channel: String?, eventID: String?, kind: String,
            payload: String, error: String, attempts: Int
        ) {
            self.source = source
            self.sourceID = sourceID
            self.orderID = orderID
            self.channel = channel
            self.eventID = eventID
            self.kind = kind
            self.payload = payload
            self.error = error
            self.attempts = attempts
        }
    }

    public init(
        id: Int64, source: Source, sourceID: Int64, orderID: OrderID? = nil, channel: String? = nil,
        eventID: String? = nil, kind: String, payload: String, error: String, attempts: Int, state: State,
        createdAt: Timestamp, resolvedAt: Timestamp? = nil, resolvedBy: String? = nil, note: String? = nil
    ) {
        self.id = id
        self.source = source
        self.sourceID = sourceID
        self.orderID = orderID
        self.channel = channel
        self.eventID = eventID
        self.kind = kind
        self.payload = payload
        self.error = error
        self.attempts = attempts
        self.state = state
        self.createdAt = createdAt
        self.resolvedAt = resolvedAt
        self.resolvedBy = resolvedBy
        self.note = note
    }
}

public struct DeadLetterQuery: Sendable {
    public var state: DeadLetter.State?
    public var source: DeadLetter.Source?
    public var channel: String?
    public var orderID: OrderID?
    /// The job or transmission that failed (with `source`).
    public var sourceID: Int64?
    public var from: Timestamp?
    public var to: Timestamp?
    public var limit = 50
    public var beforeID: Int64?
    /// Dead letters of orders within this scope only (services set it from the caller).
    public var scope: OrderScope = .everything
    public init() {}
}
