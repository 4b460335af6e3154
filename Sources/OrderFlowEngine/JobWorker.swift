import Foundation
import Logging
import OrderFlowDomain
import OrderFlowPersistence
import OrderFlowRuntime
import ServiceLifecycle
import Synchronization

/// Runs queued jobs: claims due ones atomically, keeps their leases alive while they run, gives
/// each step a time limit, retries failures with exponential backoff and jitter, and moves a job
/// that used up its attempts to the dead letters. Several instances can run on one PostgreSQL:
/// a job runs on one of them at a time, and one whose instance died is taken over when its lease
/// expires.
public final class JobWorker: Service, Sendable {
    let queue: JobRepository
    let pipeline: OrderPipeline
    let settings: EngineSettings
    let clock: any WallClock
    let logger: Logger
    let metrics: PipelineMetrics
    /// Identifies this instance's leases.
    public let owner: String
    let wakeup = Wakeup()
    let ready: StartGate

    public init(
        database: Database, pipeline: OrderPipeline, settings: EngineSettings, clock: any WallClock, logger: Logger,
        metrics: PipelineMetrics, owner: String = InstanceName.make(), ready: StartGate = StartGate()
    ) {
        self.ready = ready
        queue = JobRepository(database: database)
        self.pipeline = pipeline
        self.settings = settings
        self.clock = clock
        var logger = logger
        logger[metadataKey: "component"] = "worker"
        self.logger = logger
        self.metrics = metrics
        self.owner = owner
    }

    /// Tells the worker there is new work now (a new order), instead of at the next poll.
    public func wake() { wakeup.signal() }

    public func run() async throws {
        guard await ready.waitUnlessShuttingDown() else { return }
        let slots = AsyncSemaphore(permits: settings.workerConcurrency)
        await withTaskGroup(of: Void.self) { group in
            // Stop claiming at graceful shutdown; the group then waits for the steps under way.
            await withGracefulShutdownHandler {
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    let free = slots.available
                    var claimed: [Job] = []
                    if free > 0 {
                        do {
                            claimed = try await queue.claim(
                                owner: owner, limit: free, lease: settings.leaseSeconds, now: clock.now())
                        } catch {
                            logger.error("claiming jobs failed", metadata: ["error": "\(error)"])
                        }
                    }
                    for job in claimed {
                        // Free now: only this loop takes permits, and it claimed no more than were free.
                        await slots.acquire()
                        group.addTask {
                            await self.process(job)
                            slots.release()
                            self.wakeup.signal()
                        }
                    }
                    if claimed.isEmpty || claimed.count == free {
                        await wakeup.wait(upTo: .seconds(settings.pollSeconds))
                    }
                }
            } onGracefulShutdown: {
                self.wakeup.signal()
            }
            await group.waitForAll()
        }
    }

    /// Runs every job due now, one at a time, until none is left (for tests and tools).
    @discardableResult
    public func runDue(limit: Int = 10_000) async throws -> Int {
        var ran = 0
        while ran < limit {
            let jobs = try await queue.claim(owner: owner, limit: 1, lease: settings.leaseSeconds, now: clock.now())
            guard let job = jobs.first else { break }
            await process(job)
            ran += 1
        }
        return ran
    }

    /// Runs one claimed job to its end: done, retried later, or dead-lettered.
    func process(_ job: Job) async {
        var logger = logger
        logger[metadataKey: "job_id"] = "\(job.id)"
        logger[metadataKey: "job_kind"] = "\(job.kind)"
        if let order = job.orderID { logger[metadataKey: "order_id"] = "\(order)" }
        // The step and the renewal of its lease run side by side; whichever ends first ends the
        // other: a finished step stops the renewal, a lost lease stops the step.
        enum End { case stepDone, leaseLost }
        let leaseLogger = logger
        do {
            let end = try await withThrowingTaskGroup(of: End.self) { group in
                group.addTask {
                    try await withTimeout(.seconds(self.settings.stepTimeoutSeconds)) {
                        try await self.pipeline.run(job, owner: self.owner)
                    }
                    return .stepDone
                }
                group.addTask {
                    try await self.keepLease(job, logger: leaseLogger)
                    return .leaseLost
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
            if end == .leaseLost { logger.warning("lease lost while the step ran; another worker has the job") }
        } catch JobRepository.Failure.leaseLost {
            logger.warning("lease lost; another worker has the job")
        } catch {
            await fail(job, error: error, logger: logger)
        }
    }

    /// Renews the job's lease every third of its length while the step runs; returns when the
    /// lease turned out to be lost (a step that outlived it), throws when cancelled. A renewal
    /// that fails is logged and tried again: the lease still runs for a while.
    func keepLease(_ job: Job, logger: Logger) async throws {
        let interval = Duration.seconds(max(0.05, settings.leaseSeconds / 3))
        while true {
            try await Task.sleep(for: interval)
            do {
                guard
                    try await queue.renew(job, owner: owner, until: clock.now().adding(seconds: settings.leaseSeconds))
                else { return }
            } catch {
                try Task.checkCancellation()
                logger.warning("renewing the job's lease failed; trying again", metadata: ["error": "\(error)"])
            }
        }
    }

    func fail(_ job: Job, error: any Error, logger: Logger) async {
        let message = String(describing: error)
        let permanent = error is PipelineError
        do {
            if permanent || job.attempt >= job.maxAttempts {
                try await queue.deadLetter(job, owner: owner, error: message, at: clock.now())
                metrics.jobFailed(kind: job.kind, dead: true)
                logger.error(
                    "job moved to dead letters", metadata: ["attempt": "\(job.attempt)", "error": "\(message)"])
            } else {
                let delay = Backoff.delay(
                    attempt: job.attempt, base: settings.backoffSeconds, cap: settings.maxBackoffSeconds)
                try await queue.retry(job, owner: owner, error: message, runAt: clock.now().adding(seconds: delay))
                metrics.jobFailed(kind: job.kind, dead: false)
                logger.warning(
                    "job failed; will retry",
                    metadata: ["attempt": "\(job.attempt)", "retry_in_s": "\(delay)", "error": "\(message)"])
            }
        } catch {
            logger.error(
                "recording a job failure failed; its lease will expire and it will run again",
                metadata: ["error": "\(error)"])
        }
    }
}
