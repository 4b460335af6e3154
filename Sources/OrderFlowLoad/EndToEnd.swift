import Histogram
import OrderFlowPersistence
import SQLKit

/// End to end, read from OrderFlow's database after an order run: for every order of the run,
/// accepted (the order's creation) → released → its `order.released` event transmitted to the
/// channel → acknowledged by the (simulated) downstream → classified.
public struct EndToEnd: Sendable {
    public var database: Database
    public var channel: String

    public init(database: Database, channel: String) {
        self.database = database
        self.channel = channel
    }

    public struct Progress: Sendable {
        public var accepted = 0
        /// Released, delivered to the channel, acknowledged and classified.
        public var completed = 0
        /// Cancelled (declined payment, no stock): final without a release.
        public var cancelled = 0
    }

    public func progress(prefix: String) async throws -> Progress {
        try await database.read { db in
            let row = try await db.raw(
                """
                SELECT COUNT(*) AS accepted,
                       SUM(CASE WHEN o.status = 9000 THEN 1 ELSE 0 END) AS cancelled,
                       SUM(CASE WHEN t.classification IN ('success', 'success_late') THEN 1 ELSE 0 END) AS completed
                FROM orders o
                LEFT JOIN transmissions t ON t.order_id = o.order_id AND t.event_type = 'order.released' AND t.channel
                    = \(bind: channel)
                WHERE o.order_id LIKE \(bind: prefix + "%")
                """
            ).first()
            return Progress(
                accepted: try row?.decode(column: "accepted", as: Int?.self) ?? 0,
                completed: try row?.decode(column: "completed", as: Int?.self) ?? 0,
                cancelled: try row?.decode(column: "cancelled", as: Int?.self) ?? 0)
        }
    }

    /// Latency of each stage, in microseconds, for the completed orders of the run.
    public struct Stages: Sendable {
        static func histogram() -> Histogram<UInt64> {
            Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        }
        /// Accepted → classified: the whole way.
        public var total = histogram()
        /// Accepted → `order.released` recorded (the pipeline's steps).
        public var pipeline = histogram()
        /// Released → delivered to the channel (the relay).
        public var delivery = histogram()
        /// Delivered → acknowledged (the downstream's own time).
        public var acknowledgement = histogram()
        /// Acknowledged → classified.
        public var classification = histogram()
        /// First acceptance to last classification, seconds.
        public var span = 0.0
        public var completed = 0
        public var throughput: Double { span > 0 ? Double(completed) / span : 0 }
    }

    public func stages(prefix: String) async throws -> Stages {
        try await database.read { db in
            let rows = try await db.raw(
                """
                SELECT o.created_at AS accepted, t.created_at AS released, t.sent_at AS sent,
                       t.acknowledged_at AS acknowledged, t.classified_at AS classified
                FROM orders o
                JOIN transmissions t ON t.order_id = o.order_id AND t.event_type = 'order.released' AND t.channel =
                    \(bind: channel)
                WHERE o.order_id LIKE \(bind: prefix + "%") AND t.classification IN ('success', 'success_late')
                """
            ).all()
            var stages = Stages()
            var first = Int64.max
            var last = Int64.min
            func record(_ histogram: inout Histogram<UInt64>, _ from: Int64?, _ to: Int64?) {
                guard let from, let to else { return }
                _ = histogram.record(UInt64(max(0, min(to - from, Int64(histogram.highestTrackableValue)))))
            }
            for row in rows {
                let accepted = try row.decode(column: "accepted", as: Int64.self)
                let released = try row.decode(column: "released", as: Int64.self)
                let sent = try row.decode(column: "sent", as: Int64?.self)
                let acknowledged = try row.decode(column: "acknowledged", as: Int64?.self)
                let classified = try row.decode(column: "classified", as: Int64?.self)
                record(&stages.total, accepted, classified)
                record(&stages.pipeline, accepted, released)
                record(&stages.delivery, released, sent)
                record(&stages.acknowledgement, sent, acknowledged)
                record(&stages.classification, acknowledged, classified)
                first = min(first, accepted)
                if let classified { last = max(last, classified) }
                stages.completed += 1
            }
            stages.span = last > first ? Double(last - first) / 1e6 : 0
            return stages
        }
    }
}
