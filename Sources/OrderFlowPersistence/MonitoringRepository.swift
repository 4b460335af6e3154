import Foundation
import OrderFlowDomain
import SQLKit

/// Read-side queries for monitoring: summaries, transmission search, channel activity, rule
/// measurements and seed 001's recent-orders view.
public struct MonitoringRepository: Sendable {
    public let database: Database

    public init(database: Database) { self.database = database }

    public func summary(_ filter: TransmissionFilter) async throws -> MonitoringSummary {
        try await database.read { db in
            let join = filter.join
            let byChannel = try await Self.classificationCounts(filter, in: db)
            var counts: [TransmissionStatus: Int] = [:]
            for perChannel in byChannel.values { counts.merge(perChannel, uniquingKeysWith: +) }
            let percentiles = try await Self.latencyPercentiles(filter, slices: 1, at: [0.5, 0.95, 0.99], in: db)[0]
            var minutes: [Int64: [TransmissionStatus: Int]] = [:]
            for row in try await db.raw("""
                SELECT t.created_at / 60000000 AS minute, t.classification, COUNT(*) AS n FROM transmissions t \(join)
                WHERE \(filter.condition) GROUP BY t.created_at / 60000000, t.classification
                """).all() {
                let status = TransmissionStatus(rawValue: try row.decode(column: "classification", as: String.self)) ?? .pending
                minutes[try row.decode(column: "minute", as: Int64.self), default: [:]][status] = try row.decode(column: "n", as: Int.self)
            }
            // Every minute of the window, empty ones included, so a chart has no gaps (at most a day of them).
            let first = filter.from.microseconds / 60_000_000
            let last = max(first, (filter.to.microseconds - 1) / 60_000_000)
            let series = (max(first, last - 1_439)...last).map { MonitoringSummary.Minute(start: Timestamp(microseconds: $0 * 60_000_000), counts: minutes[$0] ?? [:]) }
            let ratios = MonitoringSummary.ratios(counts)
            return MonitoringSummary(
                from: filter.from, to: filter.to, counts: counts, byChannel: byChannel, total: counts.values.reduce(0, +),
                successRate: ratios.success, failedRatio: ratios.failed, delayedRatio: ratios.delayed,
                latencyP50: percentiles[0], latencyP95: percentiles[1], latencyP99: percentiles[2], series: series)
        }
    }

    /// Transmissions matching `filter`, per channel and classification.
    static func classificationCounts(_ filter: TransmissionFilter, in db: any SQLDatabase) async throws -> [String: [TransmissionStatus: Int]] {
        var byChannel: [String: [TransmissionStatus: Int]] = [:]
        for row in try await db.raw("""
            SELECT t.channel, t.classification, COUNT(*) AS n FROM transmissions t \(filter.join)
            WHERE \(filter.condition) GROUP BY t.channel, t.classification
            """).all() {
            let status = TransmissionStatus(rawValue: try row.decode(column: "classification", as: String.self)) ?? .pending
            byChannel[try row.decode(column: "channel", as: String.self), default: [:]][status, default: 0] += try row.decode(column: "n", as: Int.self)
        }
        return byChannel
    }

    /// Nearest-rank percentiles of column `v` of `values` (an SQL query), exact, without loading
    /// the values: a count, then one row per percentile read at its rank.
    static func percentiles(_ qs: [Double], of values: SQLQueryString, in db: any SQLDatabase) async throws -> [Double?] {
        let count = try await db.raw("SELECT COUNT(*) AS n FROM (\(values)) x").first()?.decode(column: "n", as: Int.self) ?? 0
        var result: [Double?] = []
        for q in qs {
            guard let rank = Percentile.rank(q, of: count) else {
                result.append(nil)
                continue
            }
            let row = try await db.raw("SELECT v FROM (\(values)) x ORDER BY v LIMIT 1 OFFSET \(bind: rank - 1)").first()
            result.append(try row.map { Double(try $0.decode(column: "v", as: Int64.self)) })
        }
        return result
    }

    /// Acknowledgement latency percentiles, in seconds, in `slices` equal slices of the filter's
    /// window (nil where a slice has none): one query counts each slice, a second reads only the
    /// values at the wanted ranks, whatever the number of slices and transmissions.
    public func latencyPercentiles(_ filter: TransmissionFilter, slices: Int, at qs: [Double]) async throws -> [[Double?]] {
        try await database.read { db in try await Self.latencyPercentiles(filter, slices: slices, at: qs, in: db) }
    }

