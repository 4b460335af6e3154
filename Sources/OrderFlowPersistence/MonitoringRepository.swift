import Foundation
import OrderFlowDomain
import SQLKit

/// Read-side queries for monitoring: summaries, transmission search, channel activity, rule
/// measurements and seed 001's recent-orders view. Queries that take a `TransmissionFilter` or a
/// scope see only the transmissions of orders within it.
public struct MonitoringRepository: Sendable {
    public let database: Database

    public init(database: Database) { self.database = database }

    public func summary(_ filter: TransmissionFilter) async throws -> MonitoringSummary {
        try await database.read { db in
            let byChannel = try await Self.classificationCounts(filter, in: db)
            var counts: [TransmissionStatus: Int] = [:]
            for perChannel in byChannel.values { counts.merge(perChannel, uniquingKeysWith: +) }
            let percentiles = try await Self.latencyPercentiles(filter, slices: 1, at: [0.5, 0.95, 0.99], in: db)[0]
            var minutes: [Int64: [TransmissionStatus: Int]] = [:]
            for row in try await db.raw(
                """
                SELECT t.created_at / 60000000 AS minute, t.classification,
                    COUNT(*) AS n FROM transmissions t \(filter.join)
                WHERE \(filter.condition) GROUP BY t.created_at / 60000000, t.classification
                """
            ).all() {
                let count = try row.decode(MinuteCountRow.self)
                minutes[count.minute, default: [:]][
                    try MinuteCountRow.parse(count.classification, column: "classification")] = count.n
            }
            // Every minute of the window, empty ones included, so a chart has no gaps (at most a day of them).
            let first = filter.from.microseconds / 60_000_000
            let last = max(first, (filter.to.microseconds - 1) / 60_000_000)
            let series = (max(first, last - 1_439)...last).map {
                MonitoringSummary.Minute(start: Timestamp(microseconds: $0 * 60_000_000), counts: minutes[$0] ?? [:])
            }
            let ratios = MonitoringSummary.ratios(counts)
            return MonitoringSummary(
                from: filter.from, to: filter.to, counts: counts, byChannel: byChannel,
                total: counts.values.reduce(0, +),
                successRate: ratios.success, failedRatio: ratios.failed, delayedRatio: ratios.delayed,
                latencyP50: percentiles[0], latencyP95: percentiles[1], latencyP99: percentiles[2], series: series)
        }
    }

    /// Transmissions matching `filter`, per channel and classification.
    static func classificationCounts(_ filter: TransmissionFilter, in db: any SQLDatabase) async throws -> [String:
        [TransmissionStatus: Int]]
    {
        var byChannel: [String: [TransmissionStatus: Int]] = [:]
        for row in try await db.raw(
            """
            SELECT t.channel, t.classification, COUNT(*) AS n FROM transmissions t \(filter.join)
            WHERE \(filter.condition) GROUP BY t.channel, t.classification
            """
        ).all() {
            let count = try row.decode(ChannelCountRow.self)
            byChannel[count.channel, default: [:]][
                try ChannelCountRow.parse(count.classification, column: "classification"), default: 0] += count.n
        }
        return byChannel
    }

    /// Acknowledgement latency percentiles, in seconds, in `slices` equal slices of the filter's
    /// window (nil where a slice has none): one query counts each slice, a second reads only the
    /// values at the wanted ranks, whatever the number of slices and transmissions.
    public func latencyPercentiles(_ filter: TransmissionFilter, slices: Int, at qs: [Double]) async throws
        -> [[Double?]]
    {
        try await database.read { db in try await Self.latencyPercentiles(filter, slices: slices, at: qs, in: db) }
    }

