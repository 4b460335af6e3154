import OrderFlowDomain
import OrderFlowEngine
import OrderFlowMonitor

/// What the management page shows for the last `days`, section by section: the page's script
/// fetches each section again on its own (a fragment), so each is gathered on its own.
enum ManagementModel {
    /// The orders created in the period and how their transmissions went.
    struct KPIs: Sendable {
        let volume: OrderVolume
        let summary: MonitoringSummary

        static func load(
            days: Int, from services: AppServices, now: Timestamp, for principal: Principal
        ) async throws -> Self {
            let from = now.adding(seconds: -Double(days) * 86_400)
            let to = now.adding(seconds: 0.000001)
            let volume = try await services.orders.volume(from: from, to: to, for: principal)
            let summary = try await services.monitoring.summary(TransmissionFilter(from: from, to: to), for: principal)
            return Self(volume: volume, summary: summary)
        }
    }

    /// Orders created per hour of the last day and per day of the period (a week at least), and
    /// the period's transmissions by channel and status.
    struct Trends: Sendable {
        let hourly: [(start: Timestamp, count: Int)]
        let daily: [(start: Timestamp, count: Int)]
        let byChannel: [String: [TransmissionStatus: Int]]

        static func load(
            days: Int, from services: AppServices, now: Timestamp, for principal: Principal
        ) async throws -> Self {
            let end = now.adding(seconds: 0.000001)
            let hourly = try await services.orders.createdPerBucket(
                from: now.adding(seconds: -86_400), to: end, bucketSeconds: 3_600, for: principal)
            let daily = try await services.orders.createdPerBucket(
                from: now.adding(seconds: -Double(max(days, 7)) * 86_400), to: end, bucketSeconds: 86_400,
                for: principal)
            let period = TransmissionFilter(from: now.adding(seconds: -Double(days) * 86_400), to: end)
            let summary = try await services.monitoring.summary(period, for: principal)
            return Self(hourly: hourly, daily: daily, byChannel: summary.byChannel)
        }
    }

    /// The ten items ordered most in the period, by units.
    struct TopItems: Sendable {
        let items: [ItemSales]

        static func load(
            days: Int, from services: AppServices, now: Timestamp, for principal: Principal
        ) async throws -> Self {
            let items = try await services.orders.topItems(
                from: now.adding(seconds: -Double(days) * 86_400), to: now.adding(seconds: 0.000001), limit: 10,
                for: principal)
            return Self(items: items)
        }
    }
}