    /// The same, inside a caller's read (a summary is one slice).
    static func latencyPercentiles(_ filter: TransmissionFilter, slices: Int, at qs: [Double], in db: any SQLDatabase) async throws -> [[Double?]] {
        let slices = max(1, slices)
        let width = max(1, (filter.to.microseconds - filter.from.microseconds) / Int64(slices))
        let end = filter.from.microseconds + width * Int64(slices)
        let values: SQLQueryString = """
            SELECT (t.created_at - \(bind: filter.from.microseconds)) / \(bind: width) AS slice, t.ack_latency_us AS v
            FROM transmissions t \(filter.join)
            WHERE \(filter.condition) AND t.created_at < \(bind: end) AND t.ack_latency_us IS NOT NULL
            """
        // slice → rank → which of `qs` it answers
        var wanted: [Int: [Int: [Int]]] = [:]
        for row in try await db.raw("SELECT slice, COUNT(*) AS n FROM (\(values)) s GROUP BY slice").all() {
            let slice = try row.decode(column: "slice", as: Int.self)
            let count = try row.decode(column: "n", as: Int.self)
            for (index, q) in qs.enumerated() {
                if let rank = Percentile.rank(q, of: count) { wanted[slice, default: [:]][rank, default: []].append(index) }
            }
        }
        var result = [[Double?]](repeating: [Double?](repeating: nil, count: qs.count), count: slices)
        guard !wanted.isEmpty else { return result }
        var picked: SQLQueryString = "1 = 0"
        for (slice, ranks) in wanted { picked = picked + " OR (slice = \(bind: slice) AND rn IN (\(binds: Array(ranks.keys))))" }
        for row in try await db.raw("""
            SELECT slice, v, rn FROM (SELECT slice, v, ROW_NUMBER() OVER (PARTITION BY slice ORDER BY v) AS rn FROM (\(values)) s) r
            WHERE \(picked)
            """).all() {
            let slice = try row.decode(column: "slice", as: Int.self)
            let value = Double(try row.decode(column: "v", as: Int64.self)) / 1_000_000
            for index in wanted[slice]?[try row.decode(column: "rn", as: Int.self)] ?? [] { result[slice][index] = value }
        }
        return result
    }

    /// Transmissions matching `filter`, counted by channel, last HTTP status and last error (the
    /// `limit` largest groups), and how many there are in all.
    public func errorGroups(_ filter: TransmissionFilter, limit: Int = 500) async throws -> (groups: [ErrorGroup], total: Int) {
        try await database.read { db in
            let groups = try await db.raw("""
                SELECT t.channel, t.last_status_code, t.last_error, COUNT(*) AS n FROM transmissions t \(filter.join)
                WHERE \(filter.condition) GROUP BY t.channel, t.last_status_code, t.last_error ORDER BY n DESC LIMIT \(bind: limit)
                """).all().map { row in
                    ErrorGroup(
                        channel: try row.decode(column: "channel", as: String.self), statusCode: try row.decode(column: "last_status_code", as: Int?.self),
                        error: try row.decode(column: "last_error", as: String?.self), count: try row.decode(column: "n", as: Int.self))
                }
            let total = try await db.raw("SELECT COUNT(*) AS n FROM transmissions t \(filter.join) WHERE \(filter.condition)").first()?
                .decode(column: "n", as: Int.self) ?? 0
            return (groups, total)
        }
    }

    /// Newest first, `limit` at a time; `beforeID` continues a previous page.
    public func transmissions(_ filter: TransmissionFilter, beforeID: Int64?, limit: Int) async throws -> (items: [TransmissionListItem], nextBeforeID: Int64?) {
        try await database.read { db in
            var condition = filter.condition
            if let beforeID { condition = condition + " AND t.id < \(bind: beforeID)" }
            let rows = try await db.raw("""
                SELECT t.id, o.order_type FROM transmissions t LEFT JOIN orders o ON o.order_id = t.order_id
                WHERE \(condition) ORDER BY t.id DESC LIMIT \(bind: limit + 1)
                """).all()
            let ids = try rows.prefix(limit).map { try $0.decode(column: "id", as: Int64.self) }
            var types: [Int64: OrderType] = [:]
            for row in rows { types[try row.decode(column: "id", as: Int64.self)] = try row.decode(column: "order_type", as: String?.self).flatMap(OrderType.init(rawValue:)) }
            let loaded = try await TransmissionRepository.load(ids: ids, in: db).sorted { $0.id > $1.id }
            return (loaded.map { TransmissionListItem(transmission: $0, orderType: types[$0.id]) }, rows.count > limit ? ids.last : nil)
        }
    }

