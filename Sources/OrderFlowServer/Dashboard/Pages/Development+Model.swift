import OrderFlowDomain
import OrderFlowEngine
import OrderFlowMonitor

/// What the development page shows, section by section: the page's script fetches each section
/// again on its own (a fragment), so each is gathered from the services on its own.
enum DevelopmentModel {
    /// Transmissions with errors in the window, grouped by channel and kind of failure, and the
    /// latest of them with what the downstream answered.
    struct Failures: Sendable {
        /// "channel · error class" and how many, most first, at most twelve.
        let ranking: [(label: String, value: Int)]
        let total: Int
        let recent: [Transmission]

        static func load(
            _ filters: MonitorFilters, from services: AppServices, now: Timestamp, for principal: Principal
        ) async throws -> Self {
            var filter = try filters.transmissionFilter(now: now, withStatus: false)
            filter.withErrorsOnly = true
            // Counted in the database by channel, status and error text; classed here.
            let (found, total) = try await services.monitoring.errorGroups(filter, for: principal)
            var groups: [String: Int] = [:]
            for group in found {
                let kind = errorClass(status: group.statusCode, error: group.error)
                groups["\(group.channel) · \(kind)", default: 0] += group.count
            }
            let recent = try await services.monitoring.transmissions(filter, beforeID: nil, limit: 10, for: principal)
            let ranking = groups.sorted { $0.value == $1.value ? $0.key < $1.key : $0.value > $1.value }.prefix(12)
            return Self(
                ranking: ranking.map { (label: $0.key, value: $0.value) }, total: total,
                recent: recent.items.map(\.transmission))
        }

        /// What kind of failure an attempt's outcome was, for grouping.
        static func errorClass(status: Int?, error: String?) -> String {
            if let status {
                return status >= 500
                    ? "HTTP 5xx (downstream error)"
                    : status == 429
                        ? "HTTP 429 (throttled)"
                        : status >= 400
                            ? "HTTP 4xx (refused)"
                            : "HTTP \(status)"
            }
            let text = (error ?? "").lowercased()
            if text.contains("timeout") || text.contains("timed out") || text.contains("deadline") { return "timeout" }
            if text.contains("refused") || text.contains("connect") || text.contains("reset") { return "connection" }
            if text.contains("circuit") { return "circuit open" }
            return text.isEmpty ? "no answer" : "other"
        }
    }

    /// p50/p95/p99 of acknowledgement latency in twelve slices of the window.
    struct Latency: Sendable {
        let from: Timestamp
        let to: Timestamp
        let sliceMicroseconds: Int64
        /// Per slice, oldest first: p50, p95 and p99 in seconds, nil where nothing was acknowledged.
        let percentiles: [[Double?]]

        static func load(
            _ filters: MonitorFilters, from services: AppServices, now: Timestamp, for principal: Principal
        ) async throws -> Self {
            let base = try filters.transmissionFilter(now: now, withStatus: false)
            let slices = 12
            let percentiles = try await services.monitoring.latencyPercentiles(
                base, slices: slices, at: [0.5, 0.95, 0.99], for: principal)
            let width = (base.to.microseconds - base.from.microseconds) / Int64(slices)
            return Self(from: base.from, to: base.to, sliceMicroseconds: width, percentiles: percentiles)
        }
    }

    /// The open dead letters, and whether the caller may replay or discard them.
    struct DeadLetters: Sendable {
        let letters: [DeadLetter]
        let mayManage: Bool

        static func load(from services: AppServices, for principal: Principal) async throws -> Self {
            var query = DeadLetterQuery()
            query.state = .open
            query.limit = 20
            let letters = try await services.deadLetters.search(query, for: principal).letters
            return Self(letters: letters, mayManage: principal.may(.deadLettersManage))
        }
    }

    /// The acknowledgements nobody could match, and whether the caller may link them by hand.
    struct Unmatched: Sendable {
        let records: [AcknowledgementRecord]
        let mayLink: Bool

        static func load(from services: AppServices, for principal: Principal) async throws -> Self {
            let page = try await services.monitoring.inconsistencies(
                channel: nil, beforeID: nil, limit: 20, for: principal)
            return Self(records: page.records, mayLink: principal.may(.acksLink))
        }
    }
}
