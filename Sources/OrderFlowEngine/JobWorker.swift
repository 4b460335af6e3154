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
        await runInBackground { await self.loop() }
    }

    private func loop() async {
        let slots = AsyncSemaphore(permits: settings.workerConcurrency)
        await withTaskGroup(of: Void.self) { group in
            // Stop claiming at graceful shutdown; the group then waits for the batches under way.
            await withGracefulShutdownHandler {
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    var claimed: [Job] = []
                    if slots.available > 0 {
                        do {
                            claimed = try await queue.claimBatch(
                                owner: owner, limit: settings.batchSize, lease: settings.leaseSeconds,
                                now: clock.now())
                        } catch {
                            logger.error("claiming jobs failed", metadata: ["error": "\(error)"])
                        }
                    }
                    if !claimed.isEmpty {
                        // Free now: only this loop takes permits, and it checked one was free.
                        await slots.acquire()
                        let batch = claimed
                        group.addTask {
                            await self.process(batch)
                            slots.release()
                            self.wakeup.signal()
                        }
                    }
                    if claimed.isEmpty || slots.available == 0 {
                        await wakeup.wait(upTo: .seconds(settings.pollSeconds))
                    } else if claimed.count < settings.batchSize {
                        try? await Task.sleep(for: .seconds(settings.lingerSeconds))
                    }
                }
            } onGracefulShutdown: {
                self.wakeup.signal()
            }
            await group.waitForAll()
        }
    }

    /// Runs every job due now, a batch at a time, until none is left or `limit` have run (for tests
    /// and tools).
    @discardableResult
    public func runDue(limit: Int = 10_000) async throws -> Int {
        var ran = 0
        while ran < limit {
            let jobs = try await queue.claimBatch(
                owner: owner, limit: min(settings.batchSize, limit - ran), lease: settings.leaseSeconds,
                now: clock.now())
            guard !jobs.isEmpty else { break }
            await process(jobs)
            ran += jobs.count
        }
        return ran
    }

    /// Runs a batch of claimed jobs of one kind to their ends: each done, retried later, or
    /// dead-lettered. Their orders are read together; their steps run side by side, each within
    /// its time limit; their writes commit in one transaction.
    ///
    /// The batch's leases are renewed together while the steps run; a step whose lease turns out
    /// to be lost (a step that outlived it, and another worker took the job) is stopped and
    /// writes nothing.
    func process(_ jobs: [Job]) async {
        if let kind = jobs.first?.kind { metrics.batchRan(kind: kind, jobs: jobs.count) }
        let lost = LostLeases()
        let decided = await withTaskGroup(of: Void.self) { renewal in
            renewal.addTask { await self.keepLeases(jobs, lost: lost) }
            defer { renewal.cancelAll() }
            let orders: [OrderID: Order]
            do {
                orders = try await pipeline.orders(of: jobs)
            } catch {
                return jobs.map { ($0, Result<OrderPipeline.Decision, any Error>.failure(error)) }
            }
            // Orders side by side; one order's jobs (its notifications, say) one after another, in
            // the order they were queued.
            var byOrder: [OrderID?: [Int]] = [:]
            for (index, job) in jobs.enumerated() { byOrder[job.orderID, default: []].append(index) }
            return await withTaskGroup(of: [(Int, Result<OrderPipeline.Decision, any Error>)].self) { steps in
                for indices in byOrder.values {
                    steps.addTask {
                        var results: [(Int, Result<OrderPipeline.Decision, any Error>)] = []
                        for index in indices {
                            let job = jobs[index]
                            let decide: @Sendable () async throws -> OrderPipeline.Decision = {
                                try await self.pipeline.decide(job, order: job.orderID.flatMap { orders[$0] })
                            }
                            do {
                                // A step that calls nothing outside decides at once: nothing to time
                                // out, and the lease is checked again when its writes commit.
                                let decision =
                                    OrderPipeline.Step(rawValue: job.kind)?.callsOutside == false
                                    ? try await decide() : try await self.whileHeld(job, lost: lost, decide)
                                results.append((index, .success(decision)))
                            } catch {
                                results.append((index, .failure(error)))
                            }
                        }
                        return results
                    }
                }
                var results = [Result<OrderPipeline.Decision, any Error>?](repeating: nil, count: jobs.count)
                for await group in steps {
                    for (index, result) in group { results[index] = result }
                }
                return zip(jobs, results).map { ($0, $1!) }
            }
        }
        var failures: [(Job, any Error)] = []
        var ready: [(job: Job, decision: OrderPipeline.Decision)] = []
        for (job, result) in decided {
            switch result {
            case .success(let decision): ready.append((job, decision))
            case .failure(let error): failures.append((job, error))
            }
        }
        if !ready.isEmpty {
            do {
                let refused = try await pipeline.commit(ready, owner: owner)
                failures += ready.compactMap { job, _ in refused[job.id].map { (job, $0) } }
            } catch {
                failures += ready.map { ($0.job, error) }
            }
        }
        for (job, error) in failures {
            var logger = logger
            logger[metadataKey: "job_id"] = "\(job.id)"
            logger[metadataKey: "job_kind"] = "\(job.kind)"
            if let order = job.orderID { logger[metadataKey: "order_id"] = "\(order)" }
            if case JobRepository.Failure.leaseLost = error {
                logger.warning("lease lost while the step ran; another worker has the job")
            } else {
                await fail(job, error: error, logger: logger)
            }
        }
    }

    /// How often leases are renewed: a third of their length.
    var renewalInterval: Duration { .seconds(max(0.05, settings.leaseSeconds / 3)) }

    /// Renews the batch's leases every `renewalInterval` until cancelled, noting in `lost` the
    /// jobs whose leases another worker holds now. A renewal that fails is logged and tried again:
    /// the leases still run for a while.
    func keepLeases(_ jobs: [Job], lost: LostLeases) async {
        var held = jobs
        while !held.isEmpty {
            do {
                try await Task.sleep(for: renewalInterval)
            } catch {
                return
            }
            do {
                let renewed = try await queue.renew(
                    held, owner: owner, until: clock.now().adding(seconds: settings.leaseSeconds))
                let gone = held.filter { !renewed.contains($0.id) }.map(\.id)
                lost.add(gone)
                held.removeAll { !renewed.contains($0.id) }
            } catch {
                if Task.isCancelled { return }
                logger.warning("renewing the jobs' leases failed; trying again", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Runs `body` while `job`'s lease is held and within the step's time limit: once the renewal
    /// finds the lease lost, `body` is cancelled and `JobRepository.Failure.leaseLost` thrown; once
    /// the limit passes, `TimeoutError`. One watcher does both.
    func whileHeld<T: Sendable>(_ job: Job, lost: LostLeases, _ body: @escaping @Sendable () async throws -> T)
        async throws -> T
    {
        let limit = Duration.seconds(settings.stepTimeoutSeconds)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                let deadline = ContinuousClock.now + limit
                while !lost.contains(job.id) {
                    let left = deadline - ContinuousClock.now
                    if left <= .zero { throw TimeoutError(limit: limit) }
                    try await Task.sleep(for: min(left, self.renewalInterval))
                }
                throw JobRepository.Failure.leaseLost(jobID: job.id)
            }
            defer { group.cancelAll() }
            return try await group.next()!!
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

/// The jobs of a batch whose leases another worker took while the batch ran.
final class LostLeases: Sendable {
    private let ids = Mutex<Set<Int64>>([])

    func add(_ lost: [Int64]) { ids.withLock { $0.formUnion(lost) } }
    func contains(_ id: Int64) -> Bool { ids.withLock { $0.contains(id) } }
}
