import Foundation
import OrderFlowDomain
import OrderFlowPersistence
import OrderFlowRuntime
import Synchronization

/// The actors of the invoice stream, one job each. None keeps anything the database does not also
/// hold, so the supervisor can replace any of them with a fresh one built from storage.
public enum InvoiceActor: String, Sendable, CaseIterable {
    case coordinator, producer, pacer, aggregator, broadcaster
}

/// A deliberate failure of one actor at its next step: the supervision drill the tests run (and
/// an operator may run through the API) to see an actor replaced without disturbing the others.
public final class CrashSwitch: Sendable {
    private let armed = Mutex<Set<InvoiceActor>>([])

    public init() {}

    public func arm(_ actor: InvoiceActor) { armed.withLock { _ = $0.insert(actor) } }

    /// Throws once after `arm(actor)`.
    func check(_ actor: InvoiceActor) throws {
        if armed.withLock({ $0.remove(actor) }) != nil { throw InvoiceActorCrash(actor: actor) }
    }
}

public struct InvoiceActorCrash: Error, Equatable, CustomStringConvertible {
    public let actor: InvoiceActor
    public var description: String { "the invoice \(actor.rawValue) crashed (deliberately)" }
}

/// Keeps the stream's state, moving it only along Idle → Running → Stopping → Processing backlog
/// → Idle (or Running → Processing backlog when a cycle ends) and writing each move to storage
/// before it is true.
actor InvoiceCoordinator {
    let store: InvoiceRepository
    let clock: any SleepingClock
    let crashes: CrashSwitch
    private(set) var stream: InvoiceRepository.Stream

    init(store: InvoiceRepository, clock: any SleepingClock, crashes: CrashSwitch) async throws {
        self.store = store
        self.clock = clock
        self.crashes = crashes
        stream = try await store.stream()
    }

    func start() async throws -> InvoiceRepository.Stream {
        try crashes.check(.coordinator)
        stream = try await store.startCycle(at: clock.now())
        return stream
    }

    func move(to state: InvoiceStreamState, from: Set<InvoiceStreamState>) async throws -> InvoiceRepository.Stream {
        try crashes.check(.coordinator)
        stream = try await store.move(to: state, from: from, at: clock.now())
        return stream
    }
}

/// Makes the invoices of one cycle: invoice `i` is due `i` intervals after the cycle started and is
/// stored, with the totals, in one transaction. A restarted producer goes on from what storage
/// holds; an invoice made twice has the same number and is stored once.
struct InvoiceProducer {
    let store: InvoiceRepository
    let clock: any SleepingClock
    let pace: InvoicePace
    let crashes: CrashSwitch
    let maker = InvoiceMaker()

    /// Produces until the cycle is complete or the task is cancelled (STOP). `stored` is told of
    /// each new invoice.
    func run(cycle: Int64, startedAt start: Timestamp, stored: @Sendable (Invoice) async -> Void) async throws {
        var random = SystemRandomNumberGenerator()
        var index = try await store.produced(inCycle: cycle)
        while index < pace.perCycle {
            try await clock.sleep(until: pace.due(index, start: start))
            try Task.checkCancellation()
            let invoice = maker.make(cycle: cycle, index: index, at: clock.now(), using: &random)
            let result = try await store.insert(invoice, at: clock.now())
            try crashes.check(.producer)
            if result.inserted { await stored(result.invoice) }
            index += 1
        }
    }
}

/// Shows invoices to viewers in the order they were made, one per display interval at most,
/// from a bounded buffer it refills from storage; notes in storage how far it has shown.
struct InvoicePacer {
    let store: InvoiceRepository
    let clock: any SleepingClock
    let pace: InvoicePace
    let crashes: CrashSwitch
    /// At most this many invoices wait in memory; the rest wait in the database.
    let bufferSize = 50

    /// Runs until cancelled. `show` hands an invoice and the backlog after it to the broadcaster
    /// (it throws when the broadcaster failed: the invoice is tried again at the next slot);
    /// `idle` is called at each slot with nothing to show, with the last invoice shown. While
    /// `waiting` says no invoice can be waiting (the stream is idle) storage is not asked.
    func run(
        show: @Sendable (Invoice, Int) async throws -> Void, idle: @Sendable (Int64) async throws -> Void,
        waiting: @Sendable () -> Bool
    ) async throws {
        var buffer: [Invoice] = []
        var shownThrough = try await store.stream().displayedThrough
        // A fresh pacer waits one interval first: the one it replaces may have just shown one.
        var slot = Timestamp(microseconds: clock.now().microseconds + pace.displayInterval)
        while true {
            try await clock.sleep(until: slot)
            // The next slot counts from the moment this one is done, so two invoices shown are
            // always at least one interval apart, however long the work in between took.
            defer { slot = Timestamp(microseconds: clock.now().microseconds + pace.displayInterval) }
            if buffer.isEmpty {
                guard waiting() else { continue }
                buffer = try await store.notShown(after: shownThrough, limit: bufferSize)
            }
            guard let next = buffer.first else {
                try await idle(shownThrough)
                continue
            }
            let backlog = try await store.backlog(after: next.id)
            do {
                try await show(next, backlog)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                continue
            }
            try crashes.check(.pacer)
            try await store.shown(through: next.id, at: clock.now())
            shownThrough = next.id
            buffer.removeFirst()
        }
    }
}

/// A value many threads read and one writer changes, without waiting for an actor.
final class Shared<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ initial: Value) { value = Mutex(initial) }
    var current: Value {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}

/// The running totals in memory, so reading them costs nothing; built from storage's row (which
/// every insert updates in its own transaction), so a fresh aggregator is exact at once.
actor InvoiceStatsAggregator {
    private(set) var stats: InvoiceStats
    private let crashes: CrashSwitch
    /// Where readers find the totals without waiting for the actor.
    private let published: Shared<InvoiceStats>

    init(store: InvoiceRepository, crashes: CrashSwitch, into published: Shared<InvoiceStats>) async throws {
        stats = try await store.stream().stats
        self.crashes = crashes
        self.published = published
        published.current = stats
    }

    func add(_ invoice: Invoice) throws {
        try crashes.check(.aggregator)
        stats.add(invoice.amounts)
        published.current = stats
    }

    /// Takes storage's totals: after a producer was replaced between storing an invoice and
    /// saying so.
    func reload(_ stored: InvoiceStats) {
        stats = stored
        published.current = stored
    }
}

/// Hands each shown invoice to every open session through the live feed (`invoice.shown` on the
/// `invoice` topic of `GET /api/v1/stream`).
actor InvoiceBroadcaster {
    let feed: LiveFeed
    let clock: any SleepingClock
    let crashes: CrashSwitch

    init(feed: LiveFeed, clock: any SleepingClock, crashes: CrashSwitch) {
        self.feed = feed
        self.clock = clock
        self.crashes = crashes
    }

    func show(_ invoice: Invoice, backlog: Int) throws {
        try crashes.check(.broadcaster)
        let event = FeedEvent(
            topic: .invoice, type: "invoice.shown",
            fields: InvoiceRepository.fields(invoice) + [("backlog", .int(Int64(backlog)))])
        feed.publish([event], committedAt: clock.now())
    }
}
