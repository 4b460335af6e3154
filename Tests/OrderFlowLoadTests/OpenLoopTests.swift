import OrderFlowLoad
import Synchronization
import Testing

@Suite("The load generator's schedule and accounting")
struct OpenLoopTests {
    @Test func requestsAreDueAtTheirOwnTimeWhateverCameBefore() {
        let schedule = Schedule(rate: 1_000, seconds: 2)
        #expect(schedule.count == 2_000)
        #expect(schedule.intended(0) == 0)
        #expect(schedule.intended(1) == 1_000_000)
        #expect(schedule.intended(1_500) == 1_500_000_000)
        // At the start only the first is due; 10.5 ms later, the first eleven.
        #expect(schedule.due(at: 0, sent: 0) == 0..<1)
        #expect(schedule.due(at: 10_500_000, sent: 1) == 1..<11)
        // A generator that stalled for 300 ms sends everything it owes at once, not fewer.
        #expect(schedule.due(at: 310_000_000, sent: 11) == 11..<311)
        // Never beyond the end, never backwards.
        #expect(schedule.due(at: 10_000_000_000, sent: 311) == 311..<2_000)
        #expect(schedule.due(at: 10_000_000_000, sent: 2_000).isEmpty)
        #expect(schedule.due(at: 0, sent: 5) == 5..<5)
    }

    @Test func fractionalRatesRoundTheCountAndSpaceEvenly() {
        let schedule = Schedule(rate: 167, seconds: 60)
        #expect(schedule.count == 10_020)
        #expect(schedule.intended(167) == 1_000_000_000)
    }

    @Test func runSendsEveryRequestOnceAndCountsEachOutcome() async {
        // 50 requests at 1,000/s against a "server" that answers the first 45 and refuses the rest;
        // every index must be sent exactly once.
        let seen = Mutex<[Int]>([])
        let result = await OpenLoop(schedule: Schedule(rate: 1_000, seconds: 0.05)).run { index in
            seen.withLock { $0.append(index) }
            return index < 45 ? .ok : .status(503)
        }
        #expect(seen.withLock { $0.sorted() } == Array(0..<50))
        #expect(result.sent == 50)
        #expect(result.ok == 45)
        #expect(result.errors == ["HTTP 503": 5])
        #expect(result.latency.totalCount == 45)
    }
}
