import Foundation
import Logging
import Metrics
import Prometheus

/// Process-wide set-up that only `main` does: where logs go, and where library metrics go.
public enum ProcessBootstrap {
    /// Call once, before anything logs.
    public static func logging(_ config: AppConfiguration) {
        LoggingSystem.bootstrap { label in
            switch config.logFormat {
            case .json:
                return JSONLogHandler(label: label, level: config.logLevel)
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = config.logLevel
                return handler
            }
        }
    }

    /// Sends metrics of libraries (HTTP server, database client) to the same registry as ours.
    public static func metrics(_ metrics: AppMetrics) {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics.registry))
    }
}
