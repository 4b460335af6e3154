import Foundation
import Logging
import OrderFlowDomain
import OrderFlowStore
import ServiceLifecycle
import Synchronization

/// Runs queued jobs: claims due ones atomically, keeps their leases alive while they run, gives
/// each step a time limit, retries failures with exponential backoff and jitter, and moves a job
/// that used up its attempts to the dead letters. Several instances can run on one PostgreSQL:
/// a job runs on one of them at a time, and one whose instance died is taken over when its lease
/// expires.
public final class JobWorker: Service, Sendable {
    let queue: JobQueue
    let pipeline: OrderPipeline
    let settings: EngineSettings
    let clock: any WallClock
    let logger: Logger
    let metrics: PipelineMetrics
    /// Identifies this instance's leases.
    public let owner: String
    let wakeup = Wakeup()
    let ready: StartGate

    public init(database: Database, pipeline: OrderPipeline, settings: EngineSettings, clock: any WallClock, logger: Logger, metrics: PipelineMetrics, owner: String = JobWorker.instanceName(), ready: StartGate = StartGate()) {
        self.ready = ready
        queue = JobQueue(database: database)
        self.pipeline = pipeline
        self.settings = settings
        self.clock = clock
        var logger = logger
        logger[metadataKey: "component"] = "worker"
        self.logger = logger
        self.metrics = metrics
        self.owner = owner
    }

    public static func instanceName() -> String {
        "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
    }

    /// Tells the worker there is new work now (a new order), instead of at the next poll.
    public func wake() { wakeup.signal() }

    public func run() async throws {
        guard await ready.waitUnlessShuttingDown() else { return }
        let slots = Semaphore(settings.workerConcurrency)
        await withTaskGroup(of: Void.self) { group in
            // Stop claiming at graceful shutdown; the group then waits for the steps under way.
            await withGracefulShutdownHandler {
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    let free = slots.available
                    var claimed: [Job] = []
                    if free > 0 {
                        do {
                            claimed = try await queue.claim(owner: owner, limit: free, lease: settings.leaseSeconds, now: clock.now())
                        } catch {
                            logger.error("claiming jobs failed", metadata: ["error": "\(error)"])
                        }
                    }
                    for job in claimed {
                        slots.take()
                        group.addTask {
                            await self.process(job)
                            slots.give()
                            self.wakeup.signal()
                        }
                    }
                    if claimed.isEmpty || claimed.count == free {
                        await wakeup.wait(upTo: .milliseconds(Int(settings.pollSeconds * 1000)))
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
        let renewal = Task {
            // Keep the lease while the step runs; a step that outlives its timeout loses it.
            let interval = max(0.05, settings.leaseSeconds / 3)
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
                _ = try await queue.renew(job, owner: owner, until: clock.now().adding(seconds: settings.leaseSeconds))
            }
        }
        defer { renewal.cancel() }
        do {
            try await withTimeout(settings.stepTimeoutSeconds) { try await self.pipeline.run(job, owner: self.owner) }
        } catch JobQueue.Failure.leaseLost {
            logger.warning("lease lost; another worker has the job")
        } catch {
            await fail(job, error: error, logger: logger)
        }
    }

    func fail(_ job: Job, error: any Error, logger: Logger) async {
        let message = String(describing: error)
        let permanent = error is PipelineError
        do {
            if permanent || job.attempt >= job.maxAttempts {
                try await queue.deadLetter(job, owner: owner, error: message, at: clock.now())
                metrics.jobFailed(kind: job.kind, dead: true)
                logger.error("job moved to dead letters", metadata: ["attempt": "\(job.attempt)", "error": "\(message)"])
            } else {
                let delay = Backoff.delay(attempt: job.attempt, base: settings.backoffSeconds, cap: settings.maxBackoffSeconds)
                try await queue.retry(job, owner: owner, error: message, runAt: clock.now().adding(seconds: delay))
                metrics.jobFailed(kind: job.kind, dead: false)
                logger.warning("job failed; will retry", metadata: ["attempt": "\(job.attempt)", "retry_in_s": "\(delay)", "error": "\(message)"])
            }
        } catch {
            logger.error("recording a job failure failed; its lease will expire and it will run again", metadata: ["error": "\(error)"])
        }
    }
}

/// The step did not finish in time.
public struct StepTimeout: Error, CustomStringConvertible {
    public var description: String { "the step timed out" }
}

/// Runs `body`, giving up after `seconds`.
func withTimeout<T: Sendable>(_ seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            throw StepTimeout()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// Wakes a sleeping loop early; signals while nobody waits are kept (one is enough).
final class Wakeup: Sendable {
    private let state = Mutex<(signalled: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    func signal() {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.signalled = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns at the next signal (or at once if one came since the last wait), or after `limit`.
    func wait(upTo limit: Duration) async {
        let timer = Task {
            try? await Task.sleep(for: limit)
            self.signal()
        }
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.signalled {
                    state.signalled = false
                    return true
                }
                state.waiter = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
        timer.cancel()
        state.withLock { $0.signalled = false }
    }
}

/// Counts free slots for concurrent jobs.
final class Semaphore: Sendable {
    private let count: Mutex<Int>
    init(_ value: Int) { count = Mutex(value) }
    var available: Int { count.withLock { $0 } }
    func take() { count.withLock { $0 -= 1 } }
    func give() { count.withLock { $0 += 1 } }
}
