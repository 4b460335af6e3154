/// The durable pipeline: jobs with leases, dead letters, transmissions to downstream channels and
/// their attempts, de-duplicated inbound events, notification receipts, and tracking on orders.
let m0003Pipeline = Migration(
    version: 3, name: "pipeline",
    apply: { flavor in
        [
            """
            CREATE TABLE jobs (
                id \(flavor.autoIncrementKey),
                kind TEXT NOT NULL,
                order_id TEXT,
                dedupe_key TEXT UNIQUE,
                payload TEXT NOT NULL,
                attempt INTEGER NOT NULL,
                max_attempts INTEGER NOT NULL,
                run_at BIGINT NOT NULL,
                lease_owner TEXT,
                lease_expires_at BIGINT,
                last_error TEXT,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX jobs_due ON jobs (run_at, id)",
            "CREATE INDEX jobs_order ON jobs (order_id)",
            """
            CREATE TABLE dead_letters (
                id \(flavor.autoIncrementKey),
                source TEXT NOT NULL CHECK (source IN ('job', 'transmission')),
                source_id BIGINT NOT NULL,
                order_id TEXT,
                channel TEXT,
                event_id TEXT,
                kind TEXT NOT NULL,
                payload TEXT NOT NULL,
                error TEXT NOT NULL,
                attempts INTEGER NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('open', 'replayed', 'discarded')),
                created_at BIGINT NOT NULL,
                resolved_at BIGINT,
                resolved_by TEXT,
                note TEXT
            )
            """,
            "CREATE INDEX dead_letters_state ON dead_letters (state, id)",
            "CREATE INDEX dead_letters_order ON dead_letters (order_id)",
            """
            CREATE TABLE transmissions (
                id \(flavor.autoIncrementKey),
                outbox_id BIGINT NOT NULL,
                event_id TEXT NOT NULL,
                event_type TEXT NOT NULL,
                channel TEXT NOT NULL,
                order_id TEXT NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'acknowledged', 'failed')),
                attempts INTEGER NOT NULL,
                next_attempt_at BIGINT NOT NULL,
                lease_owner TEXT,
                lease_expires_at BIGINT,
                payload_override TEXT,
                created_at BIGINT NOT NULL,
                ack_deadline BIGINT NOT NULL,
                sent_at BIGINT,
                acknowledged_at BIGINT,
                last_status_code INTEGER,
                last_error TEXT,
                UNIQUE (event_id, channel)
            )
            """,
            "CREATE INDEX transmissions_due ON transmissions (channel, state, next_attempt_at)",
            "CREATE INDEX transmissions_order ON transmissions (channel, order_id, outbox_id)",
            "CREATE INDEX transmissions_created ON transmissions (created_at)",
            """
            CREATE TABLE transmission_attempts (
                id \(flavor.autoIncrementKey),
                transmission_id BIGINT NOT NULL REFERENCES transmissions (id),
                attempt INTEGER NOT NULL,
                started_at BIGINT NOT NULL,
                duration_us BIGINT NOT NULL,
                http_status INTEGER,
                error TEXT,
                response_excerpt TEXT
            )
            """,
            "CREATE INDEX transmission_attempts_transmission ON transmission_attempts (transmission_id, attempt)",
            """
            CREATE TABLE inbound_events (
                event_id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                order_id TEXT NOT NULL,
                received_at BIGINT NOT NULL,
                outcome TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE notification_receipts (
                dedupe_key TEXT PRIMARY KEY,
                order_id TEXT NOT NULL,
                medium TEXT NOT NULL,
                recipient TEXT NOT NULL,
                sent_at BIGINT NOT NULL
            )
            """,
            "ALTER TABLE orders ADD COLUMN tracking_id TEXT",
            "ALTER TABLE orders ADD COLUMN carrier TEXT",
            "ALTER TABLE orders ADD COLUMN reservation_id TEXT",
            "ALTER TABLE orders ADD COLUMN payment_reference TEXT",
            "ALTER TABLE orders ADD COLUMN failure_reason TEXT",
        ]
    },
    revert: { _ in
        ["failure_reason", "payment_reference", "reservation_id", "carrier", "tracking_id"].map {
            "ALTER TABLE orders DROP COLUMN \($0)"
        }
            + [
                "notification_receipts", "inbound_events", "transmission_attempts", "transmissions", "dead_letters",
                "jobs",
            ].map { "DROP TABLE \($0)" }
    })
