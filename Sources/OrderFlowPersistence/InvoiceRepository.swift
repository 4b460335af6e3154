import OrderFlowDomain
import OrderFlowRuntime
import SQLKit

/// The invoice stream's storage: invoices, and the one row that says where the stream is, how far
/// viewers have been shown, and the running totals (changed in the same transaction as each
/// invoice, so they are exact and cost one row to read).
public struct InvoiceRepository: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// The stream's row.
    public struct Stream: Sendable, Hashable {
        public var state: InvoiceStreamState
        public var cycle: Int64
        public var cycleStartedAt: Timestamp?
        public var stoppedAt: Timestamp?
        /// The newest invoice viewers have been shown (0: none yet).
        public var displayedThrough: Int64
        public var stats: InvoiceStats
    }

    public enum Refusal: Error, Equatable {
        /// The stream is not in a state the change may start from.
        case notIn(InvoiceStreamState)
    }

    public func stream() async throws -> Stream {
        try await database.read { db in try await Self.stream(db) }
    }

    static func stream(_ db: any SQLDatabase) async throws -> Stream {
        guard let row = try await db.raw("SELECT * FROM invoice_stream WHERE id = 1").first() else {
            throw PersistenceError.corruptRow(
                table: "invoice_stream", column: "id", value: "missing (migrations not applied)")
        }
        return try row.decode(InvoiceStreamRow.self).stream()
    }

    /// Starts a new cycle at `now` when the stream is idle; returns the stream as it now is.
    public func startCycle(at now: Timestamp) async throws -> Stream {
        try await database.transaction { db in
            let current = try await Self.stream(db)
            guard current.state == .idle else { throw Refusal.notIn(current.state) }
            try await db.raw(
                """
                UPDATE invoice_stream SET state = 'running', cycle = cycle + 1,
                    cycle_started_at = \(bind: now.microseconds),
                stopped_at = NULL, updated_at = \(bind: now.microseconds) WHERE id = 1 AND state = 'idle'
                """
            ).run()
            let stream = try await Self.stream(db)
            LiveFeed.record(Self.stateEvent(stream))
            return stream
        }
    }

    /// Moves the stream to `state` if it is in one of `from`; returns the stream as it now is.
    public func move(to state: InvoiceStreamState, from: Set<InvoiceStreamState>, at now: Timestamp) async throws
        -> Stream
    {
        try await database.transaction { db in
            let current = try await Self.stream(db)
            guard from.contains(current.state) else { throw Refusal.notIn(current.state) }
            if current.state == state { return current }
            let stopped = state == .stopping ? now.microseconds : current.stoppedAt?.microseconds
            try await db.raw(
                """
                UPDATE invoice_stream SET state = \(bind: state.rawValue), stopped_at = \(bind: stopped),
                    updated_at = \(bind: now.microseconds) WHERE id = 1
                """
            ).run()
            let stream = try await Self.stream(db)
            LiveFeed.record(Self.stateEvent(stream))
            return stream
        }
    }

    /// Stores `invoice` and adds it to the totals, in one transaction; an invoice whose number is
    /// stored already (a restarted producer making it again) changes nothing. Returns the stored
    /// invoice and whether this call stored it.
    public func insert(_ invoice: Invoice, at now: Timestamp) async throws -> (invoice: Invoice, inserted: Bool) {
        try await database.transaction { db in
            let amounts = invoice.amounts
            let rows = try await db.raw(
                """
                INSERT INTO invoices (invoice_number, cycle, cycle_index, invoice_date, seller_name, buyer_name,
                    subtotal_cents, vat_cents, total_cents, created_at)
                VALUES (\(bind: invoice.number), \(bind: invoice.cycle), \(bind: invoice.index),
                    \(bind: invoice.issuedAt.microseconds), \(bind: invoice.seller),
                \(bind: invoice.buyer), \(bind: amounts.subtotalCents), \(bind: amounts.vatCents),
                    \(bind: amounts.totalCents), \(bind: now.microseconds))
                ON CONFLICT (invoice_number) DO NOTHING RETURNING id
                """
            ).all()
            guard let row = rows.first else {
                guard
                    let stored = try await db.raw(
                        "SELECT * FROM invoices WHERE invoice_number = \(bind: invoice.number)"
                    ).first()
                else {
                    throw PersistenceError.corruptRow(
                        table: "invoices", column: "invoice_number", value: invoice.number)
                }
                return (try Self.invoice(stored), false)
            }
            var stored = invoice
            stored.id = try row.decode(column: "id", as: Int64.self)
            try await db.raw(
                """
                UPDATE invoice_stream SET invoice_count = invoice_count + 1,
                    subtotal_cents = subtotal_cents + \(bind: amounts.subtotalCents),
                vat_cents = vat_cents + \(bind: amounts.vatCents),
                    total_cents = total_cents + \(bind: amounts.totalCents) WHERE id = 1
                """
            ).run()
            let stats = try await Self.stream(db).stats
            LiveFeed.record(
                FeedEvent(
                    topic: .invoice, type: "invoice.produced",
                    fields: Self.fields(stored) + [("made", .int(Int64(invoice.index + 1)))] + Self.fields(stats)))
            return (stored, true)
        }
    }

    /// How many invoices of `cycle` are stored: where a restarted producer goes on from.
    public func produced(inCycle cycle: Int64) async throws -> Int {
        try await database.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM invoices WHERE cycle = \(bind: cycle)").first()?.decode(
                column: "n", as: Int.self) ?? 0
        }
    }

    /// The next invoices viewers have not been shown, oldest first.
    public func notShown(after id: Int64, limit: Int) async throws -> [Invoice] {
        try await database.read { db in
            try await db.raw("SELECT * FROM invoices WHERE id > \(bind: id) ORDER BY id LIMIT \(bind: limit)").all()
                .map(Self.invoice)
        }
    }

    /// How many stored invoices viewers have not been shown.
    public func backlog(after id: Int64) async throws -> Int {
        try await database.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM invoices WHERE id > \(bind: id)").first()?.decode(
                column: "n", as: Int.self) ?? 0
        }
    }

    /// Notes that viewers have been shown every invoice up to `id`.
    public func shown(through id: Int64, at now: Timestamp) async throws {
        try await database.transaction { db in
            try await db.raw(
                """
                UPDATE invoice_stream SET displayed_through = \(bind: id),
                    updated_at = \(bind: now.microseconds) WHERE id = 1 AND displayed_through < \(bind: id)
                """
            ).run()
        }
    }

    /// Invoices newest first, before `beforeID` when given; `shownOnly` leaves out those not shown yet.
    public func list(beforeID: Int64?, limit: Int, shownOnly: Bool) async throws -> [Invoice] {
        try await database.read { db in
            var conditions: [SQLQueryString] = []
            if let beforeID { conditions.append("id < \(bind: beforeID)") }
            if shownOnly { conditions.append("id <= (SELECT displayed_through FROM invoice_stream WHERE id = 1)") }
            let filter: SQLQueryString = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
            return try await db.raw("SELECT * FROM invoices\(filter) ORDER BY id DESC LIMIT \(bind: limit)").all().map(
                Self.invoice)
        }
    }

    public func invoice(_ id: Int64) async throws -> Invoice? {
        try await database.read { db in
            try await db.raw("SELECT * FROM invoices WHERE id = \(bind: id)").first().map(Self.invoice)
        }
    }

    /// The totals summed over the table: for tests and checks, never for serving.
    public func recount() async throws -> InvoiceStats {
        try await database.read { db in
            guard
                let row = try await db.raw(
                    """
                    SELECT COUNT(*) AS n, CAST(SUM(subtotal_cents) AS BIGINT) AS s,
                        CAST(SUM(vat_cents) AS BIGINT) AS v, CAST(SUM(total_cents) AS BIGINT) AS t FROM invoices
                    """
                ).first()
            else { return InvoiceStats() }
            return InvoiceStats(
                count: try row.decode(column: "n", as: Int64.self),
                subtotalCents: try row.decode(column: "s", as: Int64?.self) ?? 0,
                vatCents: try row.decode(column: "v", as: Int64?.self) ?? 0,
                totalCents: try row.decode(column: "t", as: Int64?.self) ?? 0)
        }
    }

    // MARK: Rows and events

    static func invoice(_ row: any SQLRow) throws -> Invoice {
        try row.decode(InvoiceRow.self).invoice()
    }

    public static func fields(_ invoice: Invoice) -> [(String, FeedEvent.Value)] {
        [
            ("invoiceId", .int(invoice.id)), ("invoiceNumber", .string(invoice.number)),
            ("invoiceDate", .string(invoice.issuedAt.description)),
            ("seller", .string(invoice.seller)), ("buyer", .string(invoice.buyer)),
            ("subtotal", .string(InvoiceAmounts.text(invoice.amounts.subtotalCents))),
            ("vat", .string(InvoiceAmounts.text(invoice.amounts.vatCents))),
            ("total", .string(InvoiceAmounts.text(invoice.amounts.totalCents))),
        ]
    }

    public static func fields(_ stats: InvoiceStats) -> [(String, FeedEvent.Value)] {
        [
            ("count", .int(stats.count)), ("totalAmount", .string(InvoiceAmounts.text(stats.totalCents))),
            ("totalVat", .string(InvoiceAmounts.text(stats.vatCents))),
            ("averageAmount", stats.averageCents.map { .string(InvoiceAmounts.text($0)) } ?? .null),
        ]
    }

    static func stateEvent(_ stream: Stream) -> FeedEvent {
        FeedEvent(
            topic: .invoice, type: "invoice.state",
            fields: [("state", .string(stream.state.rawValue)), ("cycle", .int(stream.cycle))])
    }
}

