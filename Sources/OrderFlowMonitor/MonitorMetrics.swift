import CoreMetrics
import Metrics
import OrderFlowDomain
import OrderFlowEngine

/// Monitoring's gauges, sampled from the database (names in docs/monitoring.md, used by
/// deploy/monitoring-stack's rules); classifications are counted through the pipeline's metrics.
public struct MonitorMetrics: Sendable {
    let factory: any MetricsFactory
    public let pipeline: PipelineMetrics

    public init(factory: any MetricsFactory) {
        self.factory = factory
        pipeline = PipelineMetrics(factory: factory)
    }

    func gauge(_ label: String, _ dimensions: [(String, String)] = [], _ value: Double) {
        Gauge(label: label, dimensions: dimensions, factory: factory).record(value)
    }
}
