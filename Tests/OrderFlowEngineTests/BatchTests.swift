import Foundation
import OrderFlowDomain
import OrderFlowPersistence
import OrderFlowTestSupport
import Testing

@testable import OrderFlowEngine

@Suite("Steps in batches", .databaseSlots)
struct BatchTests {
    /// Three orders' payments run as one batch; the provider fails for one of them. That one is
    /// retried alone; the other two are paid and move on, written by the same batch.
    @Test(arguments: TestDatabase.kinds)
    func anOrderWhoseStepFailsIsRetriedAloneAndTheRestOfItsBatchCommits(kind: Database.Kind) async throws {
        let payments = FakePayments(.unavailableFor("ORD-B2"))
        try await EngineHarness.run(kind, stock: 30, payments: payments) { h in
            for id in ["ORD-B1", "ORD-B2", "ORD-B3"] {
                try await h.place(id, store: Samples.warehouse) { $0.paymentMethod = .card }
            }
            let queue = JobRepository(database: h.database)
            // One claim each: the allocations, then the payments (the oldest due kind first).
            #expect(try await h.engine.worker.runDue(limit: 3) == 3)
            for id in ["ORD-B1", "ORD-B2", "ORD-B3"] {
                #expect(try await h.order(id).order.status == .allocated)
                #expect(try await queue.jobs(of: OrderID(id)).map(\.kind) == ["order.pay"])
            }
            #expect(try await h.engine.worker.runDue(limit: 3) == 3)
            #expect(h.metric(#"orderflow_job_batches_total{kind="order.pay"} 1"#), "one batch")
            #expect(h.metric(#"orderflow_job_batch_jobs_total{kind="order.pay"} 3"#))
            #expect(payments.charges.withLock { Set($0.map(\.orderID.rawValue)) } == ["ORD-B1", "ORD-B2", "ORD-B3"])
            for id in ["ORD-B1", "ORD-B3"] {
                let stored = try await h.order(id)
                #expect(stored.order.paymentStatus == .paid)
                #expect(try await h.orders.events(of: OrderID(id)).map(\.type).last == "order.paid")
                #expect(try await queue.jobs(of: OrderID(id)).map(\.kind) == ["order.release"])
            }
            let failed = try await h.order("ORD-B2")
            #expect(failed.order.status == .allocated && failed.order.paymentStatus == .awaitingPayment)
            #expect(failed.history.map(\.status) == [.open, .allocated])
            let retry = try #require(try await queue.jobs(of: OrderID("ORD-B2")).first)
            #expect(retry.kind == "order.pay" && retry.attempt == 1 && retry.leaseOwner == nil)
            #expect(retry.lastError?.contains("provider down for ORD-B2") == true)
            #expect(try await h.stock("WATER").reserved == 18, "the failed order keeps its reservation")

            payments.behaviour.withLock { $0 = .approve }
            h.clock.advance(seconds: 1)
            try await h.engine.drain()
            for id in ["ORD-B1", "ORD-B2", "ORD-B3"] {
                #expect(try await h.order(id).order.status == .released)
            }
        }
    }

    /// A step whose write is refused at commit — its order changed after the batch read it — rolls
    /// back to its own savepoint: its job stays to run again, and the other orders' writes commit.
    @Test(arguments: TestDatabase.kinds)
    func aWriteRefusedAtCommitLeavesTheRestOfTheBatchWritten(kind: Database.Kind) async throws {
        try await EngineHarness.run(kind) { h in
            for id in ["ORD-C1", "ORD-C2", "ORD-C3"] { try await h.place(id) }
            let queue = JobRepository(database: h.database)
            let jobs = try await queue.claimBatch(owner: "worker-a", limit: 10, lease: 30, now: h.clock.now())
            #expect(jobs.map(\.kind) == Array(repeating: "order.allocate", count: 3))
            let pipeline = h.engine.pipeline
            let orders = try await pipeline.orders(of: jobs)
            var decided: [(job: Job, decision: OrderPipeline.Decision)] = []
            for job in jobs {
                decided.append((job, try await pipeline.decide(job, order: job.orderID.flatMap { orders[$0] })))
            }
            // Meanwhile someone else changes ORD-C2 (a line edit, say): its version moves on.
            let current = try await h.order("ORD-C2").order
            var changed = current
            changed.version += 1
            try await h.orders.update(changed, expectedVersion: current.version, events: [])

            let refused = try await pipeline.commit(decided, owner: "worker-a")
            let c2 = try #require(jobs.first { $0.orderID == OrderID("ORD-C2") })
            #expect(Set(refused.keys) == [c2.id])
            #expect(refused[c2.id].map { "\($0)" }?.contains("changed while this request ran") == true)
            for id in ["ORD-C1", "ORD-C3"] {
                let stored = try await h.order(id)
                #expect(stored.order.status == .allocated)
                #expect(stored.history.map(\.status) == [.open, .allocated])
                #expect(try await h.orders.events(of: OrderID(id)).map(\.type) == ["order.created", "order.allocated"])
                #expect(try await queue.jobs(of: OrderID(id)).map(\.kind) == ["order.pay"])
            }
            let untouched = try await h.order("ORD-C2")
            #expect(untouched.order.status == .open && untouched.history.map(\.status) == [.open])
            #expect(try await h.orders.events(of: OrderID("ORD-C2")).map(\.type) == ["order.created"])
            #expect(try await queue.jobs(of: OrderID("ORD-C2")).map(\.id) == [c2.id], "its job is still there")
        }
    }
}