struct InvoiceStreamRow: TableRow {
    static let table = "invoice_stream"
    var state: String
    var cycle: Int64
    var cycleStartedAt: Int64?
    var stoppedAt: Int64?
    var displayedThrough: Int64
    var invoiceCount: Int64
    var subtotalCents: Int64
    var vatCents: Int64
    var totalCents: Int64

    func stream() throws -> InvoiceRepository.Stream {
        InvoiceRepository.Stream(
            state: try Self.parse(state, column: "state"), cycle: cycle, cycleStartedAt: cycleStartedAt.time,
            stoppedAt: stoppedAt.time,
            displayedThrough: displayedThrough,
            stats: InvoiceStats(
                count: invoiceCount, subtotalCents: subtotalCents, vatCents: vatCents, totalCents: totalCents))
    }
}

struct InvoiceRow: TableRow {
    static let table = "invoices"
    var id: Int64
    var invoiceNumber: String
    var cycle: Int64
    var cycleIndex: Int
    var invoiceDate: Int64
    var sellerName: String
    var buyerName: String
    var subtotalCents: Int64

    func invoice() throws -> Invoice {
        guard let amounts = InvoiceAmounts(subtotalCents: subtotalCents) else {
            throw PersistenceError.corruptRow(table: Self.table, column: "subtotal_cents", value: String(subtotalCents))
        }
        var invoice = Invoice(
            cycle: cycle, index: cycleIndex, issuedAt: invoiceDate.time, seller: sellerName, buyer: buyerName,
            amounts: amounts)
        invoice.id = id
        invoice.number = invoiceNumber
        return invoice
    }
}
