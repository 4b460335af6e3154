import OrderFlowDomain
import SQLKit

/// Events received from outside (ship and delivery events), remembered by ID so a repeat is
/// recognised and changes nothing.
public enum InboundEventRepository {
    /// Records the event inside the caller's transaction; false if it was seen before.
    public static func record(
        _ eventID: String, kind: String, order: OrderID, outcome: String, at now: Timestamp, in db: any SQLDatabase
    ) async throws -> Bool {
        try await db.raw(
            """
            INSERT INTO inbound_events (event_id, kind, order_id, received_at, outcome)
            VALUES (\(bind: eventID), \(bind: kind), \(bind: order.rawValue), \(bind: now.microseconds),
                \(bind: outcome))
            ON CONFLICT (event_id) DO NOTHING RETURNING event_id
            """
        ).first() != nil
    }

    /// The outcome stored for an event seen before.
    public static func outcome(of eventID: String, in db: any SQLDatabase) async throws -> String? {
        try await db.raw("SELECT outcome FROM inbound_events WHERE event_id = \(bind: eventID)").first()?.decode(
            column: "outcome", as: String.self)
    }
}
