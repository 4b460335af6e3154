import Synchronization

/// A counting semaphore for async code that hands out permits first come, first served within
/// two classes: a task of the engine's background loops (see `runInBackground`) waits behind
/// every other task (requests). The SQLite writer
/// (one permit) is used by one transaction at a time, a request's before the pipeline's; the job
/// worker's slots (one permit per concurrent step) bound how many steps run at once.
public final class AsyncSemaphore: Sendable {
    private struct State {
        var permits: Int
        var waiters = Waiters()
        var background = Waiters()
    }

    /// Waiters in arrival order.
    private struct Waiters {
        var items: [CheckedContinuation<Void, Never>] = []
        var head = 0

        mutating func next() -> CheckedContinuation<Void, Never>? {
            guard head < items.count else { return nil }
            let next = items[head]
            head += 1
            if head == items.count {
                items.removeAll(keepingCapacity: true)
                head = 0
            }
            return next
        }
    }
    private let state: Mutex<State>

    public init(permits: Int) {
        state = Mutex(State(permits: max(0, permits)))
    }

    /// Permits free now (none are free while anyone waits).
    public var available: Int { state.withLock { $0.permits } }

    /// Runs `body` holding one permit.
    public func withPermit<T>(_ body: () async throws -> T) async rethrows -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    /// Waits for a permit and takes it.
    public func acquire() async {
        let background = Background.isCurrent
        await withCheckedContinuation { continuation in
            let acquired = state.withLock { state in
                if state.permits > 0 {
                    state.permits -= 1
                    return true
                }
                if background {
                    state.background.items.append(continuation)
                } else {
                    state.waiters.items.append(continuation)
                }
                return false
            }
            if acquired { continuation.resume() }
        }
    }

    /// Gives a permit back: to the longest waiter of the first class, or to the pool.
    public func release() {
        let next: CheckedContinuation<Void, Never>? = state.withLock { state in
            // The permit passes straight to the next waiter.
            guard let next = state.waiters.next() ?? state.background.next() else {
                state.permits += 1
                return nil
            }
            return next
        }
        next?.resume()
    }
}

/// Marks the engine's background loops (the job worker, the outbox relay): they wait behind
/// requests for the SQLite writer, so a burst of orders is taken in at once and the pipeline
/// catches up after it. A task-local rather than a task priority: awaiting a child task raises
/// its priority to the awaiting task's, and the loops' callers await them.
public enum Background {
    @TaskLocal public static var isCurrent = false
}

/// Runs `body` as background work (see `Background`); the tasks it starts inherit the mark.
public func runInBackground(_ body: @Sendable () async -> Void) async {
    await Background.$isCurrent.withValue(true) { await body() }
}

/// A thread-safe counter for round-robin choices.
public final class RoundRobin: Sendable {
    private let value = Atomic<Int>(0)

    public init() {}

    public func next() -> Int {
        value.wrappingAdd(1, ordering: .relaxed).newValue & Int.max
    }
}
