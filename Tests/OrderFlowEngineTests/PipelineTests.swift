import Foundation
import OrderFlowDomain
import OrderFlowEngine
import OrderFlowPersistence
import OrderFlowTestSupport
import Testing

@Suite("The order saga", .databaseSlots)
struct PipelineTests {
    @Test(arguments: TestDatabase.kinds)
    func codOrderFromAQCStoreIsReleased(kind: Database.Kind) async throws {
        try await EngineHarness.run(kind) { h in
            try await h.place("ORD-1")
            try await h.engine.drain()
            let stored = try await h.order("ORD-1")
            #expect(stored.order.status == .released)
            #expect(stored.order.paymentStatus == .codConfirmed)
            #expect(stored.order.reservationID == nil, "force allocation takes no stock")
            #expect(stored.history.map(\.status) == [.open, .allocated, .allocated, .released])
            #expect(
                stored.history.map(\.paymentStatus) == [.awaitingPayment, .awaitingPayment, .codPending, .codConfirmed])
            #expect(
                try await h.orders.events(of: OrderID("ORD-1")).map(\.type) == [
                    "order.created", "order.allocated", "order.released",
                ])
            #expect(try await JobRepository(database: h.database).count() == 0)
            // Downstream: commerce takes every event, fulfilment the release.
            #expect(
                h.simulator.stats.commerceEventsByOrder["ORD-1"] == [
                    "order.created", "order.allocated", "order.released",
                ])
            #expect(h.simulator.stats.fulfillmentReceived == 1)
            #expect(h.simulator.stats.commerceBadSignatures == 0)
            // The customer heard about the release once, by email (no phone on the sample).
            #expect(h.email.sent.withLock { $0.map(\.subject) } == ["Order ORD-1 is confirmed"])
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func cardOrderReservesStockAndPays(kind: Database.Kind) async throws {
        try await EngineHarness.run(kind, stock: 10) { h in
            try await h.place("ORD-2", store: Samples.warehouse) { $0.paymentMethod = .card }
            try await h.engine.drain()
            let order = try await h.order("ORD-2").order
            #expect(order.status == .released)
            #expect(order.paymentStatus == .paid)
            #expect(order.paymentReference == "PAY-ORD-2")
            #expect(order.reservationID == "order-ORD-2")
            #expect(try await h.stock("COFFEE").reserved == 2)
            #expect(try await h.stock("WATER").reserved == 6)
            #expect(h.payments.charges.withLock { $0.map(\.idempotencyKey) } == ["order-ORD-2-charge"])
            #expect(h.payments.charges.withLock { $0.first?.amount.description } == "413.0000")
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func insufficientStockFailsTheOrderAndTakesNothing(kind: Database.Kind) async throws {
        try await EngineHarness.run(kind, stock: 4) { h in
            try await h.place("ORD-3", store: Samples.warehouse)
            try await h.engine.drain()
            let stored = try await h.order("ORD-3")
            #expect(stored.order.status == .cancelled)
            #expect(stored.order.paymentStatus == .voided)
            #expect(
                stored.order.failureReason?.hasPrefix("insufficient stock: 6 × WATER requested, 4 available") == true)
            #expect(try await h.stock("COFFEE").reserved == 0, "all or nothing")
            #expect(try await h.orders.events(of: OrderID("ORD-3")).map(\.type) == ["order.created", "order.failed"])
            #expect(h.metric("o2o_orders_failed_total 1"))
            #expect(h.email.sent.withLock { $0.map(\.subject) } == ["Order ORD-3 could not be completed"])
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func declinedCardReleasesTheStockAndFailsTheOrder(kind: Database.Kind) async throws {
        try await EngineHarness.run(kind, stock: 10, payments: FakePayments(.decline("card expired"))) { h in
            try await h.place("ORD-4", store: Samples.warehouse) { $0.paymentMethod = .card }
            try await h.engine.drain()
            let stored = try await h.order("ORD-4")
            #expect(stored.order.status == .cancelled)
            #expect(stored.order.paymentStatus == .failed)
            #expect(stored.order.failureReason == "payment declined: card expired")
            #expect(try await h.stock("COFFEE").reserved == 0)
            #expect(try await h.stock("WATER").reserved == 0)
            #expect(stored.history.map(\.status) == [.open, .allocated, .cancelled])
            #expect(
                try await h.orders.events(of: OrderID("ORD-4")).map(\.type) == [
                    "order.created", "order.allocated", "order.failed",
                ])
        }
    }

    @Test func anUnavailableProviderIsRetriedWithBackoffThenDeadLetteredAndReplayed() async throws {
        let payments = FakePayments(.unavailable)
        try await EngineHarness.run(stock: 10, payments: payments) { h in
            try await h.place("ORD-5", store: Samples.warehouse) { $0.paymentMethod = .card }
            try await h.engine.drain()
            let queue = JobRepository(database: h.database)
            var jobs = try await queue.jobs(of: OrderID("ORD-5"))
            #expect(jobs.map(\.kind) == ["order.pay"])
            #expect(jobs.first?.attempt == 1)
            #expect(jobs.first?.lastError?.contains("provider down") == true)
            // The retry waits: between 0.5 and 1 s after the first attempt (backoff 1 s with jitter).
            let wait = Double(jobs[0].runAt.microseconds - h.clock.now().microseconds) / 1_000_000
            #expect(wait >= 0.5 && wait <= 1.0)
            #expect(try await h.engine.worker.runDue() == 0, "not due yet")

            h.clock.advance(seconds: 1)
            try await h.engine.drain()
            jobs = try await queue.jobs(of: OrderID("ORD-5"))
            #expect(jobs.first?.attempt == 2)
            let second = Double(jobs[0].runAt.microseconds - h.clock.now().microseconds) / 1_000_000
            #expect(second >= 1.0 && second <= 2.0, "the delay doubles")

            h.clock.advance(seconds: 2)
            try await h.engine.drain()
            let left = try await queue.jobs(of: OrderID("ORD-5"))
            #expect(left.isEmpty, "\(left)")
            let letters = DeadLetterRepository(database: h.database)
            let dead = try #require(try await letters.search(DeadLetterQuery()).letters.first)
            #expect(dead.source == .job)
            #expect(dead.kind == "order.pay")
            #expect(dead.attempts == 3)
            #expect(try await h.order("ORD-5").order.status == .allocated)

            payments.behaviour.withLock { $0 = .approve }
            let audit = AuditEntry(at: h.clock.now(), actor: "dev", actorKind: "user", action: "deadletter.replay")
            let replayed = try await letters.resolve(
                dead.id, .replay(correctedPayload: nil), by: "dev", note: "provider back", at: h.clock.now(),
                audit: audit)
            #expect(replayed.state == .replayed)
            try await h.engine.drain()
            #expect(try await h.order("ORD-5").order.status == .released)
            #expect(
                payments.charges.withLock { Set($0.map(\.idempotencyKey)) } == ["order-ORD-5-charge"],
                "every attempt used one key")
            await #expect(throws: DomainError.self) {
                try await letters.resolve(dead.id, .discard, by: "dev", note: nil, at: h.clock.now(), audit: audit)
            }
        }
    }

    @Test func aStepThatRunsTooLongIsAbandonedAndRetried() async throws {
        let payments = FakePayments(.slow(4.0))
        try await EngineHarness.run(stock: 10, payments: payments, configure: { $0.stepTimeoutSeconds = 2 }) { h in
            try await h.place("ORD-6", store: Samples.warehouse) { $0.paymentMethod = .card }
            // On a loaded machine an ordinary step may also overrun this short limit; it is retried too.
            var payTimedOut = false
            for _ in 0..<5 where !payTimedOut {
                try await h.engine.drain()
                let job = try await JobRepository(database: h.database).jobs(of: OrderID("ORD-6")).first
                payTimedOut = job?.kind == "order.pay" && job?.lastError?.contains("timed out") == true
                h.clock.advance(seconds: 30)
            }
            #expect(payTimedOut)
            #expect(try await h.order("ORD-6").order.status == .allocated, "the slow payment did not commit")
            payments.behaviour.withLock { $0 = .approve }
            for _ in 0..<5 where try await h.order("ORD-6").order.status != .released {
                h.clock.advance(seconds: 30)
                try await h.engine.drain()
            }
            #expect(try await h.order("ORD-6").order.status == .released)
        }
    }

    /// A worker keeps its job's lease while the step runs; once another worker holds the job, the
    /// first stops the step and records nothing (no retry, no dead letter): the job is the other's.
    /// The limit catches a step that runs on (it would sleep for an hour); it is wide because a test
    /// waits its turn to set up while the whole suite runs on two cores.
    @Test(.timeLimit(.minutes(4)))
    func aStepWhoseLeaseWasTakenStopsAndLeavesTheJobToItsNewOwner() async throws {
        let payments = FakePayments(.slow(3_600))
        try await EngineHarness.run(stock: 10, payments: payments, configure: { $0.leaseSeconds = 0.3 }) { h in
            try await h.place("ORD-L", store: Samples.warehouse) { $0.paymentMethod = .card }
            try await h.engine.worker.runDue(limit: 1)
            let jobs = JobRepository(database: h.database)
            #expect(try await jobs.jobs(of: OrderID("ORD-L")).map(\.kind) == ["order.pay"])
            let running = Task { try await h.engine.worker.runDue(limit: 1) }
            for _ in 0..<2_000 where payments.charges.withLock({ $0.isEmpty }) {
                try await Task.sleep(for: .milliseconds(10))
            }
            let charged = !payments.charges.withLock { $0.isEmpty }
            let errors = try await jobs.jobs(of: OrderID("ORD-L")).map(\.lastError)
            try #require(charged, "the step did not reach the provider: \(errors)")
            // Another worker takes the job as if its lease had run out (an hour on the manual clock).
            let taken = try await jobs.claim(
                owner: "thief", limit: 1, lease: 30, now: h.clock.now().adding(seconds: 3_600))
            #expect(taken.map(\.kind) == ["order.pay"])
            // The step would sleep for an hour: it ends because the next renewal finds the lease gone.
            #expect(try await running.value == 1)
            let job = try #require(try await jobs.jobs(of: OrderID("ORD-L")).first)
            #expect(job.leaseOwner == "thief" && job.lastError == nil, "the first worker recorded no failure")
            #expect(try await DeadLetterRepository(database: h.database).count() == 0)
            #expect(try await h.order("ORD-L").order.paymentStatus != .paid)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func cancellingAPaidOrderRefundsAndReleasesStock(kind: Database.Kind) async throws {
        try await EngineHarness.run(kind, stock: 10) { h in
            try await h.place("ORD-7", store: Samples.warehouse) { $0.paymentMethod = .card }
            try await h.engine.drain()
            var order = try await h.order("ORD-7").order
            let version = order.version
            let change = try order.cancel(reason: "customer called", actor: "ops", at: h.clock.now())
            #expect(order.paymentStatus == .paid, "a taken payment waits for the refund")
            try await h.orders.update(
                order, expectedVersion: version, history: change,
                events: [.forOrder("order.cancelled", order, at: h.clock.now())],
                jobs: h.engine.pipeline.cancellationJobs(for: order, at: h.clock.now()))
            try await h.engine.drain()
            let stored = try await h.order("ORD-7")
            #expect(stored.order.paymentStatus == .refunded)
            #expect(h.payments.refunds.withLock { $0.map(\.key) } == ["order-ORD-7-refund"])
            #expect(try await h.stock("COFFEE").reserved == 0)
            #expect(stored.history.last?.reason == "compensated: payment PAY-ORD-7 refunded, stock released")
            #expect(
                try await h.orders.events(of: OrderID("ORD-7")).map(\.type).suffix(2) == [
                    "order.cancelled", "order.refunded",
                ])
            #expect(h.email.sent.withLock { $0.map(\.subject) }.last == "Order ORD-7 was cancelled")
        }
    }

    @Test func aJobWhoseLeaseWasTakenOverCannotCommitTwice() async throws {
        try await EngineHarness.run { h in
            try await h.place("ORD-8")
            let queue = JobRepository(database: h.database)
            let first = try #require(
                try await queue.claim(owner: "worker-a", limit: 1, lease: 5, now: h.clock.now()).first)
            // Worker A stalls past its lease; worker B takes the job and finishes it.
            h.clock.advance(seconds: 6)
            let second = try #require(
                try await queue.claim(owner: "worker-b", limit: 1, lease: 5, now: h.clock.now()).first)
            #expect(second.id == first.id)
            #expect(second.attempt == 2)
            try await h.engine.pipeline.run(second, owner: "worker-b")
            // A wakes up and tries to commit: refused, and nothing is written twice.
            await #expect(throws: JobRepository.Failure.leaseLost(jobID: first.id)) {
                try await h.engine.pipeline.run(first, owner: "worker-a")
            }
            let stored = try await h.order("ORD-8")
            #expect(stored.history.map(\.status) == [.open, .allocated])
            #expect(
                try await h.orders.events(of: OrderID("ORD-8")).map(\.type) == ["order.created", "order.allocated"])
        }
    }

    @Test func notificationsGoOutOnceEvenWhenRetried() async throws {
        try await EngineHarness.run { h in
            h.email.failuresLeft.withLock { $0 = 1 }
            try await h.place("ORD-9")
            try await h.engine.drain()
            #expect(h.email.sent.withLock { $0.isEmpty }, "the first attempt failed")
            h.clock.advance(seconds: 2)
            try await h.engine.drain()
            h.clock.advance(seconds: 60)
            try await h.engine.drain()
            #expect(h.email.sent.withLock { $0.map(\.key) } == ["notify:ORD-9:released:email"])
            #expect(
                try await NotificationReceiptRepository(database: h.database).of(order: OrderID("ORD-9")).map(
                    \.recipient) == ["buyer@example.com"])
        }
    }
}

extension PipelineTests {
    /// `ORDERFLOW_WORKERS=0`: an instance that only takes orders in runs neither the job worker
    /// nor the outbox relay; any other count runs both.
    @Test func anInstanceWithoutWorkersRunsNoPipelineServices() async throws {
        try await EngineHarness.run(configure: { $0.workerConcurrency = 0 }) { h in
            #expect(h.engine.services.isEmpty)
        }
        try await EngineHarness.run { h in
            #expect(h.engine.services.count == 2)
            #expect(h.engine.services.contains { $0 is JobWorker })
            #expect(h.engine.services.contains { $0 is OutboxRelay })
        }
    }
}
