import OrderFlowRuntime
import Testing

/// The waiting primitives the engine and the monitor share. Each waits with a limit far beyond the
/// test's time limit where a broken primitive would hang, so a failure shows as a timeout rather
/// than as a measured duration.
@Suite("Runtime", .timeLimit(.minutes(1)))
struct RuntimeTests {
    @Test func aSignalSentWhileNobodyWaitsIsKeptForTheNextWait() async {
        let wakeup = Wakeup()
        wakeup.signal()
        await wakeup.wait(upTo: .seconds(3_600))
    }

    @Test(arguments: [true, false])
    func aWaitLeavesNoSignalBehind(endedBySignal: Bool) async throws {
        let wakeup = Wakeup()
        if endedBySignal { wakeup.signal() }
        await wakeup.wait(upTo: endedBySignal ? .seconds(3_600) : .milliseconds(1))
        let returned = Record()
        let waiter = Task {
            await wakeup.wait(upTo: .seconds(3_600))
            await returned.append(1)
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(await returned.items.isEmpty, "the second wait returned without a signal")
        wakeup.signal()
        await waiter.value
        #expect(await returned.items == [1])
    }

    @Test func cancellingAWaitEndsItAndKeepsTheNextSignal() async {
        let wakeup = Wakeup()
        let waiter = Task { await wakeup.wait(upTo: .seconds(3_600)) }
        waiter.cancel()
        await waiter.value
        wakeup.signal()
        await wakeup.wait(upTo: .seconds(3_600))
    }

    @Test func everyWaiterWakesAtASignal() async {
        let wakeup = Wakeup()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<3 { group.addTask { await wakeup.wait(upTo: .seconds(3_600)) } }
            // Signal until all three have returned: a signal reaches whoever waits at that moment.
            let done = Task {
                while !Task.isCancelled {
                    wakeup.signal()
                    try? await Task.sleep(for: .milliseconds(5))
                }
            }
            await group.waitForAll()
            done.cancel()
        }
    }

    @Test func aSemaphoreLetsAsManyInAsItHasPermitsAndTheRestInTurn() async throws {
        let semaphore = AsyncSemaphore(permits: 2)
        await semaphore.acquire()
        await semaphore.acquire()
        #expect(semaphore.available == 0)
        let order = Record()
        let first = Task {
            await semaphore.acquire()
            await order.append(1)
        }
        try await Task.sleep(for: .milliseconds(50))
        let second = Task {
            await semaphore.acquire()
            await order.append(2)
        }
        try await Task.sleep(for: .milliseconds(50))
        #expect(await order.items.isEmpty, "no permit was free")
        semaphore.release()
        await first.value
        semaphore.release()
        await second.value
        #expect(await order.items == [1, 2], "permits go to waiters in arrival order")
        semaphore.release()
        semaphore.release()
        #expect(semaphore.available == 2)
    }

    @Test func aRequestGetsThePermitBeforeTheBackgroundLoopsThatWaitedLonger() async throws {
        let semaphore = AsyncSemaphore(permits: 1)
        await semaphore.acquire()
        let order = Record()
        // The engine's loops run through `runInBackground`; requests do not.
        let background = Task {
            await runInBackground {
                await semaphore.acquire()
                await order.append(1)
                semaphore.release()
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        let laterBackground = Task {
            await runInBackground {
                // Tasks a loop starts are background work too.
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        await semaphore.acquire()
                        await order.append(2)
                        semaphore.release()
                    }
                }
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        let request = Task {
            await semaphore.acquire()
            await order.append(3)
            semaphore.release()
        }
        try await Task.sleep(for: .milliseconds(50))
        #expect(await order.items.isEmpty, "the permit was held")
        semaphore.release()
        await request.value
        await background.value
        await laterBackground.value
        #expect(await order.items == [3, 1, 2], "the request first, then the background waiters in arrival order")
        #expect(semaphore.available == 1)
    }

    @Test func aGateHoldsWaitersUntilItOpensAndLetsACancelledOneGo() async {
        let gate = StartGate()
        let cancelled = Task { await gate.wait() }
        cancelled.cancel()
        await cancelled.value
        #expect(!gate.isOpen)
        let waiter = Task { await gate.wait() }
        gate.open()
        await waiter.value
        await gate.wait()
        #expect(gate.isOpen)
    }

    @Test func aTimeoutCancelsTheWorkAndSaysHowLongItWaited() async throws {
        await #expect(throws: TimeoutError.self) {
            try await withTimeout(.milliseconds(20)) { try await Task.sleep(for: .seconds(3_600)) }
        }
        #expect(try await withTimeout(.seconds(3_600)) { 42 } == 42)
    }
}

/// What the tasks of a test did, in order.
actor Record {
    private(set) var items: [Int] = []
    func append(_ item: Int) { items.append(item) }
}
