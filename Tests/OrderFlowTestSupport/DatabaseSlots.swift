import Synchronization
import Testing

/// At most `DatabaseSlots.width` test cases that open databases run at once.
///
/// swift-testing starts every test case at the same time. Each SQLite database holds about a
/// dozen file descriptors, so a whole run once had 1,400 open at its start, and Foundation's
/// `Process.run()` (Swift 6.3) reads past the end of glibc's directory buffer while it lists
/// `/proc/self/fd` when more than about 1,360 are open: the test process crashed with SIGSEGV
/// now and then when a test started a program (`pg_dump`, the `orderflow` binary) at that
/// moment. Limiting the cases keeps the count in the low hundreds, whatever the number of tests.
///
/// Use it on every suite whose tests open a database: `@Suite("…", .databaseSlots)`. Slots are
/// taken per test case, never nested, so a test may open as many databases as it needs.
public struct DatabaseSlots: SuiteTrait, TestTrait, TestScoping {
    public static let width = 8

    public var isRecursive: Bool { true }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        guard testCase != nil else { return try await function() }
        await Self.slots.acquire()
        defer { Self.slots.release() }
        try await function()
    }

    static let slots = Semaphore(width)
}

extension Trait where Self == DatabaseSlots {
    /// Runs each test case of the suite in one of `DatabaseSlots.width` slots.
    public static var databaseSlots: Self { DatabaseSlots() }
}

/// A counting semaphore for async code, first come first served.
final class Semaphore: Sendable {
    private struct State {
        var free: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state: Mutex<State>

    init(_ count: Int) { state = Mutex(State(free: count)) }

    func acquire() async {
        await withCheckedContinuation { continuation in
            let acquired = state.withLock { state in
                guard state.free > 0 else {
                    state.waiters.append(continuation)
                    return false
                }
                state.free -= 1
                return true
            }
            if acquired { continuation.resume() }
        }
    }

    func release() {
        let next: CheckedContinuation<Void, Never>? = state.withLock { state in
            guard !state.waiters.isEmpty else {
                state.free += 1
                return nil
            }
            // The slot passes straight to the longest waiter.
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
