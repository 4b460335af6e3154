import OrderFlowDomain
import Synchronization

/// A clock that moves only when a test moves it. Tasks sleeping on it (the invoice stream's
/// actors) wake, earliest deadline first, when it passes their deadline; `sleepers` says how many
/// wait, so a test can tell when the tasks it drives have done what the new time asked of them.
public final class ManualClock: SleepingClock {
    private struct Sleeper {
        var deadline: Timestamp
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var current: Timestamp
        var sleepers: [UInt64: Sleeper] = [:]
        var cancelled: Set<UInt64> = []
        var nextID: UInt64 = 0
    }

    private let state: Mutex<State>

    public init(_ start: Timestamp = Timestamp(microseconds: 1_800_000_000_000_000)) {
        state = Mutex(State(current: start))
    }

    public func now() -> Timestamp { state.withLock { $0.current } }

    /// Tasks sleeping on the clock now.
    public var sleepers: Int { state.withLock { $0.sleepers.count } }

    /// The earliest time a sleeper waits for.
    public var nextDeadline: Timestamp? { state.withLock { $0.sleepers.values.map(\.deadline).min() } }

    public func sleep(until deadline: Timestamp) async throws {
        let id: UInt64 = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = state.withLock { state in
                    if state.cancelled.remove(id) != nil { return .failure(CancellationError()) }
                    if deadline <= state.current { return .success(()) }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let continuation: CheckedContinuation<Void, any Error>? = state.withLock { state in
                guard let sleeper = state.sleepers.removeValue(forKey: id) else {
                    state.cancelled.insert(id)
                    return nil
                }
                return sleeper.continuation
            }
            continuation?.resume(throwing: CancellationError())
        }
    }

    /// Sets the time (also backwards) and wakes, earliest first, whoever waited for it.
    public func set(_ time: Timestamp) {
        let due: [CheckedContinuation<Void, any Error>] = state.withLock { state in
            state.current = time
            let ready = state.sleepers.filter { $0.value.deadline <= time }.sorted {
                $0.value.deadline < $1.value.deadline
            }
            for (id, _) in ready { state.sleepers.removeValue(forKey: id) }
            return ready.map(\.value.continuation)
        }
        for continuation in due { continuation.resume() }
    }

    /// Moves forward to `time` (never back).
    public func advance(to time: Timestamp) {
        set(max(now(), time))
    }

    public func advance(seconds: Double) {
        set(now().adding(seconds: seconds))
    }

    public func advance(microseconds: Int64) {
        set(Timestamp(microseconds: now().microseconds + microseconds))
    }
}
