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
        try await db.raw(
            """
            INSERT INTO audit_log (at, actor, actor_kind, action, target_type, target_id, outcome, client_address,
                request_id, details)
            VALUES (\(bind: entry.at.microseconds), \(bind: entry.actor), \(bind: entry.actorKind),
                \(bind: entry.action),
                    \(bind: entry.targetType), \(bind: entry.targetID), \(bind: entry.outcome),
                        \(bind: entry.clientAddress),
                    \(bind: entry.requestID), \(bind: entry.details))
            """
        ).run()
    }

    /// Newest first.
    public func search(_ query: AuditQuery) async throws -> (
        entries: [(id: Int64, entry: AuditEntry)], nextBeforeID: Int64?
    ) {
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
            let entries = try rows.prefix(limit).map { try $0.decode(AuditRow.self).entry }
            return (entries, rows.count > limit ? entries.last?.id : nil)
        }
    }
}

struct AuditRow: TableRow {
    static let table = "audit_log"
    var id: Int64
    var at: Int64
    var actor: String
    var actorKind: String
    var action: String
    var targetType: String?
    var targetId: String?
    var outcome: String
    var clientAddress: String?
    var requestId: String?
    var details: String?

    var entry: (id: Int64, entry: AuditEntry) {
        var entry = AuditEntry(
            at: at.time, actor: actor, actorKind: actorKind, action: action, targetType: targetType, targetID: targetId,
            outcome: outcome,
            clientAddress: clientAddress, requestID: requestId)
        entry.details = details
        return (id, entry)
    }
}
