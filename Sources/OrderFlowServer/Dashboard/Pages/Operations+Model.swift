import OrderFlowDomain
import OrderFlowMonitor

/// What the operations page shows, section by section: the page's script fetches each section
/// again on its own (a fragment), so each is gathered from the services on its own.
enum OperationsModel {
    /// The counters and the per-minute chart: the filtered window, whatever the status filter says.
    struct Counters: Sendable {
        let summary: MonitoringSummary

        static func load(
            _ filters: MonitorFilters, from services: AppServices, now: Timestamp, for principal: Principal
        ) async throws -> Self {
            let filter = try filters.transmissionFilter(now: now, withStatus: false)
            return Self(summary: try await services.monitoring.summary(filter, for: principal))
        }
    }

    /// A tile per downstream channel.
    struct Channels: Sendable {
        let health: [ChannelHealth]
        let now: Timestamp

        static func load(from services: AppServices, now: Timestamp, for principal: Principal) async throws -> Self {
            Self(health: try await services.monitoring.channelHealth(for: principal), now: now)
        }
    }

    /// The latest transmissions the filters match, newest first.
    struct Transmissions: Sendable {
        let items: [TransmissionListItem]
        let now: Timestamp

        static func load(
            _ filters: MonitorFilters, from services: AppServices, now: Timestamp, for principal: Principal
        ) async throws -> Self {
            let filter = try filters.transmissionFilter(now: now)
            let page = try await services.monitoring.transmissions(filter, beforeID: nil, limit: 50, for: principal)
            return Self(items: page.items, now: now)
        }
    }

    /// The alerts still open, and whether the caller may act on them.
    struct Alerts: Sendable {
        let alerts: [Alert]
        let mayManage: Bool

        static func load(from services: AppServices, for principal: Principal) async throws -> Self {
            let page = try await services.alerts.alerts(
                states: [.firing, .pending, .acknowledged], channel: nil, beforeID: nil, limit: 20)
            return Self(alerts: page.alerts, mayManage: principal.may(.alertsManage))
        }
    }
}
