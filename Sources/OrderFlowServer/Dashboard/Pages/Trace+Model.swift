import OrderFlowDomain
import OrderFlowEngine
import OrderFlowMonitor

/// What the order trace shows: the orders a search found, and the whole way of the one it found.
enum TraceModel {
    /// The orders the caller may see that match what was typed: none, several to choose from, or
    /// the one to trace.
    struct Search: Sendable {
        let query: String
        let found: [OrderID]

        var traced: OrderID? { found.count == 1 ? found[0] : nil }

        static func load(_ query: String, from services: AppServices, for principal: Principal) async throws -> Self {
            let found = query.isEmpty ? [] : try await services.orders.find(reference: query, for: principal)
            return Self(query: query, found: found)
        }
    }

    /// One order's status history, events, transmissions with every attempt, and acknowledgements.
    struct Timeline: Sendable {
        let trace: OrderTrace
        let mayReplay: Bool

        static func load(_ id: OrderID, from services: AppServices, for principal: Principal) async throws -> Self {
            let trace = try await services.monitoring.trace(of: id, for: principal)
            return Self(trace: trace, mayReplay: principal.may(.deadLettersManage))
        }
    }
}
