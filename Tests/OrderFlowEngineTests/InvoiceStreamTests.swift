import Foundation
import OrderFlowDomain
import OrderFlowEngine
import OrderFlowPersistence
import OrderFlowTestSupport
import SQLKit
import Synchronization
import Testing

/// The invoice stream driven by a virtual clock: every sleeper is woken in deadline order and the
/// test waits until the actors are asleep again before moving time on, so the five minutes of a
/// cycle (and the backlog after it) run in seconds and every timing is exact.
final class InvoiceRun: Sendable {
    let stream: InvoiceStream
    let clock: ManualClock
    let database: Database
    let shown = Mutex<[(id: Int64, at: Timestamp)]>([])
    let states = Mutex<[String]>([])

    init(stream: InvoiceStream, clock: ManualClock, database: Database) {
        self.stream = stream
        self.clock = clock
        self.database = database
    }

    /// Runs `body` with a stream on a fresh database of `kind`, begun, with the live feed recorded.
    static func with(_ kind: Database.Kind, _ body: @Sendable (InvoiceRun) async throws -> Void) async throws {
        try await TestDatabase.with(kind) { database in
            let clock = ManualClock()
            let run = InvoiceRun(
                stream: InvoiceStream(database: database, clock: clock, logger: TestDatabase.logger), clock: clock,
                database: database)
            let subscription = database.feed.subscribe(after: nil)
            let listener = Task {
                for await item in subscription {
                    guard case .event(let event) = item, event.topic == .invoice else { continue }
                    let fields = Dictionary(event.fields, uniquingKeysWith: { first, _ in first })
                    if event.type == "invoice.shown", case .int(let id)? = fields["invoiceId"] {
                        run.shown.withLock { $0.append((id, event.committedAt)) }
                    } else if event.type == "invoice.state", case .string(let state)? = fields["state"] {
                        run.states.withLock { $0.append(state) }
                    }
                }
            }
            try await run.stream.begin()
            do {
                try await body(run)
            } catch {
                await run.stream.end()
                listener.cancel()
                throw error
            }
            await run.stream.end()
            listener.cancel()
        }
    }

    /// Waits until every actor that should be asleep is (producer and pacer while running, the
    /// pacer otherwise).
    func settle() async throws {
        let limit = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < limit {
            if clock.sleepers == (stream.state == .running ? 2 : 1) {
                try await Task.sleep(for: .microseconds(300))
                if clock.sleepers == (stream.state == .running ? 2 : 1) { return }
            }
            try await Task.sleep(for: .microseconds(100))
        }
        Issue.record("the invoice actors did not settle (state \(stream.state), \(clock.sleepers) asleep)")
        throw CancellationError()
    }

    /// Moves time on, sleeper by sleeper, to `time`; `each` runs after every step.
    func run(until time: Timestamp, each: () async throws -> Void = {}) async throws {
        try await settle()
        while let next = clock.nextDeadline, next <= time {
            clock.advance(to: next)
            try await settle()
            try await each()
        }
        clock.advance(to: time)
        try await settle()
    }

    /// Moves time on until the stream is idle again (at most `limit` seconds).
    func runUntilIdle(limit seconds: Double = 3_600) async throws {
        let end = clock.now().adding(seconds: seconds)
        try await settle()
        while stream.state != .idle, let next = clock.nextDeadline, next <= end {
            clock.advance(to: next)
            try await settle()
        }
        #expect(stream.state == .idle)
    }

    func invoices() async throws -> [Invoice] {
        try await stream.store.list(beforeID: nil, limit: 100_000, shownOnly: false).reversed()
    }

    /// Shown invoices are at least one display interval apart: never more than 2 a second.
    func expectPaced() {
        let times = shown.withLock { $0.map(\.at.microseconds) }
        let closest = zip(times, times.dropFirst()).map { $1 - $0 }.min() ?? .max
        #expect(closest >= stream.pace.displayInterval, "two invoices shown \(closest) µs apart")
    }
}

