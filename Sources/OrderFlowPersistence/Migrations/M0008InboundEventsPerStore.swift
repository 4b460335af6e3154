/// Inbound event IDs are a store's own: the same ID from another store is another event, so one
/// store can no longer take an ID before another store's carrier sends it. Events received so far
/// move to the store of their order.
let m0008InboundEventsPerStore = Migration(
    version: 8, name: "inbound event IDs per store",
    apply: { flavor in
        [
            """
            CREATE TABLE inbound_events_per_store (
                id \(flavor.autoIncrementKey),
                location_id TEXT NOT NULL,
                event_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                order_id TEXT NOT NULL,
                received_at BIGINT NOT NULL,
                outcome TEXT NOT NULL,
                UNIQUE (location_id, event_id)
            )
            """,
            """
            INSERT INTO inbound_events_per_store (location_id, event_id, kind, order_id, received_at, outcome)
            SELECT COALESCE(o.location_id, ''), e.event_id, e.kind, e.order_id, e.received_at, e.outcome
            FROM inbound_events e LEFT JOIN orders o ON o.order_id = e.order_id
            ORDER BY e.received_at
            """,
            "DROP TABLE inbound_events",
            "ALTER TABLE inbound_events_per_store RENAME TO inbound_events",
            "CREATE INDEX inbound_events_received ON inbound_events (received_at)",
        ]
    },
    revert: { _ in
        [
            """
            CREATE TABLE inbound_events_global (
                event_id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                order_id TEXT NOT NULL,
                received_at BIGINT NOT NULL,
                outcome TEXT NOT NULL
            )
            """,
            """
            INSERT INTO inbound_events_global (event_id, kind, order_id, received_at, outcome)
            SELECT event_id, kind, order_id, received_at, outcome FROM inbound_events ORDER BY id
            ON CONFLICT (event_id) DO NOTHING
            """,
            "DROP TABLE inbound_events",
            "ALTER TABLE inbound_events_global RENAME TO inbound_events",
        ]
    })
