import CoreMetrics
import Metrics
import OrderFlowDomain
import OrderFlowRuntime

/// The pipeline's counters, from an injected factory (tests read their own).
public struct PipelineMetrics: Sendable {
    let factory: any MetricsFactory
    let classifications: ClassificationMetrics

    public init(factory: any MetricsFactory) {
        self.factory = factory
        classifications = ClassificationMetrics(factory: factory)
    }

    /// `o2o_orders_ingested_total`: orders accepted at intake.
    func ordersIngested(_ count: Int = 1) {
        Counter(label: "o2o_orders_ingested_total", factory: factory).increment(by: count)
    }

    /// `o2o_orders_rejected_total`: orders refused at intake (a rule broken).
    func orderRejected() {
        Counter(label: "o2o_orders_rejected_total", factory: factory).increment()
    }

    func stepCompleted(_ step: OrderPipeline.Step) {
        Counter(label: "orderflow_pipeline_steps_total", dimensions: [("step", step.rawValue)], factory: factory)
            .increment()
    }

    /// `o2o_orders_failed_total`: orders the pipeline could not complete (stock, payment).
    func orderFailed(reason: String) {
        Counter(label: "o2o_orders_failed_total", factory: factory).increment()
        Counter(label: "orderflow_orders_failed_total", dimensions: [("reason", reason)], factory: factory).increment()
    }

    func notificationSent(_ medium: String) {
        Counter(label: "orderflow_notifications_sent_total", dimensions: [("medium", medium)], factory: factory)
            .increment()
    }

    /// `orderflow_job_batches_total` and `orderflow_job_batch_jobs_total` per kind: their ratio is
    /// how full the batches run.
    func batchRan(kind: String, jobs: Int) {
        Counter(label: "orderflow_job_batches_total", dimensions: [("kind", kind)], factory: factory).increment()
        Counter(label: "orderflow_job_batch_jobs_total", dimensions: [("kind", kind)], factory: factory)
            .increment(by: jobs)
    }

    func jobFailed(kind: String, dead: Bool) {
        Counter(
            label: "orderflow_job_failures_total",
            dimensions: [("kind", kind), ("outcome", dead ? "dead_letter" : "retry")], factory: factory
        ).increment()
    }

    func transmission(channel: String, outcome: String, seconds: Double) {
        Counter(
            label: "o2o_transmissions_total", dimensions: [("channel", channel), ("outcome", outcome)], factory: factory
        ).increment()
        Timer(label: "o2o_transmission_attempt_seconds", dimensions: [("channel", channel)], factory: factory)
            .recordNanoseconds(Int64(seconds * 1_000_000_000))
    }
}
