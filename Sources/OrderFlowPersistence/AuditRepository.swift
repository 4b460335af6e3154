import Foundation
import OrderFlowDomain
import SQLKit

/// The append-only audit log (the database refuses UPDATE and DELETE on it).
public struct AuditRepository: Sendable {
    public let database: Database

    public init(database: Database) { self.database = database }

    public func append(_ entry: AuditEntry) async throws {
        try await database.transaction { db in try await Self.append(entry, into: db) }
    }

    /// Appends inside a caller's transaction, so the entry commits with the change it records.
    public static func append(_ entry: AuditEntry, into db: any SQLDatabase) async throws {
        try await db.raw("""
            INSERT INTO audit_log (at, actor, actor_kind, action, target_type, target_id, outcome, client_address, request_id, details)
            VALUES (\(bind: entry.at.microseconds), \(bind: entry.actor), \(bind: entry.actorKind), \(bind: entry.action),
                    \(bind: entry.targetType), \(bind: entry.targetID), \(bind: entry.outcome), \(bind: entry.clientAddress),
                    \(bind: entry.requestID), \(bind: entry.details))
            """).run()
    }

    /// Newest first.
    public func search(_ query: AuditQuery) async throws -> (entries: [(id: Int64, entry: AuditEntry)], nextBeforeID: Int64?) {
        let limit = max(1, min(query.limit, 500))
        return try await database.read { db in
            let select = db.select().column("*").from("audit_log")
            if let actor = query.actor { select.where("actor", .equal, actor) }
            if let action = query.action { select.where("action", .equal, action) }
            if let type = query.targetType { select.where("target_type", .equal, type) }
            if let id = query.targetID { select.where("target_id", .equal, id) }
            if let from = query.from { select.where("at", .greaterThanOrEqual, from.microseconds) }
            if let to = query.to { select.where("at", .lessThanOrEqual, to.microseconds) }
            if let before = query.beforeID { select.where("id", .lessThan, before) }
            let rows = try await select.orderBy("id", .descending).limit(limit + 1).all()
            let entries: [(id: Int64, entry: AuditEntry)] = try rows.prefix(limit).map { row in
                var entry = AuditEntry(
                    at: Timestamp(microseconds: try row.decode(column: "at", as: Int64.self)), actor: try row.decode(column: "actor", as: String.self),
                    actorKind: try row.decode(column: "actor_kind", as: String.self), action: try row.decode(column: "action", as: String.self),
                    targetType: try row.decode(column: "target_type", as: String?.self), targetID: try row.decode(column: "target_id", as: String?.self),
                    outcome: try row.decode(column: "outcome", as: String.self), clientAddress: try row.decode(column: "client_address", as: String?.self),
                    requestID: try row.decode(column: "request_id", as: String?.self))
                entry.details = try row.decode(column: "details", as: String?.self)
                return (try row.decode(column: "id", as: Int64.self), entry)
            }
            return (entries, rows.count > limit ? entries.last?.id : nil)
        }
    }
}
