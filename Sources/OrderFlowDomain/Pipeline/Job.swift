import Foundation

/// Work to do later, durably: a pipeline step, a compensation, a notification.
public struct NewJob: Sendable, Hashable {
    public var kind: String
    public var orderID: OrderID?
    /// At most one job with this key exists at a time (a second enqueue is ignored).
    public var dedupeKey: String?
    /// JSON.
    public var payload: String
    public var maxAttempts: Int
    public var runAt: Timestamp

    public init(
        kind: String, orderID: OrderID?, dedupeKey: String?, payload: String = "{}", maxAttempts: Int = 8,
        runAt: Timestamp
    ) {
        self.kind = kind
        self.orderID = orderID
        self.dedupeKey = dedupeKey
        self.payload = payload
        self.maxAttempts = maxAttempts
        self.runAt = runAt
    }
}

/// A claimed job: its lease belongs to `leaseOwner` until `leaseExpiresAt`.
public struct Job: Sendable, Hashable {
    public var id: Int64
    public var kind: String
    public var orderID: OrderID?
    public var dedupeKey: String?
    public var payload: String
    /// 1 on the first run.
    public var attempt: Int
    public var maxAttempts: Int
    public var runAt: Timestamp
    public var leaseOwner: String?
    public var leaseExpiresAt: Timestamp?
    public var lastError: String?
    public var createdAt: Timestamp

    public init(
        id: Int64, kind: String, orderID: OrderID? = nil, dedupeKey: String? = nil, payload: String, attempt: Int,
        maxAttempts: Int, runAt: Timestamp, leaseOwner: String? = nil, leaseExpiresAt: Timestamp? = nil,
        lastError: String? = nil, createdAt: Timestamp
    ) {
        self.id = id
        self.kind = kind
        self.orderID = orderID
        self.dedupeKey = dedupeKey
        self.payload = payload
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.runAt = runAt
        self.leaseOwner = leaseOwner
        self.leaseExpiresAt = leaseExpiresAt
        self.lastError = lastError
        self.createdAt = createdAt
    }
}