@Suite("Invoice stream", .databaseSlots) struct InvoiceStreamTests {
    @Test(arguments: TestDatabase.kinds)
    func aCycleMakesExactly1500InvoicesInFiveMinutesAndShowsThemAllAtTwoASecond(kind: Database.Kind) async throws {
        try await InvoiceRun.with(kind) { run in
            let start = run.clock.now()
            #expect(run.stream.state == .idle)
            let started = try await run.stream.start()
            #expect(started.state == .running && started.cycle == 1)

            try await run.run(until: start.adding(seconds: 300))
            let invoices = try await run.invoices()
            #expect(invoices.count == 1_500)
            // One every 200 ms from the start: 5 a second, the last 299.8 s in.
            #expect(
                invoices.enumerated().allSatisfy { index, invoice in
                    invoice.issuedAt.microseconds == start.microseconds + Int64(index) * 200_000
                })
            #expect(Set(invoices.map(\.number)).count == 1_500)
            #expect(run.stream.state == .processingBacklog)
            let midway = try await run.stream.status()
            #expect(
                midway.backlog > 800 && midway.produced == 1_500,
                "at 2 a second about 600 of 1,500 are shown after five minutes")

            try await run.runUntilIdle()
            let shown = run.shown.withLock { $0.map(\.id) }
            #expect(shown == invoices.map(\.id), "every invoice shown once, in the order made")
            run.expectPaced()
            #expect(run.states.withLock { $0 } == ["running", "processing_backlog", "idle"])
            let status = try await run.stream.status()
            #expect(status.backlog == 0 && status.state == .idle)

