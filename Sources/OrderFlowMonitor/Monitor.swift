import Foundation
import Logging
import Metrics
import OrderFlowDomain
import OrderFlowPersistence
import OrderFlowRuntime
import ServiceLifecycle
import Synchronization

/// Monitoring as one piece: the deadline sweep that turns late transmissions delayed, the rule
/// evaluator with alert notifications, and retention. `services` are run with the application.
public struct Monitor: Sendable {
    public let settings: MonitorSettings
    public let sweeper: DeadlineSweeper
    public let evaluator: AlertEvaluator
    public let retention: Retention
    public let metrics: MonitorMetrics
    /// Transmissions, traces, channel health and acknowledgements as callers see them.
    public let monitoring: MonitoringService
    /// Alert rules, alerts and silences as people handle them.
    public let alerts: AlertService
    /// Refused acknowledgements and carrier events, told by the rate limiter, held by the sweep.
    public let throttle: CallbackThrottle

    /// - Parameters:
    ///   - channels: the downstream channels the engine delivers to (their circuits give channel health).
    ///   - ready: opened once storage is ready; the monitor's loops wait on it.
    public init(
        database: Database, settings: MonitorSettings, channels: [DownstreamChannel], ready: StartGate,
        clock: any WallClock, logger: Logger,
        metrics: any MetricsFactory, owner: String = InstanceName.make()
    ) {
        self.settings = settings
        let monitorMetrics = MonitorMetrics(factory: metrics)
        self.metrics = monitorMetrics
        var logger = logger
        logger[metadataKey: "component"] = "monitor"
        let notifiers = settings.notifiers.compactMap {
            $0.makeNotifier(emailFrom: settings.emailFrom, publicURL: settings.publicURL)
        }
        let throttle = CallbackThrottle()
        self.throttle = throttle
        sweeper = DeadlineSweeper(
            database: database, channels: channels, clock: clock, logger: logger, metrics: monitorMetrics, ready: ready,
            throttle: throttle)
        evaluator = AlertEvaluator(
            database: database, settings: settings, channels: channels.map(\.name), notifiers: notifiers, clock: clock,
            logger: logger,
            metrics: monitorMetrics, owner: owner, ready: ready)
        retention = Retention(
            database: database, settings: settings.retention, clock: clock, logger: logger, ready: ready)
        monitoring = MonitoringService(
            database: database,
            correlator: AcknowledgementCorrelator(database: database, settings: settings.correlation),
            channels: channels,
            metrics: monitorMetrics, clock: clock)
        alerts = AlertService(database: database, channels: channels.map(\.name), clock: clock)
    }

    public var services: [any Service] { [sweeper, evaluator, retention] }
}

/// Turns pending transmissions delayed as their deadlines pass (within a second of each), through
/// the deadline index, and samples the monitoring gauges.
public final class DeadlineSweeper: Service, Sendable {
    let transmissions: TransmissionRepository
    let jobs: JobRepository
    let deadLetters: DeadLetterRepository
    let alerts: AlertRepository
    let channels: [DownstreamChannel]
    let clock: any WallClock
    let logger: Logger
    let metrics: MonitorMetrics
    let ready: StartGate
    let throttle: CallbackThrottle
    /// The longest the sweep sleeps: a deadline is noticed at most this late.
    let interval: Double = 0.25
    let gaugeInterval: Double = 2

    init(
        database: Database, channels: [DownstreamChannel], clock: any WallClock, logger: Logger,
        metrics: MonitorMetrics, ready: StartGate, throttle: CallbackThrottle
    ) {
        self.throttle = throttle
        transmissions = TransmissionRepository(database: database)
        jobs = JobRepository(database: database)
        deadLetters = DeadLetterRepository(database: database)
        alerts = AlertRepository(database: database)
        self.channels = channels
        self.clock = clock
        self.logger = logger
        self.metrics = metrics
        self.ready = ready
    }

    public func run() async throws {
        let lastGauges = Mutex(Timestamp(microseconds: 0))
        try await ready.repeatUntilShutdown(every: interval, logger: logger, failure: "deadline sweep failed") {
            [self] in
            try await sweep()
            let now = clock.now()
            if now.microseconds - lastGauges.withLock({ $0 }).microseconds >= Int64(gaugeInterval * 1_000_000) {
                try await sampleGauges()
                lastGauges.withLock { $0 = now }
            }
        }
    }

    /// Classifies every transmission whose deadline has passed; returns how many turned delayed.
    @discardableResult
    public func sweep() async throws -> Int {
        var total = 0
        while true {
            let now = clock.now()
            let channels = try await transmissions.sweepDeadlines(
                now: now, deadlineBefore: throttle.sweepCutoff(now: now))
            for channel in channels { metrics.classifications.classified(channel: channel, status: .delayed) }
            total += channels.count
            if channels.count < 5_000 { return total }
        }
    }

    /// Pending and delayed per channel, channel circuits, job queue, dead letters, firing alerts.
    public func sampleGauges() async throws {
        let now = clock.now()
        let open = try await MonitoringRepository(database: transmissions.database).unacknowledged()
        for channel in channels {
            let name = channel.settings.name
            metrics.gauge("o2o_transmissions_pending", [("channel", name)], Double(open[name]?.pending ?? 0))
            metrics.gauge("o2o_transmissions_delayed", [("channel", name)], Double(open[name]?.delayed ?? 0))
            metrics.gauge("o2o_channel_up", [("channel", name)], channel.breaker.state == .closed ? 1 : 0)
        }
        let depth = try await jobs.depth(now: now)
        metrics.gauge("orderflow_jobs_queue_depth", [], Double(depth.count))
        metrics.gauge("orderflow_jobs_oldest_age_seconds", [], depth.oldestDueSeconds)
        metrics.gauge("orderflow_dead_letters_open", [], Double(try await deadLetters.count(state: .open)))
        let active = try await alerts.active()
        for severity in AlertSeverity.allCases {
            metrics.gauge(
                "o2o_alerts_firing", [("severity", severity.rawValue)],
                Double(active.filter { $0.state == .firing && $0.severity == severity }.count))
        }
    }
}
