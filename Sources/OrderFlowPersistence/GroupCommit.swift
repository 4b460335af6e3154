import NIOCore
import SQLKit
import Synchronization

/// Group commit: items written by concurrent callers share one transaction, so one commit (one
/// fsync on SQLite, one WAL flush on PostgreSQL) serves many, while each caller still gets its
/// answer only after the commit that holds its item.
///
/// There is no timer and no added wait. Each lane has at most one leader: the caller that finds
/// the lane idle writes what is queued (up to `maxBatch` items, oldest first) in one transaction,
/// and keeps going while more has queued behind it; once its own item is committed it hands the
/// lane to the oldest waiting caller. A lone request is written at once, alone; under load, what
/// arrives during one commit goes into the next.
///
/// A refused item never fails its neighbours: when `writeBatch` throws, its transaction is rolled
/// back and the batch is written again, each item in a savepoint of its own through `writeOne`,
/// so only the refused items get their errors. A failed commit fails every item of that batch.
///
/// The batch runs in a task of its own, so a caller that is cancelled (a client that hung up)
/// cannot cancel its neighbours' writes.
public final class GroupCommit<Item: Sendable, Output: Sendable>: Sendable {
    /// Writes every item of a batch, in order, inside the caller's transaction.
    public typealias WriteBatch = @Sendable ([Item], any SQLDatabase) async throws -> [Output]
    /// Writes one item inside the caller's transaction (or savepoint).
    public typealias WriteOne = @Sendable (Item, any SQLDatabase) async throws -> Output

    public let maxBatch: Int
    private let lanes: [Lane]
    private let batches = Atomic<Int>(0)
    private let items = Atomic<Int>(0)
    private let largestBatch = Atomic<Int>(0)
    private let nextLane = Atomic<Int>(0)
    private let writeBatch: WriteBatch
    private let writeOne: WriteOne

    /// - Parameters:
    ///   - maxBatch: the most items one transaction writes (1: no grouping).
    ///   - lanes: independent leaders; more than one only where the database runs transactions in
    ///     parallel (PostgreSQL). SQLite has one writer, so one lane.
    public init(maxBatch: Int, lanes: Int = 1, writeBatch: @escaping WriteBatch, writeOne: @escaping WriteOne) {
        self.maxBatch = max(1, maxBatch)
        self.lanes = (0..<max(1, lanes)).map { _ in Lane() }
        self.writeBatch = writeBatch
        self.writeOne = writeOne
    }

    /// Writes `item` together with whatever else is queued, and returns its output once committed.
    public func submit(_ item: Item, to database: Database) async throws -> Output {
        let lane =
            lanes.count == 1 ? lanes[0] : lanes[nextLane.wrappingAdd(1, ordering: .relaxed).oldValue % lanes.count]
        let entry = Entry(item)
        if !lane.enqueue(entry) {
            // Someone leads: wait until it wrote our item, or handed the lane to us.
            if case .finished = await entry.nextSignal() { return try entry.result() }
        }
        repeat {
            let batch = lane.take(maxBatch)
            await Task { await self.write(batch, to: database) }.value
            for other in batch where other !== entry { other.signal(.finished) }
        } while !entry.isFinished
        lane.handOff()?.signal(.lead)
        return try entry.result()
    }

    /// Transactions written so far, the items they held, and the most one held.
    public var statistics: GroupCommitStatistics {
        GroupCommitStatistics(
            batches: batches.load(ordering: .relaxed), items: items.load(ordering: .relaxed),
            largestBatch: largestBatch.load(ordering: .relaxed))
    }

    private func write(_ batch: [Entry], to database: Database) async {
        batches.add(1, ordering: .relaxed)
        self.items.add(batch.count, ordering: .relaxed)
        largestBatch.max(batch.count, ordering: .relaxed)
        let items = batch.map(\.item)
        if batch.count > 1 {
            do {
                let outputs = try await database.transaction { db in try await self.writeBatch(items, db) }
                precondition(outputs.count == batch.count, "writeBatch must return one output per item")
                for (entry, output) in zip(batch, outputs) { entry.finish(.success(output)) }
                return
            } catch {
                // Some item was refused (or the database failed): write them one by one below.
            }
        }
        do {
            let results = try await database.transaction { db in
                var results: [Result<Output, any Error>] = []
                for item in items {
                    if items.count == 1 {
                        results.append(.success(try await self.writeOne(item, db)))
                        continue
                    }
                    try await db.raw("SAVEPOINT group_item").run()
                    do {
                        let output = try await self.writeOne(item, db)
                        try await db.raw("RELEASE SAVEPOINT group_item").run()
                        results.append(.success(output))
                    } catch {
                        // If undoing the item fails too, the transaction is broken: that error
                        // ends it and reaches every item.
                        try await db.raw("ROLLBACK TO SAVEPOINT group_item").run()
                        try await db.raw("RELEASE SAVEPOINT group_item").run()
                        results.append(.failure(error))
                    }
                }
                return results
            }
            for (entry, result) in zip(batch, results) { entry.finish(result) }
        } catch {
            for entry in batch { entry.finish(.failure(error)) }
        }
    }

    private enum Signal: Sendable { case finished, lead }

    /// One caller's item, its result, and the one signal it waits for.
    private final class Entry: Sendable {
        let item: Item
        private struct State {
            var result: Result<Output, any Error>?
            var signal: Signal?
            var waiter: CheckedContinuation<Signal, Never>?
        }
        private let state = Mutex(State())

        init(_ item: Item) { self.item = item }

        var isFinished: Bool { state.withLock { $0.result != nil } }

        func result() throws -> Output {
            guard let result = state.withLock({ $0.result }) else {
                preconditionFailure("result read before it was written")
            }
            return try result.get()
        }

        func finish(_ result: Result<Output, any Error>) {
            state.withLock { $0.result = result }
        }

        func signal(_ signal: Signal) {
            let waiter = state.withLock { state -> CheckedContinuation<Signal, Never>? in
                if let waiter = state.waiter {
                    state.waiter = nil
                    return waiter
                }
                state.signal = signal
                return nil
            }
            waiter?.resume(returning: signal)
        }

        func nextSignal() async -> Signal {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Signal? in
                    if let signal = state.signal {
                        state.signal = nil
                        return signal
                    }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }

    /// A queue and whether someone leads it.
    private final class Lane: Sendable {
        private struct State {
            var queue = CircularBuffer<Entry>()
            var led = false
        }
        private let state = Mutex(State())

        /// Queues `entry`; true if the caller must lead (nobody did).
        func enqueue(_ entry: Entry) -> Bool {
            state.withLock { state in
                state.queue.append(entry)
                if state.led { return false }
                state.led = true
                return true
            }
        }

        func take(_ limit: Int) -> [Entry] {
            state.withLock { state in
                var batch: [Entry] = []
                batch.reserveCapacity(min(limit, state.queue.count))
                while batch.count < limit, let entry = state.queue.popFirst() { batch.append(entry) }
                return batch
            }
        }

        /// The leader is done: the oldest waiting caller leads next, or the lane goes idle.
        func handOff() -> Entry? {
            state.withLock { state in
                guard let next = state.queue.first else {
                    state.led = false
                    return nil
                }
                return next
            }
        }
    }
}

public struct GroupCommitStatistics: Sendable, Hashable {
    public var batches: Int
    public var items: Int
    public var largestBatch: Int
}
