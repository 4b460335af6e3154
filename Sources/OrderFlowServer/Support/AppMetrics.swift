import CoreMetrics
import Foundation
import Metrics
import Prometheus
import Synchronization

/// The application's own metrics, created from an injected factory so tests can read them and
/// no global state is needed. Names follow the documents (`o2o_*`).
public final class AppMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    /// For other modules' metrics (the pipeline's) to land in the same registry.
    public let factory: PrometheusMetricsFactory

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
            .map { Duration.milliseconds($0 * 1000) }
        // Acknowledgements take seconds, and the 30 s threshold must fall on a bucket edge.
        factory.durationHistogramBuckets["o2o_transmission_ack_latency_seconds"] =
            [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300].map { Duration.milliseconds($0 * 1000) }
        self.factory = factory
        // The order counters exist (at 0) from the start, so rules and dashboards see a series
        // before the first order; the engine counts them.
        for label in ["o2o_orders_ingested_total", "o2o_orders_rejected_total", "o2o_orders_failed_total"] {
            _ = CoreMetrics.Counter(label: label, factory: factory)
        }
    }

    func recordRequest(method: String, route: String, status: Int, duration: Duration) {
        let dimensions = [("method", method), ("route", route), ("status", String(status))]
        CoreMetrics.Counter(label: "http_requests_total", dimensions: dimensions, factory: factory).increment()
        CoreMetrics.Timer(
            label: "http_request_duration_seconds", dimensions: [("method", method), ("route", route)], factory: factory
        )
        .recordNanoseconds(duration.nanoseconds)
    }

    /// A request refused with 429, by who sent it (`user`, `api_key`, `anonymous`) and route.
    func rateLimited(principalKind: String, route: String) {
        CoreMetrics.Counter(
            label: "orderflow_rate_limited_total", dimensions: [("principal_kind", principalKind), ("route", route)],
            factory: factory
        ).increment()
    }

    /// The Prometheus text exposition of every metric.
    public func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(8 * 1024)
        registry.emit(into: &buffer)
        return buffer
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
