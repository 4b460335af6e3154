import OrderFlowDomain
import SQLKit

/// What was sent to whom, so a notification retried after a crash is not sent twice.
public struct NotificationReceiptRepository: Sendable {
    public let database: Database

    public init(database: Database) { self.database = database }

    public func exists(_ key: String) async throws -> Bool {
        try await database.read { db in
            try await db.raw("SELECT dedupe_key FROM notification_receipts WHERE dedupe_key = \(bind: key)").first()
                != nil
        }
    }

    public static func record(
        _ key: String, order: OrderID, medium: String, recipient: String, at now: Timestamp, in db: any SQLDatabase
    ) async throws {
        try await db.raw(
            """
            INSERT INTO notification_receipts (dedupe_key, order_id, medium, recipient, sent_at)
            VALUES (\(bind: key), \(bind: order.rawValue), \(bind: medium), \(bind: recipient),
                \(bind: now.microseconds))
            ON CONFLICT (dedupe_key) DO NOTHING
            """
        ).run()
    }

    public func of(order: OrderID) async throws -> [(key: String, medium: String, recipient: String)] {
        try await database.read { db in
            try await db.raw(
                "SELECT dedupe_key, medium, recipient FROM notification_receipts WHERE order_id = \(bind: order.rawValue) ORDER BY sent_at"
            ).all().map {
                (
                    try $0.decode(column: "dedupe_key", as: String.self),
                    try $0.decode(column: "medium", as: String.self),
                    try $0.decode(column: "recipient", as: String.self)
                )
            }
        }
    }
}