    /// Per channel: last success, attempts and failures since `since`, pending and delayed now.
    public func channelActivity(since: Timestamp) async throws -> [String: ChannelActivity] {
        try await database.read { db in
            var result: [String: ChannelActivity] = [:]
            func entry(_ channel: String) -> ChannelActivity {
                result[channel] ?? ChannelActivity(channel: channel, attempts: 0, failedAttempts: 0, pending: 0, delayed: 0)
            }
            for row in try await db.raw("""
                SELECT t.channel, COUNT(*) AS n,
                       SUM(CASE WHEN a.http_status >= 200 AND a.http_status < 300 THEN 0 ELSE 1 END) AS failed,
                       MAX(a.started_at) AS last_attempt
                FROM transmission_attempts a JOIN transmissions t ON t.id = a.transmission_id
                WHERE a.started_at >= \(bind: since.microseconds) GROUP BY t.channel
                """).all() {
                let channel = try row.decode(column: "channel", as: String.self)
                var activity = entry(channel)
                activity.attempts = try row.decode(column: "n", as: Int.self)
                activity.failedAttempts = try row.decode(column: "failed", as: Int?.self) ?? 0
                activity.lastAttemptAt = try row.decode(column: "last_attempt", as: Int64?.self).map(Timestamp.init(microseconds:))
                result[channel] = activity
            }
            for row in try await db.raw("""
                SELECT t.channel, MAX(a.started_at + a.duration_us) AS last_success
                FROM transmission_attempts a JOIN transmissions t ON t.id = a.transmission_id
                WHERE a.http_status >= 200 AND a.http_status < 300 GROUP BY t.channel
                """).all() {
                let channel = try row.decode(column: "channel", as: String.self)
                var activity = entry(channel)
                activity.lastSuccessAt = try row.decode(column: "last_success", as: Int64?.self).map(Timestamp.init(microseconds:))
                result[channel] = activity
            }
            for (channel, open) in try await Self.unacknowledged(in: db) {
                var activity = entry(channel)
                (activity.pending, activity.delayed) = (open.pending, open.delayed)
                result[channel] = activity
            }
            return result
        }
    }

    // MARK: Rule measurements

    /// Classifications of transmissions created in the window, per channel.
    public func classificationCounts(since: Timestamp, until: Timestamp) async throws -> [String: [TransmissionStatus: Int]] {
        try await database.read { db in try await Self.classificationCounts(TransmissionFilter(from: since, to: until), in: db) }
    }

    /// A percentile (nearest rank) of acknowledgement latency, in seconds, of the channel's
    /// transmissions acknowledged in the window, and how many there were.
    public func latencyPercentile(_ q: Double, channel: String, since: Timestamp, until: Timestamp) async throws -> (value: Double?, count: Int) {
        try await database.read { db in
            let values: SQLQueryString = """
                SELECT ack_latency_us AS v FROM transmissions WHERE channel = \(bind: channel) AND ack_latency_us IS NOT NULL
                AND acknowledged_at >= \(bind: since.microseconds) AND acknowledged_at < \(bind: until.microseconds)
                """
            let count = try await db.raw("SELECT COUNT(*) AS n FROM (\(values)) x").first()?.decode(column: "n", as: Int.self) ?? 0
            let value = try await Self.percentiles([q], of: values, in: db)[0]
            return (value.map { $0 / 1_000_000 }, count)
        }
    }

    /// Per channel, transmissions waiting for an acknowledgement: pending, and delayed (past their deadline).
    public func unacknowledged() async throws -> [String: (pending: Int, delayed: Int)] {
        try await database.read { db in try await Self.unacknowledged(in: db) }
    }

    static func unacknowledged(in db: any SQLDatabase) async throws -> [String: (pending: Int, delayed: Int)] {
        var result: [String: (pending: Int, delayed: Int)] = [:]
        // Served by the index on (classification, ack_deadline).
        for row in try await db.raw("""
            SELECT channel, classification, COUNT(*) AS n FROM transmissions WHERE classification IN ('pending', 'delayed') GROUP BY channel, classification
            """).all() {
            let channel = try row.decode(column: "channel", as: String.self)
            let n = try row.decode(column: "n", as: Int.self)
            if try row.decode(column: "classification", as: String.self) == "pending" { result[channel, default: (0, 0)].pending = n } else { result[channel, default: (0, 0)].delayed = n }
        }
        return result
    }

