import OrderFlowDomain
import OrderFlowPersistence

/// The live invoice stream as callers use it: its state, START and STOP (audited), the invoices
/// made so far and their totals. Invoices belong to no store: whoever may read them sees them all,
/// but only a caller who sees every store may start or stop the stream that serves them all.
public struct InvoiceService: Sendable {
    let stream: InvoiceStream
    let audit: AuditRepository
    let catalog: CatalogRepository
    let clock: any WallClock

    public init(stream: InvoiceStream, database: Database, clock: any WallClock) {
        self.stream = stream
        audit = AuditRepository(database: database)
        catalog = CatalogRepository(database: database, clock: clock)
        self.clock = clock
    }

    /// How many invoices a cycle makes, and how fast.
    public var pace: InvoicePace { stream.pace }

    public func status() async throws -> InvoiceStream.Status {
        try await stream.begin()
        return try await stream.status()
    }

    /// The running totals, from memory (no storage read once the stream has begun).
    public func stats() async throws -> InvoiceStats {
        try await stream.begin()
        return stream.stats
    }

    /// Invoices newest first, `limit` at a time before `beforeID`; `shownOnly` leaves out those
    /// not shown to viewers yet.
    public func invoices(before beforeID: Int64?, limit: Int, shownOnly: Bool) async throws -> [Invoice] {
        try await stream.store.list(beforeID: beforeID, limit: limit, shownOnly: shownOnly)
    }

    /// Starts a cycle when the stream is idle.
    public func start(by caller: Caller) async throws -> InvoiceStream.Status {
        try await control("invoices.start", by: caller, { try await stream.start() }) { state in
            DomainError.conflict(
                code: "invoice_stream_busy",
                message: "the invoice stream is \(state.name.lowercased()); START needs it idle")
        }
    }

    /// Stops making invoices; those made are still shown.
    public func stop(by caller: Caller) async throws -> InvoiceStream.Status {
        try await control("invoices.stop", by: caller, { try await stream.stop() }) { state in
            DomainError.conflict(
                code: "invoice_stream_not_running",
                message: "the invoice stream is \(state.name.lowercased()); STOP needs it running")
        }
    }

    /// START or STOP: carried out, audited, and answered with the status; `refused` words the
    /// error when the stream is in the wrong state.
    private func control(
        _ action: String, by caller: Caller, _ change: () async throws -> InvoiceRepository.Stream,
        refused: (InvoiceStreamState) -> DomainError
    ) async throws -> InvoiceStream.Status {
        guard try await catalog.orderScope(of: caller.principal) == .everything else {
            throw DomainError.outOfScope(
                "the invoice stream serves every store; an account scoped to stores may watch it but not start or stop it"
            )
        }
        try await stream.begin()
        do {
            _ = try await change()
        } catch InvoiceRepository.Refusal.notIn(let state) {
            throw refused(state)
        }
        try await audit.append(caller.audit(action, targetType: "invoice_stream", targetID: "1", at: clock.now()))
        return try await stream.status()
    }
}