    /// The same, inside a caller's read (a summary is one slice).
    static func latencyPercentiles(_ filter: TransmissionFilter, slices: Int, at qs: [Double], in db: any SQLDatabase)
        async throws -> [[Double?]]
    {
        let slices = max(1, slices)
        let width = max(1, (filter.to.microseconds - filter.from.microseconds) / Int64(slices))
        let end = filter.from.microseconds + width * Int64(slices)
        let values: SQLQueryString = """
            SELECT (t.created_at - \(bind: filter.from.microseconds)) / \(bind: width) AS slice, t.ack_latency_us AS v
            FROM transmissions t \(filter.join)
            WHERE \(filter.condition) AND t.created_at < \(bind: end) AND t.ack_latency_us IS NOT NULL
            """
        return try await percentiles(of: values, slices: slices, at: qs, in: db).map {
            $0.map { $0.map { $0 / 1_000_000 } }
        }
    }

    /// Nearest-rank percentiles of the values `v` of `values` (an SQL query with a `slice`
    /// column, 0 ..< `slices`), exact, without loading the values: a count per slice, then only
    /// the rows at the wanted ranks.
    static func percentiles(of values: SQLQueryString, slices: Int, at qs: [Double], in db: any SQLDatabase)
        async throws -> [[Double?]]
    {
        // slice → rank → which of `qs` it answers
        var wanted: [Int: [Int: [Int]]] = [:]
        for row in try await db.raw("SELECT slice, COUNT(*) AS n FROM (\(values)) s GROUP BY slice").all() {
            let count = try row.decode(SliceCountRow.self)
            for (index, q) in qs.enumerated() {
                if let rank = Percentile.rank(q, of: count.n) {
                    wanted[count.slice, default: [:]][rank, default: []].append(index)
                }
            }
        }
        var result = [[Double?]](repeating: [Double?](repeating: nil, count: qs.count), count: slices)
        guard !wanted.isEmpty else { return result }
        var picked: SQLQueryString = "1 = 0"
        for (slice, ranks) in wanted {
            picked = picked + " OR (slice = \(bind: slice) AND rn IN (\(binds: Array(ranks.keys))))"
        }
        for row in try await db.raw(
            """
            SELECT slice, v, rn FROM (SELECT slice, v,
                ROW_NUMBER() OVER (PARTITION BY slice ORDER BY v) AS rn FROM (\(values)) s) r
            WHERE \(picked)
            """
        ).all() {
            let ranked = try row.decode(RankedValueRow.self)
            for index in wanted[ranked.slice]?[ranked.rn] ?? [] where ranked.slice < slices {
                result[ranked.slice][index] = Double(ranked.v)
            }
        }
        return result
    }

    /// Transmissions matching `filter`, counted by channel, last HTTP status and last error (the
    /// `limit` largest groups), and how many there are in all.
    public func errorGroups(_ filter: TransmissionFilter, limit: Int = 500) async throws -> (
        groups: [ErrorGroup], total: Int
    ) {
        try await database.read { db in
            let groups = try await db.raw(
                """
                SELECT t.channel, t.last_status_code, t.last_error, COUNT(*) AS n FROM transmissions t \(filter.join)
                WHERE \(filter.condition) GROUP BY t.channel, t.last_status_code,
                    t.last_error ORDER BY n DESC LIMIT \(bind: limit)
                """
            ).all().map { try $0.decode(ErrorGroupRow.self).group }
            let total =
                try await db.raw("SELECT COUNT(*) AS n FROM transmissions t \(filter.join) WHERE \(filter.condition)")
                .first()?
                .decode(CountRow.self).n ?? 0
            return (groups, total)
        }
    }

    /// Newest first, `limit` at a time; `beforeID` continues a previous page.
    public func transmissions(
        _ filter: TransmissionFilter, beforeID: Int64?, limit: Int
    ) async throws -> (items: [TransmissionListItem], nextBeforeID: Int64?) {
        try await database.read { db in
            var condition = filter.condition
            if let beforeID { condition = condition + " AND t.id < \(bind: beforeID)" }
            let rows = try await db.raw(
                """
                SELECT t.id, o.order_type FROM transmissions t LEFT JOIN orders o ON o.order_id = t.order_id
                WHERE \(condition) ORDER BY t.id DESC LIMIT \(bind: limit + 1)
                """
            ).all().map { try $0.decode(OrderTypeRow.self) }
            let ids = rows.prefix(limit).map(\.id)
            let types = Dictionary(
                uniqueKeysWithValues: rows.map { ($0.id, $0.orderType.flatMap(OrderType.init(rawValue:))) })
            let loaded = try await TransmissionRepository.load(ids: ids, in: db).sorted { $0.id > $1.id }
            return (
                loaded.map { TransmissionListItem(transmission: $0, orderType: types[$0.id] ?? nil) },
                rows.count > limit ? ids.last : nil
            )
        }
    }

