import CoreMetrics
import Metrics
import OrderFlowDomain

/// `o2o_transmissions_classified_total{channel,status}`: every classification a transmission
/// reaches (one delayed and then acknowledged counts once as delayed, once as success_late), and
/// `o2o_transmission_ack_latency_seconds{channel}` for acknowledged ones. The relay classifies
/// what a synchronous channel acknowledged or refused; the monitor what passed its deadline or was
/// acknowledged later.
public struct ClassificationMetrics: Sendable {
    let factory: any MetricsFactory

    public init(factory: any MetricsFactory) { self.factory = factory }

    public func classified(channel: String, status: TransmissionStatus, latencySeconds: Double? = nil) {
        Counter(
            label: "o2o_transmissions_classified_total",
            dimensions: [("channel", channel), ("status", status.rawValue)], factory: factory
        )
        .increment()
        if let latencySeconds {
            Timer(label: "o2o_transmission_ack_latency_seconds", dimensions: [("channel", channel)], factory: factory)
                .recordNanoseconds(Int64(max(0, latencySeconds) * 1_000_000_000))
        }
    }
}
