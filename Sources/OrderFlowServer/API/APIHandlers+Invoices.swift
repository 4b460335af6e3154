import Foundation
import HTTPTypes
import OrderFlowAPI
import OrderFlowDomain
import OrderFlowEngine
import OrderFlowPersistence

extension APIHandlers {
    func getInvoiceStream(_ input: Operations.GetInvoiceStream.Input) async throws -> Operations.GetInvoiceStream.Output {
        .ok(.init(body: .json(try await invoiceStatus())))
    }

    func startInvoiceStream(_ input: Operations.StartInvoiceStream.Input) async throws -> Operations.StartInvoiceStream.Output {
        .ok(.init(body: .json(try await controlInvoices("invoices.start", { try await invoices.start() }) { state in
            APIError(.conflict, code: "invoice_stream_busy", message: "the invoice stream is \(state.name.lowercased()); START needs it idle")
        })))
    }

    func stopInvoiceStream(_ input: Operations.StopInvoiceStream.Input) async throws -> Operations.StopInvoiceStream.Output {
        .ok(.init(body: .json(try await controlInvoices("invoices.stop", { try await invoices.stop() }) { state in
            APIError(.conflict, code: "invoice_stream_not_running", message: "the invoice stream is \(state.name.lowercased()); STOP needs it running")
        })))
    }

    /// START or STOP: carried out, audited, and answered with the status; `refused` words the 409
    /// when the stream is in the wrong state.
    private func controlInvoices(
        _ action: String, _ change: () async throws -> InvoiceRepository.Stream, refused: (InvoiceStreamState) -> APIError
    ) async throws -> Components.Schemas.InvoiceStreamStatus {
        try await invoices.begin()
        do {
            _ = try await change()
        } catch InvoiceRepository.Refusal.notIn(let state) {
            throw refused(state)
        }
        try await AuditRepository(database: database).append(origin.entry(action, targetType: "invoice_stream", targetID: "1", at: clock.now(), details: [:]))
        return try await invoiceStatus()
    }

    func listInvoices(_ input: Operations.ListInvoices.Input) async throws -> Operations.ListInvoices.Output {
        let limit = try Self.checkedLimit(input.query.limit)
        var before: Int64?
        if let cursor = input.query.cursor {
            guard let id = Base64URL.decode(cursor).flatMap(Int64.init) else { throw APIError.invalid("cursor", rule: "format", "is not a cursor this API returned") }
            before = id
        }
        let page = try await invoices.store.list(beforeID: before, limit: limit + 1, shownOnly: input.query.shown ?? false)
        let items = page.prefix(limit)
        let next = page.count > limit ? items.last.map { Base64URL.encode(String($0.id)) } : nil
        return .ok(.init(body: .json(.init(items: items.map(Self.invoice), nextCursor: next))))
    }

    func getInvoiceStats(_ input: Operations.GetInvoiceStats.Input) async throws -> Operations.GetInvoiceStats.Output {
        try await invoices.begin()
        let clock = ContinuousClock()
        let started = clock.now
        let stats = invoices.stats
        let took = clock.now - started
        let microseconds = Double(took.components.seconds) * 1e6 + Double(took.components.attoseconds) / 1e12
        return .ok(.init(headers: .init(readMicroseconds: (microseconds * 10).rounded() / 10), body: .json(Self.invoiceStats(stats))))
    }

    // MARK: Representations

    func invoiceStatus() async throws -> Components.Schemas.InvoiceStreamStatus {
        try await invoices.begin()
        let status = try await invoices.status()
        let restarts = status.restarts
        return .init(
            state: .init(rawValue: status.state.rawValue) ?? .idle, cycle: status.cycle, cycleStartedAt: status.cycleStartedAt?.date,
            stoppedAt: status.stoppedAt?.date, produced: status.produced, perCycle: invoices.pace.perCycle, backlog: status.backlog,
            stats: Self.invoiceStats(status.stats),
            restarts: .init(
                coordinator: restarts[.coordinator] ?? 0, producer: restarts[.producer] ?? 0, pacer: restarts[.pacer] ?? 0,
                aggregator: restarts[.aggregator] ?? 0, broadcaster: restarts[.broadcaster] ?? 0))
    }

    static func invoiceStats(_ stats: InvoiceStats) -> Components.Schemas.InvoiceStats {
        .init(
            count: stats.count, totalAmount: InvoiceAmounts.text(stats.totalCents), totalVat: InvoiceAmounts.text(stats.vatCents),
            averageAmount: stats.averageCents.map(InvoiceAmounts.text))
    }

    static func invoice(_ invoice: Invoice) -> Components.Schemas.Invoice {
        .init(
            id: invoice.id, invoiceNumber: invoice.number, invoiceDate: invoice.issuedAt.date, seller: invoice.seller, buyer: invoice.buyer,
            subtotal: InvoiceAmounts.text(invoice.amounts.subtotalCents), vat: InvoiceAmounts.text(invoice.amounts.vatCents),
            total: InvoiceAmounts.text(invoice.amounts.totalCents))
    }
}
