import Foundation
import Histogram

/// Percentiles of a latency histogram recorded in microseconds, in milliseconds.
public struct Percentiles: Sendable, Codable, Hashable {
    public var count: UInt64
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var p999: Double
    public var max: Double
    public var mean: Double

    public init(_ histogram: Histogram<UInt64>) {
        func ms(_ microseconds: UInt64) -> Double { (Double(microseconds) / 1_000 * 1_000).rounded() / 1_000 }
        count = histogram.totalCount
        p50 = count == 0 ? 0 : ms(histogram.valueAtPercentile(50))
        p90 = count == 0 ? 0 : ms(histogram.valueAtPercentile(90))
        p99 = count == 0 ? 0 : ms(histogram.valueAtPercentile(99))
        p999 = count == 0 ? 0 : ms(histogram.valueAtPercentile(99.9))
        max = count == 0 ? 0 : ms(histogram.max)
        mean = count == 0 ? 0 : (histogram.mean / 1_000 * 1_000).rounded() / 1_000
    }

    public var line: String {
        String(
            format: "p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  (ms, %llu samples)", p50, p90, p99, p999, max,
            count)
    }
}

/// One run's figures, as printed and as written to `--json`.
public struct RunReport: Sendable, Codable {
    public var mode: String
    public var targetRate: Double
    public var seconds: Double
    public var sent: Int
    public var ok: Int
    public var errors: [String: Int]
    public var throughput: Double
    public var latency: Percentiles
    public var worstSendLagMs: Double
    /// CPU time (user + system) the load generator itself spent per request sent: on one machine
    /// it competes with the server for the same cores.
    public var generatorCpuMicrosecondsPerRequest: Double?
    public var endToEnd: EndToEndReport?
    public var stream: StreamReport?

    public init(mode: String, targetRate: Double, result: RunResult) {
        self.mode = mode
        self.targetRate = targetRate
        seconds = (result.seconds * 1_000).rounded() / 1_000
        sent = result.sent
        ok = result.ok
        errors = result.errors
        throughput = (result.throughput * 10).rounded() / 10
        latency = Percentiles(result.latency)
        worstSendLagMs = Double(result.worstSendLagMicroseconds) / 1_000
        generatorCpuMicrosecondsPerRequest = result.generatorCPUSeconds.map {
            result.sent > 0 ? ($0 / Double(result.sent) * 1e6).rounded() : 0
        }
    }

    public var text: String {
        var lines = [
            String(
                format: "%@: %d requests at %.0f/s over %.1f s: %d ok, %d errors, %.1f ok/s", mode, sent, targetRate,
                seconds, ok, errors.values.reduce(0, +), throughput),
            "  latency from intended send: " + latency.line,
        ]
        if !errors.isEmpty {
            lines.append(
                "  errors: "
                    + errors.sorted { $0.key < $1.key }.map { "\($0.key) × \($0.value)" }.joined(separator: ", "))
        }
        if let cpu = generatorCpuMicrosecondsPerRequest {
            lines.append(String(format: "  the generator used %.0f µs of CPU per request", cpu))
        }
        if worstSendLagMs > 5 {
            lines.append(
                String(
                    format: "  the generator fell behind its schedule by up to %.1f ms (client-side load)",
                    worstSendLagMs))
        }
        if let endToEnd { lines.append(contentsOf: endToEnd.lines) }
        if let stream { lines.append(contentsOf: stream.lines) }
        return lines.joined(separator: "\n")
    }
}

public struct EndToEndReport: Sendable, Codable {
    public var accepted: Int
    public var completed: Int
    public var cancelled: Int
    public var throughput: Double
    public var spanSeconds: Double
    public var total: Percentiles
    public var pipeline: Percentiles
    public var delivery: Percentiles
    public var acknowledgement: Percentiles
    public var classification: Percentiles

    public init(progress: EndToEnd.Progress, stages: EndToEnd.Stages) {
        accepted = progress.accepted
        completed = stages.completed
        cancelled = progress.cancelled
        throughput = (stages.throughput * 10).rounded() / 10
        spanSeconds = (stages.span * 1_000).rounded() / 1_000
        total = Percentiles(stages.total)
        pipeline = Percentiles(stages.pipeline)
        delivery = Percentiles(stages.delivery)
        acknowledgement = Percentiles(stages.acknowledgement)
        classification = Percentiles(stages.classification)
    }

    var lines: [String] {
        [
            String(
                format:
                    "  end to end: %d accepted, %d acknowledged and classified (%d cancelled) in %.1f s: %.1f orders/s",
                accepted, completed, cancelled, spanSeconds, throughput),
            "    accepted → classified:  " + total.line,
            "    accepted → released:    " + pipeline.line,
            "    released → delivered:   " + delivery.line,
            "    delivered → acknowledged: " + acknowledgement.line,
            "    acknowledged → classified: " + classification.line,
        ]
    }
}
