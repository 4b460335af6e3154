/// Monitoring: transmission classification with an index on the deadline, acknowledgements from
/// downstream and how they matched, alert rules, alerts with their history, silences, alert
/// notification receipts, and leases (one rule evaluator at a time across instances).
let m0004Monitoring = Migration(
    version: 4, name: "monitoring",
    apply: { flavor in
        [
            """
            ALTER TABLE transmissions ADD COLUMN classification TEXT NOT NULL DEFAULT 'pending'
                CHECK (classification IN ('pending', 'success', 'success_late', 'delayed', 'failed'))
            """,
            "ALTER TABLE transmissions ADD COLUMN classified_at BIGINT",
            "ALTER TABLE transmissions ADD COLUMN ack_latency_us BIGINT",
            "ALTER TABLE transmissions ADD COLUMN order_key TEXT NOT NULL DEFAULT ''",
            // The deadline sweep reads only pending rows in deadline order.
            "CREATE INDEX transmissions_deadline ON transmissions (classification, ack_deadline)",
            "CREATE INDEX transmissions_order_key ON transmissions (channel, order_key)",
            "CREATE INDEX transmissions_channel_created ON transmissions (channel, created_at)",
            "CREATE INDEX transmission_attempts_started ON transmission_attempts (started_at)",
            """
            CREATE TABLE acknowledgements (
                id \(flavor.autoIncrementKey),
                channel TEXT NOT NULL,
                reference TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('accepted', 'rejected')),
                occurred_at BIGINT NOT NULL,
                received_at BIGINT NOT NULL,
                event_id TEXT,
                order_ref TEXT,
                amount BIGINT,
                reason TEXT,
                transmission_id BIGINT REFERENCES transmissions (id),
                match_method TEXT CHECK (match_method IN ('event_id', 'order_id', 'normalized_order_id', \
            'amount_window', 'manual')),
                confidence DOUBLE PRECISION,
                outcome TEXT NOT NULL CHECK (outcome IN ('matched', 'unmatched', 'ambiguous', 'duplicate', \
            'contradiction', 'linked')),
                detail TEXT,
                linked_by TEXT,
                linked_at BIGINT
            )
            """,
            "CREATE INDEX acknowledgements_outcome ON acknowledgements (outcome, id)",
            "CREATE INDEX acknowledgements_transmission ON acknowledgements (transmission_id)",
            "CREATE INDEX acknowledgements_reference ON acknowledgements (channel, reference)",
            "CREATE INDEX acknowledgements_received ON acknowledgements (received_at)",
            """
            CREATE TABLE alert_rules (
                id \(flavor.autoIncrementKey),
                name TEXT NOT NULL UNIQUE,
                kind TEXT NOT NULL,
                channel TEXT,
                threshold DOUBLE PRECISION NOT NULL,
                window_seconds INTEGER NOT NULL,
                for_seconds INTEGER NOT NULL,
                severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
                min_volume INTEGER NOT NULL,
                enabled BOOLEAN NOT NULL,
                description TEXT,
                origin TEXT NOT NULL CHECK (origin IN ('configuration', 'api')),
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE alerts (
                id \(flavor.autoIncrementKey),
                rule_id BIGINT NOT NULL,
                rule_name TEXT NOT NULL,
                kind TEXT NOT NULL,
                fingerprint TEXT NOT NULL,
                channel TEXT,
                severity TEXT NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('pending', 'firing', 'acknowledged', 'resolved')),
                summary TEXT NOT NULL,
                value DOUBLE PRECISION,
                threshold DOUBLE PRECISION NOT NULL,
                pending_since BIGINT NOT NULL,
                fired_at BIGINT,
                acknowledged_at BIGINT,
                acknowledged_by TEXT,
                ack_comment TEXT,
                ack_expires_at BIGINT,
                resolved_at BIGINT,
                resolved_by TEXT,
                silenced BOOLEAN NOT NULL,
                last_evaluated_at BIGINT NOT NULL
            )
            """,
            // At most one active alert per fingerprint; a breach after resolution is a new row.
            "CREATE UNIQUE INDEX alerts_active ON alerts (fingerprint) WHERE state <> 'resolved'",
            "CREATE INDEX alerts_state ON alerts (state, id)",
            """
            CREATE TABLE alert_history (
                id \(flavor.autoIncrementKey),
                alert_id BIGINT NOT NULL REFERENCES alerts (id),
                at BIGINT NOT NULL,
                from_state TEXT,
                to_state TEXT NOT NULL,
                actor TEXT NOT NULL,
                comment TEXT,
                value DOUBLE PRECISION
            )
            """,
            "CREATE INDEX alert_history_alert ON alert_history (alert_id, id)",
            """
            CREATE TABLE silences (
                id \(flavor.autoIncrementKey),
                matchers TEXT NOT NULL,
                starts_at BIGINT NOT NULL,
                ends_at BIGINT NOT NULL,
                created_by TEXT NOT NULL,
                comment TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                CHECK (ends_at > starts_at)
            )
            """,
            """
            CREATE TABLE alert_notifications (
                id \(flavor.autoIncrementKey),
                alert_id BIGINT NOT NULL REFERENCES alerts (id),
                notifier TEXT NOT NULL,
                event TEXT NOT NULL CHECK (event IN ('firing', 'resolved')),
                state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
                attempts INTEGER NOT NULL,
                next_attempt_at BIGINT NOT NULL,
                last_error TEXT,
                sent_at BIGINT,
                fallback_for TEXT,
                created_at BIGINT NOT NULL,
                UNIQUE (alert_id, notifier, event)
            )
            """,
            "CREATE INDEX alert_notifications_due ON alert_notifications (state, next_attempt_at)",
            """
            CREATE TABLE leases (
                name TEXT PRIMARY KEY,
                owner TEXT NOT NULL,
                expires_at BIGINT NOT NULL
            )
            """,
        ]
    },
    revert: { _ in
        ["leases", "alert_notifications", "silences", "alert_history", "alerts", "alert_rules", "acknowledgements"].map
        { "DROP TABLE \($0)" }
            + [
                "transmission_attempts_started", "transmissions_channel_created", "transmissions_order_key",
                "transmissions_deadline",
            ].map { "DROP INDEX \($0)" }
            + ["order_key", "ack_latency_us", "classified_at", "classification"].map {
                "ALTER TABLE transmissions DROP COLUMN \($0)"
            }
    })
