import Histogram
import Synchronization

/// When each request of an open-loop run is due: request `i` at `i / rate` seconds after the
/// start, whatever happened to the requests before it.
public struct Schedule: Sendable, Hashable {
    public let rate: Double
    public let count: Int

    public init(rate: Double, seconds: Double) {
        self.rate = rate
        self.count = max(0, Int((rate * seconds).rounded()))
    }

    /// Nanoseconds after the start at which request `index` is due.
    public func intended(_ index: Int) -> UInt64 {
        UInt64((Double(index) / rate * 1e9).rounded())
    }

    /// The requests due by `elapsed` nanoseconds that were not sent yet (`sent` of them were).
    public func due(at elapsed: UInt64, sent: Int) -> Range<Int> {
        guard sent < count else { return count..<count }
        let last = min(count, Int((Double(elapsed) / 1e9 * rate).rounded(.down)) + 1)
        return sent..<max(sent, last)
    }
}

/// What a request came to.
public enum Outcome: Sendable, Hashable {
    case ok
    /// An HTTP status other than the expected one.
    case status(Int)
    /// No answer: connection refused, reset, timed out.
    case transport(String)
}

/// The figures of one run. Latencies are in microseconds, each measured from the request's
/// intended send time (so a stalled server is charged for every request it delayed, not only
/// for the one it was answering: no coordinated omission).
public struct RunResult: Sendable {
    public var sent = 0
    public var ok = 0
    public var errors: [String: Int] = [:]
    /// Microseconds, from intended send time to the complete answer.
    public var latency = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
    /// From the first intended send to the last answer.
    public var seconds = 0.0
    /// How late the generator itself was in sending, at worst (a loaded client shows here).
    public var worstSendLagMicroseconds: UInt64 = 0
    /// CPU time the generator used during the run, when the caller measured it.
    public var generatorCPUSeconds: Double?

    public var throughput: Double { seconds > 0 ? Double(ok) / seconds : 0 }
    public var errorCount: Int { errors.values.reduce(0, +) }

    mutating func record(_ outcome: Outcome, microseconds: UInt64) {
        switch outcome {
        case .ok:
            ok += 1
            _ = latency.record(min(microseconds, latency.highestTrackableValue))
        case .status(let code):
            errors["HTTP \(code)", default: 0] += 1
        case .transport(let reason):
            errors[reason, default: 0] += 1
        }
    }
}

/// Sends requests at a constant rate, not as fast as answers come back: request `i` leaves at its
/// scheduled time even while earlier ones are still waiting (up to `maxInFlight`, beyond which the
/// generator waits and its lateness is charged to the latency).
public struct OpenLoop: Sendable {
    public var schedule: Schedule
    public var maxInFlight: Int

    public init(schedule: Schedule, maxInFlight: Int = 4_096) {
        self.schedule = schedule
        self.maxInFlight = maxInFlight
    }

    public func run(_ send: @escaping @Sendable (Int) async -> Outcome) async -> RunResult {
        let run = Run()
        await withTaskGroup(of: Void.self) { group in
            var sent = 0
            while sent < schedule.count {
                let now = run.elapsed()
                let due = schedule.due(at: now, sent: sent)
                for index in due {
                    while run.inFlight.load(ordering: .relaxed) >= maxInFlight { await Task.yield() }
                    run.inFlight.add(1, ordering: .relaxed)
                    let intended = schedule.intended(index)
                    let lag = now > intended ? (now - intended) / 1_000 : 0
                    group.addTask {
                        let outcome = await send(index)
                        let finished = run.elapsed()
                        run.inFlight.subtract(1, ordering: .relaxed)
                        run.result.withLock {
                            $0.record(outcome, microseconds: finished > intended ? (finished - intended) / 1_000 : 0)
                            $0.worstSendLagMicroseconds = Swift.max($0.worstSendLagMicroseconds, lag)
                        }
                    }
                }
                sent = due.upperBound
                if sent < schedule.count {
                    let next = schedule.intended(sent)
                    let now = run.elapsed()
                    if next > now { try? await Task.sleep(for: .nanoseconds(next - now)) }
                }
            }
            await group.waitForAll()
        }
        return run.result.withLock { result in
            result.sent = schedule.count
            result.seconds = Double(run.elapsed()) / 1e9
            return result
        }
    }

    /// The state requests share while a run goes on.
    private final class Run: Sendable {
        let start = ContinuousClock.now
        let result = Mutex(RunResult())
        let inFlight = Atomic<Int>(0)

        /// Nanoseconds since the start.
        func elapsed() -> UInt64 {
            let (seconds, attoseconds) = (ContinuousClock.now - start).components
            return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
        }
    }
}
