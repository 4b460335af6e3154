/// The live invoice stream (seed 003): invoices with their arithmetic checked by the database, and
/// one row holding the stream's state, how far viewers have been shown, and the running totals.
let m0005Invoices = Migration(
    version: 5, name: "invoice stream",
    apply: { flavor in
        [
            """
            CREATE TABLE invoices (
                id \(flavor.autoIncrementKey),
                invoice_number TEXT NOT NULL UNIQUE CHECK (LENGTH(invoice_number) BETWEEN 1 AND 50),
                cycle BIGINT NOT NULL,
                cycle_index INTEGER NOT NULL CHECK (cycle_index >= 0),
                invoice_date BIGINT NOT NULL,
                seller_name TEXT NOT NULL CHECK (LENGTH(seller_name) BETWEEN 1 AND 255),
                buyer_name TEXT NOT NULL CHECK (LENGTH(buyer_name) BETWEEN 1 AND 255),
                subtotal_cents BIGINT NOT NULL CHECK (subtotal_cents > 0 AND subtotal_cents < 100000000000),
                vat_cents BIGINT NOT NULL CHECK (vat_cents > 0 AND vat_cents = (subtotal_cents * 15 + 50) / 100),
                total_cents BIGINT NOT NULL CHECK (total_cents = subtotal_cents + vat_cents),
                created_at BIGINT NOT NULL,
                UNIQUE (cycle, cycle_index)
            )
            """,
            """
            CREATE TABLE invoice_stream (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                state TEXT NOT NULL CHECK (state IN ('idle', 'running', 'stopping', 'processing_backlog')),
                cycle BIGINT NOT NULL,
                cycle_started_at BIGINT,
                stopped_at BIGINT,
                displayed_through BIGINT NOT NULL,
                invoice_count BIGINT NOT NULL CHECK (invoice_count >= 0),
                subtotal_cents BIGINT NOT NULL,
                vat_cents BIGINT NOT NULL,
                total_cents BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            """
            INSERT INTO invoice_stream (id, state, cycle, displayed_through, invoice_count, subtotal_cents, vat_cents, \
            total_cents, updated_at)
            VALUES (1, 'idle', 0, 0, 0, 0, 0, 0, 0)
            """,
        ]
    },
    revert: { _ in
        ["DROP TABLE invoice_stream", "DROP TABLE invoices"]
    }
)
