import OrderFlowDomain
import OrderFlowEngine

/// What the invoice page shows, section by section: the page's script fetches each section again
/// on its own (a fragment), so each is gathered from the services on its own.
enum InvoicesModel {
    /// The stream's state and cycle, and whether the caller may start and stop it.
    struct Control: Sendable {
        let status: InvoiceStream.Status
        let perCycle: Int
        let mayControl: Bool

        static func load(from services: AppServices, for principal: Principal) async throws -> Self {
            Self(
                status: try await services.invoices.status(), perCycle: services.invoices.pace.perCycle,
                mayControl: principal.may(.invoicesControl))
        }
    }

    /// Count, total, VAT and average of the invoices made.
    struct Cards: Sendable {
        let stats: InvoiceStats

        static func load(from services: AppServices) async throws -> Self {
            Self(stats: try await services.invoices.stats())
        }
    }

    /// A page of invoices already shown, newest first: the first, or the one before `before`.
    struct Rows: Sendable {
        let invoices: [Invoice]
        let now: Timestamp

        static func load(before: Int64?, from services: AppServices, now: Timestamp) async throws -> Self {
            Self(invoices: try await services.invoices.invoices(before: before, limit: 50, shownOnly: true), now: now)
        }
    }
}