    /// Per channel, for transmissions of orders within `scope`: last success, attempts and
    /// failures since `since`, pending and delayed now.
    public func channelActivity(since: Timestamp, scope: OrderScope = .everything) async throws -> [String:
        ChannelActivity]
    {
        let join: SQLQueryString = scope == .everything ? "" : "JOIN orders o ON o.order_id = t.order_id"
        let within = OrderScopeSQL.condition(scope, order: "o")
        return try await database.read { db in
            var result: [String: ChannelActivity] = [:]
            func entry(_ channel: String) -> ChannelActivity {
                result[channel]
                    ?? ChannelActivity(channel: channel, attempts: 0, failedAttempts: 0, pending: 0, delayed: 0)
            }
            for row in try await db.raw(
                """
                SELECT t.channel, COUNT(*) AS n,
                       SUM(CASE WHEN a.http_status >= 200 AND a.http_status < 300 THEN 0 ELSE 1 END) AS failed,
                       MAX(a.started_at) AS last_attempt
                FROM transmission_attempts a JOIN transmissions t ON t.id = a.transmission_id \(join)
                WHERE a.started_at >= \(bind: since.microseconds)\(within) GROUP BY t.channel
                """
            ).all() {
                let attempts = try row.decode(ChannelAttemptsRow.self)
                var activity = entry(attempts.channel)
                activity.attempts = attempts.n
                activity.failedAttempts = attempts.failed ?? 0
                activity.lastAttemptAt = attempts.lastAttempt.time
                result[attempts.channel] = activity
            }
            for row in try await db.raw(
                """
                SELECT t.channel, MAX(a.started_at + a.duration_us) AS last_success
                FROM transmission_attempts a JOIN transmissions t ON t.id = a.transmission_id \(join)
                WHERE a.http_status >= 200 AND a.http_status < 300\(within) GROUP BY t.channel
                """
            ).all() {
                let success = try row.decode(ChannelSuccessRow.self)
                var activity = entry(success.channel)
                activity.lastSuccessAt = success.lastSuccess.time
                result[success.channel] = activity
            }
            for (channel, open) in try await Self.unacknowledged(scope: scope, in: db) {
                var activity = entry(channel)
                (activity.pending, activity.delayed) = (open.pending, open.delayed)
                result[channel] = activity
            }
            return result
        }
    }

    // MARK: Rule measurements

    /// Classifications of transmissions created in the window, per channel.
    public func classificationCounts(since: Timestamp, until: Timestamp) async throws -> [String: [TransmissionStatus:
        Int]]
    {
        try await database.read { db in
            try await Self.classificationCounts(TransmissionFilter(from: since, to: until), in: db)
        }
    }

    /// A percentile (nearest rank) of acknowledgement latency, in seconds, of the channel's
    /// transmissions acknowledged in the window, and how many there were.
    public func latencyPercentile(_ q: Double, channel: String, since: Timestamp, until: Timestamp) async throws -> (
        value: Double?, count: Int
    ) {
        try await database.read { db in
            let values: SQLQueryString = """
                SELECT 0 AS slice, ack_latency_us AS v FROM transmissions WHERE channel = \(bind: channel) AND
                    ack_latency_us IS NOT NULL
                AND acknowledged_at >= \(bind: since.microseconds) AND acknowledged_at < \(bind: until.microseconds)
                """
            let count =
                try await db.raw("SELECT COUNT(*) AS n FROM (\(values)) x").first()?.decode(CountRow.self).n ?? 0
            let value = try await Self.percentiles(of: values, slices: 1, at: [q], in: db)[0][0]
            return (value.map { $0 / 1_000_000 }, count)
        }
    }

