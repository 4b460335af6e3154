import Foundation
import OrderFlowDomain
import SQLKit

/// Deletes history older than its retention, a batch at a time so writers are never held up
/// for long. Only finished things go: open dead letters, unresolved alerts and transmissions
/// still waiting are kept whatever their age.
public struct RetentionRepository: Sendable {
    public let database: Database

    public init(database: Database) { self.database = database }

    public enum Kind: String, Sendable, CaseIterable {
        case transmissions, acknowledgements, alerts
        case deadLetters = "dead_letters"
        case inboundEvents = "inbound_events"
    }

    /// Deletes up to `batch` rows of `kind` older than `cutoff`; returns how many went.
    public func purge(_ kind: Kind, before cutoff: Timestamp, batch: Int = 1_000) async throws -> Int {
        let c = cutoff.microseconds
        return try await database.transaction { db in
            switch kind {
            case .transmissions:
                // Acknowledgements and dead letters point at transmissions: they go first or are kept.
                let ids = try await db.raw(
                    """
                    SELECT id FROM transmissions t WHERE t.created_at < \(bind: c) AND t.classification IN ('success',
                        'success_late', 'failed')
                      AND NOT EXISTS (SELECT 1 FROM acknowledgements a WHERE a.transmission_id = t.id)
                      AND NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.source = 'transmission' AND d.source_id =
                          t.id AND d.state = 'open')
                    ORDER BY id LIMIT \(bind: batch)
                    """
                ).all().map { try $0.decode(column: "id", as: Int64.self) }
                guard !ids.isEmpty else { return 0 }
                try await db.raw("DELETE FROM transmission_attempts WHERE transmission_id IN (\(binds: ids))").run()
                try await db.raw("DELETE FROM transmissions WHERE id IN (\(binds: ids))").run()
                return ids.count
            case .acknowledgements:
                return try await Self.delete("acknowledgements", "received_at < \(bind: c)", batch: batch, in: db)
            case .alerts:
                let ids = try await db.raw(
                    "SELECT id FROM alerts WHERE state = 'resolved' AND resolved_at < \(bind: c) ORDER BY id LIMIT \(bind: batch)"
                )
                .all().map { try $0.decode(column: "id", as: Int64.self) }
                guard !ids.isEmpty else { return 0 }
                try await db.raw("DELETE FROM alert_history WHERE alert_id IN (\(binds: ids))").run()
                try await db.raw("DELETE FROM alert_notifications WHERE alert_id IN (\(binds: ids))").run()
                try await db.raw("DELETE FROM alerts WHERE id IN (\(binds: ids))").run()
                return ids.count
            case .deadLetters:
                return try await Self.delete(
                    "dead_letters", "state <> 'open' AND created_at < \(bind: c)", batch: batch, in: db)
            case .inboundEvents:
                return try await Self.delete(
                    "inbound_events", "received_at < \(bind: c)", batch: batch, in: db)
            }
        }
    }

    static func delete(
        _ table: String, _ condition: SQLQueryString, batch: Int, in db: any SQLDatabase, key: String = "id"
    ) async throws -> Int {
        try await db.raw(
            """
            DELETE FROM \(unsafeRaw: table) WHERE \(unsafeRaw: key) IN (SELECT \(unsafeRaw: key) FROM
                \(unsafeRaw: table) WHERE \(condition) LIMIT \(bind: batch))
            RETURNING \(unsafeRaw: key)
            """
        ).all().count
    }
}