    /// The channel's latest `limit` delivery attempts, newest first: whether each succeeded (2xx), and when.
    public func latestAttempts(channel: String, limit: Int) async throws -> [(succeeded: Bool, at: Timestamp)] {
        try await database.read { db in
            try await db.raw("""
                SELECT a.http_status, a.started_at FROM transmission_attempts a JOIN transmissions t ON t.id = a.transmission_id
                WHERE t.channel = \(bind: channel) ORDER BY a.id DESC LIMIT \(bind: limit)
                """).all().map { row in
                    let status = try row.decode(column: "http_status", as: Int?.self)
                    return ((200..<300).contains(status ?? 0), Timestamp(microseconds: try row.decode(column: "started_at", as: Int64.self)))
                }
        }
    }

    public func ordersCreated(since: Timestamp, until: Timestamp) async throws -> Int {
        try await database.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM orders WHERE created_at >= \(bind: since.microseconds) AND created_at < \(bind: until.microseconds)")
                .first()!.decode(column: "n", as: Int.self)
        }
    }

    public func deadLettersOpened(since: Timestamp, until: Timestamp) async throws -> Int {
        try await database.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM dead_letters WHERE created_at >= \(bind: since.microseconds) AND created_at < \(bind: until.microseconds)")
                .first()!.decode(column: "n", as: Int.self)
        }
    }

    // MARK: Seed 001's view

    /// Orders updated in [since, now), newest first, with status counts over all of them.
    public func recentOrders(since: Timestamp, limit: Int) async throws -> (total: Int, statusCounts: [OrderStatus: Int], orders: [RecentOrder]) {
        try await database.read { db in
            var counts: [OrderStatus: Int] = [:]
            for row in try await db.raw("SELECT status, COUNT(*) AS n FROM orders WHERE updated_at >= \(bind: since.microseconds) GROUP BY status").all() {
                if let status = OrderStatus(rawValue: try row.decode(column: "status", as: Int.self)) { counts[status] = try row.decode(column: "n", as: Int.self) }
            }
            let rows = try await db.raw("""
                SELECT o.order_id, o.customer_id, o.customer_name, o.status, o.order_type, o.order_total, o.updated_at, o.line_count,
                       l.short_description, l.sku, l.quantity
                FROM orders o LEFT JOIN order_lines l ON l.order_id = o.order_id AND l.line_number = 1
                WHERE o.updated_at >= \(bind: since.microseconds)
                ORDER BY o.updated_at DESC, o.seq DESC LIMIT \(bind: limit)
                """).all()
            let orders = try rows.map { row in
                let lineCount = try row.decode(column: "line_count", as: Int.self)
                let sku = try row.decode(column: "sku", as: String?.self)
                let quantity = try row.decode(column: "quantity", as: Int?.self)
                let detail = sku.map { "\($0) × \(quantity ?? 1)" + (lineCount > 1 ? " (+\(lineCount - 1) more line\(lineCount > 2 ? "s" : ""))" : "") }
                return RecentOrder(
                    orderID: OrderID(try row.decode(column: "order_id", as: String.self)), customerID: try row.decode(column: "customer_id", as: String?.self),
                    customerName: try row.decode(column: "customer_name", as: String.self),
                    status: OrderStatus(rawValue: try row.decode(column: "status", as: Int.self)) ?? .open,
                    orderType: try row.decode(column: "order_type", as: String.self),
                    total: Money(units: try row.decode(column: "order_total", as: Int64.self)),
                    updatedAt: Timestamp(microseconds: try row.decode(column: "updated_at", as: Int64.self)),
                    itemName: try row.decode(column: "short_description", as: String?.self) ?? sku, itemDetail: detail)
            }
            return (counts.values.reduce(0, +), counts, orders)
        }
    }
}

extension TransmissionFilter {
    var condition: SQLQueryString {
        var sql: SQLQueryString = "t.created_at >= \(bind: from.microseconds) AND t.created_at < \(bind: to.microseconds)"
        if let channel { sql = sql + " AND t.channel = \(bind: channel)" }
        if let status { sql = sql + " AND t.classification = \(bind: status.rawValue)" }
        if let orderType { sql = sql + " AND o.order_type = \(bind: orderType.rawValue)" }
        if let orderID { sql = sql + " AND t.order_id = \(bind: orderID.rawValue)" }
        if withErrorsOnly {
            sql = sql + " AND t.classification IN ('failed', 'pending', 'delayed') AND (t.last_error IS NOT NULL OR t.last_status_code >= 400)"
        }
        return sql
    }

    /// The join `condition` needs (orders, for the order type).
    var join: SQLQueryString { orderType == nil ? "" : "JOIN orders o ON o.order_id = t.order_id" }
}
