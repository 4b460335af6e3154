import OrderFlowDomain
import SQLKit

/// Business figures over orders for the management view: volume, value, where orders are now,
/// how they spread over hours, and what sells. Each is one aggregate query on indexed columns.
public struct OrderStatisticsRepository: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Orders created in [from, to): how many, what they are worth, and their status now.
    public func volume(from: Timestamp, to: Timestamp, locations: [LocationID]?) async throws -> OrderVolume {
        try await database.read { db in
            var volume = OrderVolume(count: 0, value: .zero, byStatus: [:])
            let rows = try await db.raw(
                """
                SELECT status, COUNT(*) AS n, CAST(SUM(order_total) AS BIGINT) AS value FROM orders
                WHERE created_at >= \(bind: from.microseconds) AND created_at <
                    \(bind: to.microseconds)\(Self.within(locations))
                GROUP BY status
                """
            ).all()
            for row in rows {
                let count = try row.decode(column: "n", as: Int.self)
                volume.count += count
                volume.value = volume.value + Money(units: try row.decode(column: "value", as: Int64?.self) ?? 0)
                if let status = OrderStatus(rawValue: try row.decode(column: "status", as: Int.self)) {
                    volume.byStatus[status] = count
                }
            }
            return volume
        }
    }

    /// Orders created per bucket of `bucketSeconds` in [from, to), oldest first, empty buckets included.
    public func created(from: Timestamp, to: Timestamp, bucketSeconds: Int64, locations: [LocationID]?) async throws
        -> [(start: Timestamp, count: Int)]
    {
        let width = bucketSeconds * 1_000_000
        let counts: [Int64: Int] = try await database.read { db in
            var counts: [Int64: Int] = [:]
            let rows = try await db.raw(
                """
                SELECT (created_at - \(bind: from.microseconds)) / \(bind: width) AS bucket, COUNT(*) AS n FROM orders
                WHERE created_at >= \(bind: from.microseconds) AND created_at <
                    \(bind: to.microseconds)\(Self.within(locations))
                GROUP BY 1
                """
            ).all()
            for row in rows {
                counts[try row.decode(column: "bucket", as: Int64.self)] = try row.decode(column: "n", as: Int.self)
            }
            return counts
        }
        let buckets = max(1, (to.microseconds - from.microseconds + width - 1) / width)
        return (0..<buckets).map { index in
            (Timestamp(microseconds: from.microseconds + index * width), counts[index] ?? 0)
        }
    }

    /// The items ordered most in [from, to), by units (cancelled orders left out).
    public func topItems(from: Timestamp, to: Timestamp, limit: Int, locations: [LocationID]?) async throws
        -> [ItemSales]
    {
        try await database.read { db in
            try await db.raw(
                """
                SELECT l.sku, MAX(l.short_description) AS name, CAST(SUM(l.quantity) AS BIGINT) AS units,
                    COUNT(DISTINCT l.order_id) AS orders
                FROM order_lines l JOIN orders o ON o.order_id = l.order_id
                WHERE o.created_at >= \(bind: from.microseconds) AND o.created_at < \(bind: to.microseconds) AND
                    o.status <> \(bind: OrderStatus.cancelled.rawValue)\(Self.within(locations, alias: "o."))
                GROUP BY l.sku ORDER BY units DESC, l.sku LIMIT \(bind: limit)
                """
            ).all().map { row in
                ItemSales(
                    sku: try row.decode(column: "sku", as: String.self),
                    name: try row.decode(column: "name", as: String?.self),
                    units: try row.decode(column: "units", as: Int.self),
                    orders: try row.decode(column: "orders", as: Int.self))
            }
        }
    }

    /// ` AND location_id IN (…)` for a caller who sees some stores only; nothing for everyone else.
    static func within(_ locations: [LocationID]?, alias: String = "") -> SQLQueryString {
        guard let locations else { return "" }
        guard !locations.isEmpty else { return " AND 1 = 0" }
        return " AND \(unsafeRaw: alias)location_id IN (\(binds: locations.map(\.rawValue)))"
    }
}
