import Foundation
import Logging
import OrderFlowDomain
import OrderFlowPersistence
import OrderFlowRuntime
import ServiceLifecycle
import Synchronization

/// The live invoice stream of seed 003, and the supervisor of its actors.
///
/// START begins a cycle: the producer makes `pace.perCycle` invoices at `pace.productionInterval`
/// (5 a second for 5 minutes), each stored with the running totals in one transaction; the
/// aggregator keeps the totals in memory; the pacer shows them to viewers in order at most one per
/// `pace.displayInterval` (2 a second) through the broadcaster; the coordinator moves the state.
/// STOP cancels the producer at once; what was made keeps being shown (Processing backlog) until
/// nothing is left, then the stream is Idle.
///
/// Supervision: an actor that fails is replaced by a fresh one built from storage, and only that
/// one — the producer goes on from the invoices stored for its cycle (an invoice made twice has the
/// same number and is stored once), the pacer from the last invoice it noted as shown, the
/// aggregator from the stored totals, the coordinator from the stored state. `restarts` counts
/// the replacements. docs/invoices.md tells the whole story.
public actor InvoiceStream {
    public nonisolated let store: InvoiceRepository
    public nonisolated let pace: InvoicePace
    public nonisolated let crashes: CrashSwitch
    let clock: any SleepingClock
    let feed: LiveFeed
    let logger: Logger

    private var coordinator: InvoiceCoordinator?
    private var aggregator: InvoiceStatsAggregator?
    private var broadcaster: InvoiceBroadcaster
    private var producerTask: Task<Void, Never>?
    private var pacerTask: Task<Void, Never>?
    public private(set) var restarts: [InvoiceActor: Int] = [:]

    private nonisolated let currentStats = Shared(InvoiceStats())
    private nonisolated let currentState = Shared(InvoiceStreamState.idle)

    public init(
        database: Database, clock: any SleepingClock, pace: InvoicePace = InvoicePace(),
        crashes: CrashSwitch = CrashSwitch(), logger: Logger
    ) {
        store = InvoiceRepository(database: database)
        self.clock = clock
        self.pace = pace
        self.crashes = crashes
        feed = database.feed
        self.logger = logger
        broadcaster = InvoiceBroadcaster(feed: database.feed, clock: clock, crashes: crashes)
    }

    /// The totals of every invoice stored, read from memory: no query, no wait.
    public nonisolated var stats: InvoiceStats { currentStats.current }

    /// The state as last moved, read without waiting for the actor.
    public nonisolated var state: InvoiceStreamState { currentState.current }

    /// Loads the stream from storage and starts showing; a cycle that was running when the
    /// process ended goes on where storage says it was.
    public func begin() async throws {
        if beginning == nil { beginning = Task { try await self.load() } }
        do {
            try await beginning?.value
        } catch {
            // Storage was not there (yet): the next caller tries again.
            beginning = nil
            throw error
        }
    }

    private var beginning: Task<Void, any Error>?

    private func load() async throws {
        let coordinator = try await InvoiceCoordinator(store: store, clock: clock, crashes: crashes)
        self.coordinator = coordinator
        aggregator = try await InvoiceStatsAggregator(store: store, crashes: crashes, into: currentStats)
        let stream = await coordinator.stream
        noteState(stream)
        if pacerTask == nil { pacerTask = Task { await self.supervisePacer() } }
        switch stream.state {
        case .running: launchProducer(stream)
        case .stopping: _ = try await coordinate { try await $0.move(to: .processingBacklog, from: [.stopping]) }
        case .idle, .processingBacklog: break
        }
    }

    /// Stops every actor (the process is shutting down); storage keeps where they were.
    public func end() async {
        producerTask?.cancel()
        pacerTask?.cancel()
        await producerTask?.value
        await pacerTask?.value
        producerTask = nil
        pacerTask = nil
    }

    /// START: a new cycle, only from Idle.
    public func start() async throws -> InvoiceRepository.Stream {
        let stream = try await coordinate { try await $0.start() }
        launchProducer(stream)
        return stream
    }

    /// STOP: no invoice is made after this returns; those made are still shown.
    public func stop() async throws -> InvoiceRepository.Stream {
        _ = try await coordinate { try await $0.move(to: .stopping, from: [.running]) }
        producerTask?.cancel()
        await producerTask?.value
        producerTask = nil
        return try await coordinate { try await $0.move(to: .processingBacklog, from: [.stopping]) }
    }

    public struct Status: Sendable {
        public var state: InvoiceStreamState
        public var cycle: Int64
        public var cycleStartedAt: Timestamp?
        public var stoppedAt: Timestamp?
        /// Invoices made in this cycle, of `pace.perCycle`.
        public var produced: Int
        /// Invoices made and not shown yet.
        public var backlog: Int
        public var stats: InvoiceStats
        public var restarts: [InvoiceActor: Int]
    }

    public func status() async throws -> Status {
        let stream = try await store.stream()
        return Status(
            state: stream.state, cycle: stream.cycle, cycleStartedAt: stream.cycleStartedAt,
            stoppedAt: stream.stoppedAt,
            produced: stream.cycle == 0 ? 0 : try await store.produced(inCycle: stream.cycle),
            backlog: try await store.backlog(after: stream.displayedThrough), stats: stats, restarts: restarts)
    }

    // MARK: Supervision

    /// Runs a coordinator step; a coordinator that fails is replaced by one built from storage
    /// and the step is tried once more. A refusal (wrong state) is an answer, not a failure.
    private func coordinate(_ step: (InvoiceCoordinator) async throws -> InvoiceRepository.Stream) async throws
        -> InvoiceRepository.Stream
    {
        guard let current = coordinator else { throw InvoiceRepository.Refusal.notIn(.idle) }
        let stream: InvoiceRepository.Stream
        do {
            stream = try await step(current)
        } catch let refusal as InvoiceRepository.Refusal {
            throw refusal
        } catch let crash as InvoiceActorCrash {
            restarted(.coordinator, crash)
            let fresh = try await InvoiceCoordinator(store: store, clock: clock, crashes: crashes)
            coordinator = fresh
            stream = try await step(fresh)
        }
        noteState(stream)
        return stream
    }

    private func noteState(_ stream: InvoiceRepository.Stream) {
        currentState.current = stream.state
    }

    private func restarted(_ actor: InvoiceActor, _ error: any Error) {
        restarts[actor, default: 0] += 1
        logger.warning(
            "invoice \(actor.rawValue) failed and was replaced",
            metadata: ["error": "\(error)", "restarts": "\(restarts[actor] ?? 0)"])
    }

    private var lastFailure: [InvoiceActor: Timestamp] = [:]

    /// Before replacing a looping actor: at once, unless it failed less than a second ago too
    /// (storage is down, say), then after a second, so a lasting fault is not a busy loop.
    private func pause(before actor: InvoiceActor) async {
        let now = clock.now()
        if let last = lastFailure[actor], now.microseconds - last.microseconds < 1_000_000 {
            try? await clock.sleep(until: now.adding(seconds: 1))
        }
        lastFailure[actor] = clock.now()
    }

    private func launchProducer(_ stream: InvoiceRepository.Stream) {
        guard producerTask == nil, let start = stream.cycleStartedAt else { return }
        producerTask = Task { await self.superviseProducer(cycle: stream.cycle, startedAt: start) }
    }

    private func superviseProducer(cycle: Int64, startedAt start: Timestamp) async {
        let producer = InvoiceProducer(store: store, clock: clock, pace: pace, crashes: crashes)
        while !Task.isCancelled {
            do {
                try await producer.run(cycle: cycle, startedAt: start) { invoice in await self.produced(invoice) }
                producerTask = nil
                // The cycle is complete: show what is left. (A STOP that came first has moved on already.)
                _ = try? await coordinate { try await $0.move(to: .processingBacklog, from: [.running]) }
                return
            } catch is CancellationError {
                return
            } catch {
                restarted(.producer, error)
                // It may have stored an invoice without saying so: the aggregator takes storage's totals.
                if let stored = try? await store.stream().stats { await aggregator?.reload(stored) }
                await pause(before: .producer)
            }
        }
    }

    private func produced(_ invoice: Invoice) async {
        do {
            try await aggregator?.add(invoice)
        } catch {
            restarted(.aggregator, error)
            // A fresh aggregator starts from the stored totals, which hold this invoice already.
            if let fresh = try? await InvoiceStatsAggregator(store: store, crashes: crashes, into: currentStats) {
                aggregator = fresh
            }
        }
    }

    private func supervisePacer() async {
        let pacer = InvoicePacer(store: store, clock: clock, pace: pace, crashes: crashes)
        while !Task.isCancelled {
            do {
                try await pacer.run(
                    show: { invoice, backlog in try await self.show(invoice, backlog: backlog) },
                    idle: { shownThrough in try await self.nothingToShow(after: shownThrough) },
                    waiting: { self.state != .idle })
            } catch is CancellationError {
                return
            } catch {
                restarted(.pacer, error)
                await pause(before: .pacer)
            }
        }
    }

    private func show(_ invoice: Invoice, backlog: Int) async throws {
        do {
            try await broadcaster.show(invoice, backlog: backlog)
        } catch {
            restarted(.broadcaster, error)
            broadcaster = InvoiceBroadcaster(feed: feed, clock: clock, crashes: crashes)
            throw error
        }
    }

    /// The pacer found nothing to show: a backlog being processed is done.
    private func nothingToShow(after shownThrough: Int64) async throws {
        guard state == .processingBacklog, try await store.backlog(after: shownThrough) == 0 else { return }
        _ = try await coordinate { try await $0.move(to: .idle, from: [.processingBacklog]) }
    }
}

/// Runs the invoice stream with the application: begins once storage is ready (migrations done),
/// ends at shutdown.
public struct InvoiceStreamService: Service {
    public let stream: InvoiceStream
    let ready: StartGate

    public init(stream: InvoiceStream, ready: StartGate) {
        self.stream = stream
        self.ready = ready
    }

    public func run() async throws {
        guard await ready.waitUnlessShuttingDown() else { return }
        try await stream.begin()
        try? await gracefulShutdown()
        await stream.end()
    }
}
