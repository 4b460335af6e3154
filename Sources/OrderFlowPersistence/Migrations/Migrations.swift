/// Every schema change, in order. Append; never edit a landed one.
public enum Migrations {
    public static let all: [Migration] = [
        m0001OrderCore, m0002Security, m0003Pipeline, m0004Monitoring, m0005Invoices, m0006RegistrantCustomers,
        m0007SignInAttempts, m0008InboundEventsPerStore, m0009RateLimits,
    ]
}

/// Money columns hold units of 0.0001 (BIGINT, the exact equivalent of DECIMAL(18,4)); time
/// columns hold UTC microseconds since 1970 (BIGINT).
let m0001OrderCore = Migration(
    version: 1, name: "order core",
    apply: { flavor in
        [
            """
            CREATE TABLE locations (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                region TEXT NOT NULL,
                format TEXT NOT NULL CHECK (format IN ('qc_smf', 'standard')),
                created_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE products (
                sku TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                search_text TEXT NOT NULL,
                description TEXT,
                category TEXT NOT NULL,
                unit_price BIGINT NOT NULL CHECK (unit_price >= 0),
                tax_rate BIGINT NOT NULL CHECK (tax_rate >= 0 AND tax_rate <= 1000000),
                tax_included BOOLEAN NOT NULL,
                image_url TEXT,
                active BOOLEAN NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX products_category ON products (category, sku)",
            """
            CREATE TABLE stock (
                sku TEXT NOT NULL REFERENCES products (sku),
                location_id TEXT NOT NULL REFERENCES locations (id),
                on_hand BIGINT NOT NULL CHECK (on_hand >= 0),
                reserved BIGINT NOT NULL CHECK (reserved >= 0 AND reserved <= on_hand),
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (sku, location_id)
            )
            """,
            """
            CREATE TABLE reservations (
                reservation_id TEXT PRIMARY KEY,
                location_id TEXT NOT NULL REFERENCES locations (id),
                order_id TEXT,
                status TEXT NOT NULL CHECK (status IN ('reserved', 'released')),
                request_hash TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                released_at BIGINT
            )
            """,
            "CREATE INDEX reservations_order ON reservations (order_id)",
            """
            CREATE TABLE reservation_items (
                reservation_id TEXT NOT NULL REFERENCES reservations (reservation_id),
                sku TEXT NOT NULL,
                quantity BIGINT NOT NULL CHECK (quantity > 0),
                PRIMARY KEY (reservation_id, sku)
            )
            """,
            """
            CREATE TABLE orders (
                seq \(flavor.autoIncrementKey),
                order_id TEXT NOT NULL UNIQUE,
                location_id TEXT NOT NULL REFERENCES locations (id),
                order_type TEXT NOT NULL,
                channel TEXT NOT NULL,
                is_force_allocation BOOLEAN NOT NULL,
                payment_method TEXT NOT NULL,
                payment_status TEXT NOT NULL,
                status INTEGER NOT NULL,
                customer_id TEXT,
                customer_name TEXT NOT NULL,
                customer_search TEXT NOT NULL,
                customer_email TEXT,
                customer_phone TEXT,
                delivery_address TEXT,
                t1_membership_id TEXT,
                t1_number TEXT,
                cust_ref TEXT,
                charges TEXT NOT NULL,
                sub_total BIGINT NOT NULL,
                total_discount BIGINT NOT NULL,
                total_taxes BIGINT NOT NULL,
                informational_taxes BIGINT NOT NULL,
                total_fees BIGINT NOT NULL,
                total_charge BIGINT NOT NULL,
                order_total BIGINT NOT NULL CHECK (order_total >= 0),
                rounding_adjustment BIGINT NOT NULL,
                line_count INTEGER NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                version INTEGER NOT NULL
            )
            """,
            "CREATE INDEX orders_created ON orders (created_at, seq)",
            "CREATE INDEX orders_status_created ON orders (status, created_at)",
            "CREATE INDEX orders_location_created ON orders (location_id, created_at)",
            "CREATE INDEX orders_customer ON orders (customer_id)",
            "CREATE INDEX orders_updated ON orders (updated_at)",
            """
            CREATE TABLE order_lines (
                order_id TEXT NOT NULL REFERENCES orders (order_id),
                line_number INTEGER NOT NULL,
                sku TEXT NOT NULL,
                quantity INTEGER NOT NULL CHECK (quantity > 0),
                unit_price BIGINT NOT NULL CHECK (unit_price >= 0),
                original_unit_price BIGINT NOT NULL,
                discounts TEXT NOT NULL,
                taxes TEXT NOT NULL,
                short_description TEXT,
                image_url TEXT,
                bundle_ref TEXT,
                gross BIGINT NOT NULL,
                discount BIGINT NOT NULL,
                net BIGINT NOT NULL,
                tax BIGINT NOT NULL,
                included_tax BIGINT NOT NULL,
                total BIGINT NOT NULL,
                PRIMARY KEY (order_id, line_number)
            )
            """,
            """
            CREATE TABLE order_status_history (
                id \(flavor.autoIncrementKey),
                order_id TEXT NOT NULL REFERENCES orders (order_id),
                status INTEGER NOT NULL,
                payment_status TEXT NOT NULL,
                reason TEXT,
                actor TEXT NOT NULL,
                at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX order_status_history_order ON order_status_history (order_id, id)",
            """
            CREATE TABLE idempotency_keys (
                scope TEXT NOT NULL,
                idempotency_key TEXT NOT NULL,
                request_hash TEXT NOT NULL,
                status_code INTEGER NOT NULL,
                response_body TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (scope, idempotency_key)
            )
            """,
            "CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at)",
            """
            CREATE TABLE outbox (
                id \(flavor.autoIncrementKey),
                event_id TEXT NOT NULL UNIQUE,
                event_type TEXT NOT NULL,
                order_id TEXT NOT NULL,
                payload TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                published_at BIGINT
            )
            """,
            "CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL",
            "CREATE INDEX outbox_order ON outbox (order_id, id)",
        ]
    },
    revert: { _ in
        [
            "outbox", "idempotency_keys", "order_status_history", "order_lines", "orders",
            "reservation_items", "reservations", "stock", "products", "locations",
        ].map { "DROP TABLE \($0)" }
    })
