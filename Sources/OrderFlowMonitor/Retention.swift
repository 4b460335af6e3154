import Foundation
import Logging
import OrderFlowDomain
import OrderFlowPersistence
import OrderFlowRuntime
import ServiceLifecycle

/// Runs the retention policy on a timer: each kind of history older than its configured days goes.
public final class Retention: Service, Sendable {
    let policy: RetentionRepository
    let settings: RetentionSettings
    let clock: any WallClock
    let logger: Logger
    let ready: StartGate

    init(database: Database, settings: RetentionSettings, clock: any WallClock, logger: Logger, ready: StartGate) {
        policy = RetentionRepository(database: database)
        self.settings = settings
        self.clock = clock
        self.logger = logger
        self.ready = ready
    }

    public func run() async throws {
        try await ready.repeatUntilShutdown(
            every: settings.intervalSeconds, logger: logger, failure: "retention failed"
        ) { [self] in
            let removed = try await runOnce()
            if removed.values.contains(where: { $0 > 0 }) {
                logger.info("old history removed", metadata: ["removed": "\(removed)"])
            }
        }
    }

    /// One pass over every kind; returns the rows removed per kind.
    @discardableResult
    public func runOnce() async throws -> [RetentionRepository.Kind: Int] {
        let days: [(RetentionRepository.Kind, Int)] = [
            (.acknowledgements, settings.acknowledgementDays), (.transmissions, settings.transmissionDays),
            (.alerts, settings.alertDays),
            (.deadLetters, settings.deadLetterDays), (.inboundEvents, settings.inboundEventDays),
        ]
        var removed: [RetentionRepository.Kind: Int] = [:]
        for (kind, days) in days where days > 0 {
            let cutoff = clock.now().adding(seconds: -Double(days) * 86_400)
            while true {
                let n = try await policy.purge(kind, before: cutoff)
                removed[kind, default: 0] += n
                if n < 1_000 || Task.isCancelled { break }
            }
        }
        return removed
    }
}