    /// Per channel, transmissions waiting for an acknowledgement: pending, and delayed (past their deadline).
    public func unacknowledged() async throws -> [String: (pending: Int, delayed: Int)] {
        try await database.read { db in try await Self.unacknowledged(scope: .everything, in: db) }
    }

    static func unacknowledged(scope: OrderScope, in db: any SQLDatabase) async throws -> [String: (
        pending: Int, delayed: Int
    )] {
        var result: [String: (pending: Int, delayed: Int)] = [:]
        let join: SQLQueryString = scope == .everything ? "" : "JOIN orders o ON o.order_id = t.order_id"
        // Served by the index on (classification, ack_deadline).
        for row in try await db.raw(
            """
            SELECT t.channel, t.classification, COUNT(*) AS n FROM transmissions t \(join)
            WHERE t.classification IN ('pending',
                'delayed')\(OrderScopeSQL.condition(scope, order: "o")) GROUP BY t.channel, t.classification
            """
        ).all() {
            let count = try row.decode(ChannelCountRow.self)
            if count.classification == "pending" {
                result[count.channel, default: (0, 0)].pending = count.n
            } else {
                result[count.channel, default: (0, 0)].delayed = count.n
            }
        }
        return result
    }

    /// The channel's latest `limit` delivery attempts, newest first: whether each succeeded (2xx), and when.
    public func latestAttempts(channel: String, limit: Int) async throws -> [(succeeded: Bool, at: Timestamp)] {
        try await database.read { db in
            try await db.raw(
                """
                SELECT a.http_status,
                    a.started_at FROM transmission_attempts a JOIN transmissions t ON t.id = a.transmission_id
                WHERE t.channel = \(bind: channel) ORDER BY a.id DESC LIMIT \(bind: limit)
                """
            ).all().map { row in
                let attempt = try row.decode(AttemptOutcomeRow.self)
                return ((200..<300).contains(attempt.httpStatus ?? 0), attempt.startedAt.time)
            }
        }
    }

    public func ordersCreated(since: Timestamp, until: Timestamp) async throws -> Int {
        try await count(
            "SELECT COUNT(*) AS n FROM orders WHERE created_at >= \(bind: since.microseconds) AND created_at < \(bind: until.microseconds)"
        )
    }

    public func deadLettersOpened(since: Timestamp, until: Timestamp) async throws -> Int {
        try await count(
            "SELECT COUNT(*) AS n FROM dead_letters WHERE created_at >= \(bind: since.microseconds) AND created_at < \(bind: until.microseconds)"
        )
    }

    func count(_ query: SQLQueryString) async throws -> Int {
        try await database.read { db in try await db.raw(query).first()?.decode(CountRow.self).n ?? 0 }
    }

    // MARK: Seed 001's view

    /// Orders within `scope` updated in [since, now), newest first, with status counts over all of them.
    public func recentOrders(
        since: Timestamp, scope: OrderScope = .everything, limit: Int
    ) async throws -> (total: Int, statusCounts: [OrderStatus: Int], orders: [RecentOrder]) {
        let within = OrderScopeSQL.condition(scope, order: "o")
        return try await database.read { db in
            var counts: [OrderStatus: Int] = [:]
            for row in try await db.raw(
                """
                SELECT o.status, COUNT(*) AS n FROM orders o WHERE o.updated_at >=
                    \(bind: since.microseconds)\(within) GROUP BY o.status
                """
            ).all() {
                let count = try row.decode(StatusCountRow.self)
                counts[try StatusCountRow.parse(count.status, column: "status")] = count.n
            }
            let orders = try await db.raw(
                """
                SELECT o.order_id, o.customer_id, o.customer_name, o.status, o.order_type, o.order_total,
                    o.updated_at, o.line_count,
                       l.short_description, l.sku, l.quantity
                FROM orders o LEFT JOIN order_lines l ON l.order_id = o.order_id AND l.line_number = 1
                WHERE o.updated_at >= \(bind: since.microseconds)\(within)
                ORDER BY o.updated_at DESC, o.seq DESC LIMIT \(bind: limit)
                """
            ).all().map { try $0.decode(RecentOrderRow.self).order() }
            return (counts.values.reduce(0, +), counts, orders)
        }
    }
}

