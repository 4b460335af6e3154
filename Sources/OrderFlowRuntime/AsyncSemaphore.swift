import Synchronization

/// A counting semaphore for async code that hands out permits first come, first served: the
/// SQLite writer (one permit) is used by one transaction at a time in arrival order, and the job
/// worker's slots (one permit per concurrent step) bound how many steps run at once.
public final class AsyncSemaphore: Sendable {
    private struct State {
        var permits: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
        var head = 0
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
        await withCheckedContinuation { continuation in
            let acquired = state.withLock { state in
                if state.permits > 0 {
                    state.permits -= 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if acquired { continuation.resume() }
        }
    }

    /// Gives a permit back: to the longest waiter, or to the pool.
    public func release() {
        let next: CheckedContinuation<Void, Never>? = state.withLock { state in
            guard state.head < state.waiters.count else {
                state.permits += 1
                return nil
            }
            let next = state.waiters[state.head]
            state.head += 1
            if state.head == state.waiters.count {
                state.waiters.removeAll(keepingCapacity: true)
                state.head = 0
            }
            // The permit passes straight to the next waiter.
            return next
        }
        next?.resume()
    }
}

/// A thread-safe counter for round-robin choices.
public final class RoundRobin: Sendable {
    private let value = Atomic<Int>(0)

    public init() {}

    public func next() -> Int {
        value.wrappingAdd(1, ordering: .relaxed).newValue & Int.max
    }
}