            // Totals: the same in memory, in the stored row and summed over the table, to the cent.
            let recount = try await run.stream.store.recount()
            let stored = try await run.stream.store.stream().stats
            #expect(run.stream.stats == recount && stored == recount)
            #expect(recount.count == 1_500 && recount.totalCents == invoices.reduce(0) { $0 + $1.amounts.totalCents })
            #expect(
                invoices.allSatisfy {
                    $0.amounts.vatCents == ($0.amounts.subtotalCents * 15 + 50) / 100
                        && $0.amounts.totalCents == $0.amounts.subtotalCents + $0.amounts.vatCents
                })
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func stopHaltsMakingAtOnceAndTheBacklogIsShownToTheEnd(kind: Database.Kind) async throws {
        try await InvoiceRun.with(kind) { run in
            let start = run.clock.now()
            _ = try await run.stream.start()
            try await run.run(until: start.adding(seconds: 60))
            let stopped = try await run.stream.stop()
            #expect(stopped.state == .processingBacklog)
            let made = try await run.invoices()
            #expect(made.count == 301, "invoices at 0, 0.2, … 60.0 s")
            #expect(made.allSatisfy { $0.issuedAt <= start.adding(seconds: 60) })

            try await run.runUntilIdle()
            let after = try await run.invoices()
            #expect(after.count == 301, "none after STOP")
            #expect(run.shown.withLock { $0.map(\.id) } == made.map(\.id))
            run.expectPaced()
            #expect(run.states.withLock { $0 } == ["running", "stopping", "processing_backlog", "idle"])
            // Totals survive STOP and a new START goes on from them.
            let before = run.stream.stats
            #expect(before.count == 301)
            let again = try await run.stream.start()
            #expect(again.cycle == 2)
            try await run.run(until: run.clock.now().adding(seconds: 1))
            let recount = try await run.stream.store.recount()
            #expect(run.stream.stats.count == before.count + 6 && run.stream.stats == recount)
            await #expect(throws: InvoiceRepository.Refusal.notIn(.running)) { try await run.stream.start() }
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func eachActorCrashedMidCycleIsReplacedAndNothingIsLostOrCountedTwice(kind: Database.Kind) async throws {
        try await InvoiceRun.with(kind) { run in
            let start = run.clock.now()
            _ = try await run.stream.start()
            for (second, actor) in [
                (30.0, InvoiceActor.producer), (60, .aggregator), (90, .pacer), (120, .broadcaster),
            ] {
                try await run.run(until: start.adding(seconds: second))
                // Exact after each replacement, not only in the end.
                let recount = try await run.stream.store.recount()
                #expect(run.stream.stats == recount && recount.count == Int64(second * 5) + 1, "at \(second) s")
                run.stream.crashes.arm(actor)
            }
            try await run.run(until: start.adding(seconds: 150))
            // The coordinator fails while handling STOP: a fresh one from storage carries it out.
            run.stream.crashes.arm(.coordinator)
            _ = try await run.stream.stop()
            try await run.runUntilIdle()

            let restarts = await run.stream.restarts
            #expect(InvoiceActor.allCases.allSatisfy { restarts[$0] == 1 }, "\(restarts)")
            let invoices = try await run.invoices()
            #expect(
                invoices.count == 751 && Set(invoices.map(\.index)) == Set(0...750),
                "every due invoice once, none twice")
            #expect(
                invoices.enumerated().allSatisfy { index, invoice in
                    invoice.issuedAt.microseconds == start.microseconds + Int64(index) * 200_000
                })
            let shown = run.shown.withLock { $0.map(\.id) }
            #expect(Set(shown) == Set(invoices.map(\.id)), "every invoice shown")
            #expect(
                shown.count <= invoices.count + 1,
                "a replaced pacer shows at most its last invoice again (viewers key rows by ID)")
            run.expectPaced()
            let recount = try await run.stream.store.recount()
            #expect(run.stream.stats == recount)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func aServerStoppedMidCycleGoesOnWhereItWasWhenItStartsAgain(kind: Database.Kind) async throws {
        try await InvoiceRun.with(kind) { run in
            let start = run.clock.now()
            _ = try await run.stream.start()
            try await run.run(until: start.adding(seconds: 100))
            // The process ends; ten seconds later a new one starts on the same database.
            await run.stream.end()
            run.clock.advance(to: start.adding(seconds: 110))
            let again = InvoiceStream(database: run.database, clock: run.clock, logger: TestDatabase.logger)
            try await again.begin()
            #expect(again.state == .running && again.stats.count == 501)
            let second = InvoiceRun(stream: again, clock: run.clock, database: run.database)
            try await second.run(until: start.adding(seconds: 300))
            #expect(again.state == .processingBacklog)
            let invoices = try await second.invoices()
            #expect(invoices.count == 1_500 && Set(invoices.map(\.index)) == Set(0..<1_500), "the cycle completed once")
            // Those due while it was down are made at once when it is back, the rest on schedule.
            #expect(
                invoices[501].issuedAt == start.adding(seconds: 110)
                    && invoices[600].issuedAt == start.adding(seconds: 120))
            let recount = try await again.store.recount()
            #expect(again.stats == recount)
            try await second.runUntilIdle()
            await again.end()
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func theDatabaseRefusesAnInvoiceWhoseArithmeticIsWrong(kind: Database.Kind) async throws {
        try await TestDatabase.with(kind) { database in
            func insert(subtotal: Int64, vat: Int64, total: Int64, number: String) async throws {
                try await database.transaction { db in
                    try await db.raw(
                        """
                        INSERT INTO invoices (invoice_number, cycle, cycle_index, invoice_date, seller_name,
                            buyer_name, subtotal_cents, vat_cents, total_cents, created_at)
                        VALUES (\(bind: number), 1, \(bind: Int(number.suffix(1))!), 0, 'A Co.', 'B Co.',
                            \(bind: subtotal), \(bind: vat), \(bind: total), 0)
                        """
                    ).run()
                }
            }
            try await insert(subtotal: 1_010, vat: 152, total: 1_162, number: "T-1") // 151.5 → 152, half up
            await #expect(throws: (any Error).self) {
                try await insert(subtotal: 1_010, vat: 151, total: 1_161, number: "T-2")
            }
            await #expect(throws: (any Error).self) {
                try await insert(subtotal: 1_000, vat: 150, total: 1_200, number: "T-3")
            }
            await #expect(throws: (any Error).self) {
                try await insert(subtotal: -1_000, vat: -150, total: -1_150, number: "T-4")
            }
            await #expect(throws: (any Error).self) {
                try await insert(subtotal: 1_000, vat: 150, total: 1_150, number: "T-1")
            }
            #expect(try await InvoiceRepository(database: database).recount().count == 1)
        }
    }
}