extension TransmissionFilter {
    var condition: SQLQueryString {
        var sql: SQLQueryString =
            "t.created_at >= \(bind: from.microseconds) AND t.created_at < \(bind: to.microseconds)"
        if let channel { sql = sql + " AND t.channel = \(bind: channel)" }
        if let status { sql = sql + " AND t.classification = \(bind: status.rawValue)" }
        if let orderType { sql = sql + " AND o.order_type = \(bind: orderType.rawValue)" }
        if let orderID { sql = sql + " AND t.order_id = \(bind: orderID.rawValue)" }
        if withErrorsOnly {
            sql =
                sql
                + " AND t.classification IN ('failed', 'pending', 'delayed') AND (t.last_error IS NOT NULL OR t.last_status_code >= 400)"
        }
        return sql + OrderScopeSQL.condition(scope, order: "o")
    }

    /// The join `condition` needs (orders, for the order type or the scope).
    var join: SQLQueryString {
        orderType == nil && scope == .everything ? "" : "JOIN orders o ON o.order_id = t.order_id"
    }
}

// MARK: Rows

struct CountRow: TableRow {
    static let table = "transmissions"
    var n: Int
}

struct ChannelCountRow: TableRow {
    static let table = "transmissions"
    var channel: String
    var classification: String
    var n: Int
}

struct MinuteCountRow: TableRow {
    static let table = "transmissions"
    var minute: Int64
    var classification: String
    var n: Int
}

struct SliceCountRow: TableRow {
    static let table = "transmissions"
    var slice: Int
    var n: Int
}

struct RankedValueRow: TableRow {
    static let table = "transmissions"
    var slice: Int
    var v: Int64
    var rn: Int
}

struct ErrorGroupRow: TableRow {
    static let table = "transmissions"
    var channel: String
    var lastStatusCode: Int?
    var lastError: String?
    var n: Int

    var group: ErrorGroup { ErrorGroup(channel: channel, statusCode: lastStatusCode, error: lastError, count: n) }
}

struct OrderTypeRow: TableRow {
    static let table = "transmissions"
    var id: Int64
    var orderType: String?
}

struct ChannelAttemptsRow: TableRow {
    static let table = "transmission_attempts"
    var channel: String
    var n: Int
    var failed: Int?
    var lastAttempt: Int64?
}

struct ChannelSuccessRow: TableRow {
    static let table = "transmission_attempts"
    var channel: String
    var lastSuccess: Int64?
}

struct AttemptOutcomeRow: TableRow {
    static let table = "transmission_attempts"
    var httpStatus: Int?
    var startedAt: Int64
}

struct StatusCountRow: TableRow {
    static let table = "orders"
    var status: Int
    var n: Int
}

struct RecentOrderRow: TableRow {
    static let table = "orders"
    var orderId: String
    var customerId: String?
    var customerName: String
    var status: Int
    var orderType: String
    var orderTotal: Int64
    var updatedAt: Int64
    var lineCount: Int
    var shortDescription: String?
    var sku: String?
    var quantity: Int?

    func order() throws -> RecentOrder {
        let more = lineCount > 1 ? " (+\(lineCount - 1) more line\(lineCount > 2 ? "s" : ""))" : ""
        return RecentOrder(
            orderID: OrderID(orderId), customerID: customerId, customerName: customerName,
            status: try Self.parse(status, column: "status"),
            orderType: orderType, total: Money(units: orderTotal), updatedAt: updatedAt.time,
            itemName: shortDescription ?? sku,
            itemDetail: sku.map { "\($0) × \(quantity ?? 1)" + more })
    }
}
