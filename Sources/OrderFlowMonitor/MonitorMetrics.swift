import CoreMetrics
import Metrics
import OrderFlowDomain
import OrderFlowRuntime

/// Monitoring's gauges, sampled from the database (names in docs/monitoring.md, used by
/// deploy/monitoring-stack's rules); classifications through `ClassificationMetrics`, shared with the relay.
public struct MonitorMetrics: Sendable {
    let factory: any MetricsFactory
    public let classifications: ClassificationMetrics

    public init(factory: any MetricsFactory) {
        self.factory = factory
        classifications = ClassificationMetrics(factory: factory)
    }

    func gauge(_ label: String, _ dimensions: [(String, String)] = [], _ value: Double) {
        Gauge(label: label, dimensions: dimensions, factory: factory).record(value)
    }
}
