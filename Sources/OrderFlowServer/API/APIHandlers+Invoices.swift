import Foundation
import HTTPTypes
import OrderFlowAPI
import OrderFlowDomain
import OrderFlowEngine

extension APIHandlers {
    func getInvoiceStream(_ input: Operations.GetInvoiceStream.Input) async throws -> Operations.GetInvoiceStream.Output
    {
        .ok(.init(body: .json(invoiceStatus(try await services.invoices.status()))))
    }

    func startInvoiceStream(_ input: Operations.StartInvoiceStream.Input) async throws
        -> Operations.StartInvoiceStream.Output
    {
        .ok(.init(body: .json(invoiceStatus(try await services.invoices.start(by: try caller)))))
    }

    func stopInvoiceStream(_ input: Operations.StopInvoiceStream.Input) async throws
        -> Operations.StopInvoiceStream.Output
    {
        .ok(.init(body: .json(invoiceStatus(try await services.invoices.stop(by: try caller)))))
    }

    func listInvoices(_ input: Operations.ListInvoices.Input) async throws -> Operations.ListInvoices.Output {
        let limit = try Self.checkedLimit(input.query.limit)
        let page = try await services.invoices.invoices(
            before: try Self.cursorID(input.query.cursor), limit: limit + 1, shownOnly: input.query.shown ?? false)
        let items = page.prefix(limit)
        let next = page.count > limit ? Self.cursor(items.last?.id) : nil
        return .ok(.init(body: .json(.init(items: items.map(Self.invoice), nextCursor: next))))
    }

    func getInvoiceStats(_ input: Operations.GetInvoiceStats.Input) async throws -> Operations.GetInvoiceStats.Output {
        let clock = ContinuousClock()
        let started = clock.now
        let stats = try await services.invoices.stats()
        let took = clock.now - started
        let microseconds = Double(took.components.seconds) * 1e6 + Double(took.components.attoseconds) / 1e12
        return .ok(
            .init(
                headers: .init(readMicroseconds: (microseconds * 10).rounded() / 10),
                body: .json(Self.invoiceStats(stats))))
    }

    // MARK: Representations

    func invoiceStatus(_ status: InvoiceStream.Status) -> Components.Schemas.InvoiceStreamStatus {
        let restarts = status.restarts
        return .init(
            state: .init(rawValue: status.state.rawValue) ?? .idle, cycle: status.cycle,
            cycleStartedAt: status.cycleStartedAt?.date,
            stoppedAt: status.stoppedAt?.date, produced: status.produced, perCycle: services.invoices.pace.perCycle,
            backlog: status.backlog,
            stats: Self.invoiceStats(status.stats),
            restarts: .init(
                coordinator: restarts[.coordinator] ?? 0, producer: restarts[.producer] ?? 0,
                pacer: restarts[.pacer] ?? 0,
                aggregator: restarts[.aggregator] ?? 0, broadcaster: restarts[.broadcaster] ?? 0))
    }

    static func invoiceStats(_ stats: InvoiceStats) -> Components.Schemas.InvoiceStats {
        .init(
            count: stats.count, totalAmount: InvoiceAmounts.text(stats.totalCents),
            totalVat: InvoiceAmounts.text(stats.vatCents),
            averageAmount: stats.averageCents.map(InvoiceAmounts.text))
    }

    static func invoice(_ invoice: Invoice) -> Components.Schemas.Invoice {
        .init(
            id: invoice.id, invoiceNumber: invoice.number, invoiceDate: invoice.issuedAt.date, seller: invoice.seller,
            buyer: invoice.buyer,
            subtotal: InvoiceAmounts.text(invoice.amounts.subtotalCents),
            vat: InvoiceAmounts.text(invoice.amounts.vatCents),
            total: InvoiceAmounts.text(invoice.amounts.totalCents))
    }
}
