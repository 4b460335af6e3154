import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// A one-way gate: closed until `open()`, then open for good. Background services wait on it
/// until storage is ready (migrations done).
public final class StartGate: Sendable {
    private struct State {
        var open = false
        var next = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    public var isOpen: Bool { state.withLock { $0.open } }

    /// Returns once the gate is open (at once if it is), or when the task is cancelled (a
    /// shutdown before start-up finished must not hang on a gate that will never open).
    public func wait() async {
        let id = state.withLock { state -> Int in
            state.next += 1
            return state.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state -> Bool in
                    if state.open || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Waits for the gate, or for a graceful shutdown (one before start-up finished must not hang
    /// on a gate that will never open); true when the gate opened.
    public func waitUnlessShuttingDown() async -> Bool {
        await cancelWhenGracefulShutdown { await self.wait() }
        return isOpen
    }

    /// Once the gate opens, runs `pass` and then again every `seconds`, until graceful shutdown,
    /// which also cuts a wait short. A failed pass is logged; the next one runs on time.
    public func repeatUntilShutdown(
        every seconds: Double, logger: Logger, failure: String, _ pass: @escaping @Sendable () async throws -> Void
    ) async throws {
        guard await waitUnlessShuttingDown() else { return }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await pass()
                } catch {
                    if !Task.isCancelled { logger.error("\(failure)", metadata: ["error": "\(error)"]) }
                }
                try? await Task.sleep(for: .seconds(seconds))
            }
        }
    }
}

/// Names this process among the instances sharing one database: leases and locks carry it.
public enum InstanceName {
    public static func make() -> String {
        "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
    }
}
