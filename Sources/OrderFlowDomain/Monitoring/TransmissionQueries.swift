import Foundation

/// Which transmissions a monitoring query looks at: created in [from, to), of orders within
/// `scope`, optionally one channel, one classification, one order type, one order.
public struct TransmissionFilter: Sendable, Hashable {
    public var from: Timestamp
    public var to: Timestamp
    public var channel: String?
    public var status: TransmissionStatus?
    public var orderType: OrderType?
    public var orderID: OrderID?
    /// Only those whose last attempt went wrong and that are not settled: failed, or pending or
    /// delayed while being retried.
    public var withErrorsOnly = false
    /// The caller's part of the order book (services set it; everything for the system itself).
    public var scope: OrderScope = .everything

    public init(
        from: Timestamp, to: Timestamp, channel: String? = nil, status: TransmissionStatus? = nil,
        orderType: OrderType? = nil,
        orderID: OrderID? = nil
    ) {
        self.from = from
        self.to = to
        self.channel = channel
        self.status = status
        self.orderType = orderType
        self.orderID = orderID
    }
}

/// Transmissions that share a channel, a last HTTP status and a last error.
public struct ErrorGroup: Sendable, Hashable {
    public var channel: String
    public var statusCode: Int?
    public var error: String?
    public var count: Int

    public init(channel: String, statusCode: Int?, error: String?, count: Int) {
        self.channel = channel
        self.statusCode = statusCode
        self.error = error
        self.count = count
    }
}

/// Counts, ratios, latency percentiles and a per-minute series over a window.
public struct MonitoringSummary: Sendable, Hashable {
    public var from: Timestamp
    public var to: Timestamp
    public var counts: [TransmissionStatus: Int]
    public var byChannel: [String: [TransmissionStatus: Int]]
    public var total: Int
    /// Of the decided (everything but pending): acknowledged (late or not) ÷ decided.
    public var successRate: Double?
    public var failedRatio: Double?
    /// Delayed now or acknowledged late ÷ decided.
    public var delayedRatio: Double?
    /// Event → acknowledgement, seconds.
    public var latencyP50: Double?
    public var latencyP95: Double?
    public var latencyP99: Double?
    public var series: [Minute]

    public struct Minute: Sendable, Hashable {
        public var start: Timestamp
        public var counts: [TransmissionStatus: Int]

        public init(start: Timestamp, counts: [TransmissionStatus: Int]) {
            self.start = start
            self.counts = counts
        }
    }

    public static func ratios(_ counts: [TransmissionStatus: Int]) -> (
        success: Double?, failed: Double?, delayed: Double?
    ) {
        let decided = counts.filter { $0.key != .pending }.values.reduce(0, +)
        guard decided > 0 else { return (nil, nil, nil) }
        let d = Double(decided)
        return (
            Double(counts.filter { $0.key.isSuccess }.values.reduce(0, +)) / d,
            Double(counts[.failed, default: 0]) / d,
            Double(counts.filter { $0.key.wasDelayed }.values.reduce(0, +)) / d
        )
    }

    public init(
        from: Timestamp, to: Timestamp, counts: [TransmissionStatus: Int],
        byChannel: [String: [TransmissionStatus: Int]], total: Int, successRate: Double? = nil,
        failedRatio: Double? = nil, delayedRatio: Double? = nil, latencyP50: Double? = nil, latencyP95: Double? = nil,
        latencyP99: Double? = nil, series: [Minute]
    ) {
        self.from = from
        self.to = to
        self.counts = counts
        self.byChannel = byChannel
        self.total = total
        self.successRate = successRate
        self.failedRatio = failedRatio
        self.delayedRatio = delayedRatio
        self.latencyP50 = latencyP50
        self.latencyP95 = latencyP95
        self.latencyP99 = latencyP99
        self.series = series
    }
}

/// A transmission with its order's type, for lists.
public struct TransmissionListItem: Sendable, Hashable {
    public var transmission: Transmission
    public var orderType: OrderType?

    public init(transmission: Transmission, orderType: OrderType? = nil) {
        self.transmission = transmission
        self.orderType = orderType
    }
}

/// One downstream channel's state, from the database.
public struct ChannelActivity: Sendable, Hashable {
    public var channel: String
    public var lastSuccessAt: Timestamp?
    public var lastAttemptAt: Timestamp?
    public var attempts: Int
    public var failedAttempts: Int
    public var pending: Int
    public var delayed: Int

    public init(
        channel: String, lastSuccessAt: Timestamp? = nil, lastAttemptAt: Timestamp? = nil, attempts: Int,
        failedAttempts: Int, pending: Int, delayed: Int
    ) {
        self.channel = channel
        self.lastSuccessAt = lastSuccessAt
        self.lastAttemptAt = lastAttemptAt
        self.attempts = attempts
        self.failedAttempts = failedAttempts
        self.pending = pending
        self.delayed = delayed
    }
}

/// An order as seed 001's `/api/v1/monitor/recent` lists it.
public struct RecentOrder: Sendable, Hashable {
    public var orderID: OrderID
    public var customerID: String?
    public var customerName: String
    public var status: OrderStatus
    public var orderType: String
    public var total: Money
    public var updatedAt: Timestamp
    public var itemName: String?
    public var itemDetail: String?

    public init(
        orderID: OrderID, customerID: String? = nil, customerName: String, status: OrderStatus, orderType: String,
        total: Money, updatedAt: Timestamp, itemName: String? = nil, itemDetail: String? = nil
    ) {
        self.orderID = orderID
        self.customerID = customerID
        self.customerName = customerName
        self.status = status
        self.orderType = orderType
        self.total = total
        self.updatedAt = updatedAt
        self.itemName = itemName
        self.itemDetail = itemDetail
    }
}
