import OrderFlowDomain
import SQLKit

/// Events received from outside (ship and delivery events), remembered by store and ID so a
/// repeat is recognised and changes nothing. IDs are a store's own: another store's event with
/// the same ID is another event.
public enum InboundEventRepository {
    /// Records the event inside the caller's transaction; false if the store sent it before.
    public static func record(
        _ eventID: String, store: LocationID, kind: String, order: OrderID, outcome: String, at now: Timestamp,
        in db: any SQLDatabase
    ) async throws -> Bool {
        try await db.raw(
            """
            INSERT INTO inbound_events (location_id, event_id, kind, order_id, received_at, outcome)
            VALUES (\(bind: store.rawValue), \(bind: eventID), \(bind: kind), \(bind: order.rawValue),
                \(bind: now.microseconds), \(bind: outcome))
            ON CONFLICT (location_id, event_id) DO NOTHING RETURNING event_id
            """
        ).first() != nil
    }

    /// The outcome stored for an event the store sent before.
    public static func outcome(of eventID: String, store: LocationID, in db: any SQLDatabase) async throws -> String? {
        try await db.raw(
            """
            SELECT outcome FROM inbound_events
            WHERE location_id = \(bind: store.rawValue) AND event_id = \(bind: eventID)
            """
        ).first()?.decode(column: "outcome", as: String.self)
    }
}
