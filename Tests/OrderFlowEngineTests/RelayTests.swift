import Foundation
import OrderFlowDomain
import OrderFlowEngine
import OrderFlowPersistence
import OrderFlowRuntime
import OrderFlowTestSupport
import SQLKit
import Testing

@Suite("Outbox relay and downstream channels", .databaseSlots)
struct RelayTests {
    @Test func anOutageOpensTheCircuitWithoutSpendingRetriesAndEverythingArrivesInOrder() async throws {
        try await EngineHarness.run { h in
            h.simulator.setCommerceDown(true)
            for index in 1...3 { try await h.place("OUT-\(index)") }
            try await h.engine.drain()
            let commerce = try #require(h.engine.relay.channel(named: "commerce"))
            // Three orders' first events failed: three consecutive failures open the circuit.
            #expect(commerce.breaker.state == .open)
            let attemptsWhenOpened = try await totalAttempts(h, channel: "commerce")
            #expect(attemptsWhenOpened == 3)

            // While open, time passes and nothing is sent: no retries are spent.
            for _ in 0..<3 {
                h.clock.advance(seconds: 3)
                try await h.engine.drain()
            }
            #expect(try await totalAttempts(h, channel: "commerce") == attemptsWhenOpened)

            // After the cooldown one probe goes; still down, so the circuit reopens.
            h.clock.advance(seconds: 2)
            try await h.engine.drain()
            #expect(try await totalAttempts(h, channel: "commerce") == attemptsWhenOpened + 1)
            #expect(commerce.breaker.state == .open)

            // The engine comes back: the next probe closes the circuit and the backlog drains.
            h.simulator.setCommerceDown(false)
            for _ in 0..<6 {
                h.clock.advance(seconds: 10)
                try await h.engine.drain()
            }
            #expect(commerce.breaker.state == .closed)
            let states = try await h.database.read { db in
                try await db.raw("SELECT state FROM transmissions WHERE channel = 'commerce'").all().map {
                    try $0.decode(column: "state", as: String.self)
                }
            }
            #expect(states.count == 9 && states.allSatisfy { $0 == "acknowledged" })
            for index in 1...3 {
                #expect(
                    h.simulator.stats.commerceEventsByOrder["OUT-\(index)"] == [
                        "order.created", "order.allocated", "order.released",
                    ],
                    "events of one order arrive in order")
            }
            #expect(h.simulator.stats.commerceRefused >= 4)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func aPoisonEventIsDeadLetteredThenReplayedWithAFix(kind: Database.Kind) async throws {
        try await EngineHarness.run(kind) { h in
            h.simulator.settings.withLock { $0.commerceUnknownStores = [Samples.otherStore.id.rawValue] }
            try await h.place("POISON-1", store: Samples.otherStore)
            try await h.engine.drain()
            let transmissions = TransmissionRepository(database: h.database)
            let sent = try await transmissions.of(order: OrderID("POISON-1")).filter { $0.channel == "commerce" }
            // Refused on the first attempt (422): not retried, and it does not block the order's later events.
            #expect(sent.map(\.state) == [.failed, .failed, .failed])
            #expect(sent.map(\.attempts) == [1, 1, 1])
            #expect(h.engine.relay.channel(named: "commerce")?.breaker.state == .closed, "a refusal is not an outage")
            let attempts = try await transmissions.attempts(of: sent[0].id)
            #expect(attempts.first?.httpStatus == 422)
            #expect(attempts.first?.responseExcerpt?.contains("unknown store") == true)

            let letters = DeadLetterRepository(database: h.database)
            let page = try await letters.search(DeadLetterQuery())
            #expect(page.letters.count == 3)
            let created = try #require(page.letters.first { $0.kind == "order.created" })
            #expect(created.channel == "commerce")
            #expect(created.error.hasPrefix("HTTP 422"))

            let corrected = created.payload.replacingOccurrences(
                of: Samples.otherStore.id.rawValue, with: Samples.qcStore.id.rawValue)
            let audit = AuditEntry(at: h.clock.now(), actor: "dev", actorKind: "user", action: "deadletter.replay")
            _ = try await letters.resolve(
                created.id, .replay(correctedPayload: corrected), by: "dev", note: "mapped the store",
                at: h.clock.now(), audit: audit)
            try await h.engine.drain()
            let after = try await transmissions.of(order: OrderID("POISON-1")).first {
                $0.eventID == created.eventID && $0.channel == "commerce"
            }
            #expect(after?.state == .acknowledged)
            #expect(after?.payload == corrected)
            #expect(h.simulator.stats.commerceEventsByOrder["POISON-1"] == ["order.created"])
            #expect(try await letters.count(state: .open) == 2)
        }
    }

    /// A channel that takes batches gets several orders' events in one signed request, each
    /// order's in order; a batch it refuses because of one event is sent again event by event, so
    /// only that event's order fails.
    @Test(arguments: TestDatabase.kinds)
    func aChannelTakesBatchesAndABatchWithAPoisonEventIsSplit(kind: Database.Kind) async throws {
        try await EngineHarness.run(
            kind,
            configure: { settings in
                settings.channels[0].batchSize = 10
                settings.channels[0].concurrency = 2
            }
        ) { h in
            h.simulator.settings.withLock { $0.commerceUnknownStores = [Samples.otherStore.id.rawValue] }
            let orders = (1...6).map { "BATCH-\($0)" }
            for id in orders.prefix(3) { try await h.place(id) }
            try await h.engine.drain()
            var stats = h.simulator.stats
            #expect(stats.commerceLargestBatch == 3, "the three orders' events went together")
            #expect(stats.commerceRequests == 3 && stats.commerceReceived == 9)

            for id in orders.suffix(3) { try await h.place(id) }
            try await h.place("BATCH-POISON", store: Samples.otherStore)
            try await h.engine.drain()
            stats = h.simulator.stats
            #expect(stats.commerceBadSignatures == 0 && stats.commerceDuplicates == 0)
            let transmissions = TransmissionRepository(database: h.database)
            for id in orders {
                #expect(
                    stats.commerceEventsByOrder[id] == ["order.created", "order.allocated", "order.released"],
                    "each order's events in order")
                let sent = try await transmissions.of(order: OrderID(id)).filter { $0.channel == "commerce" }
                #expect(sent.map(\.state) == [.acknowledged, .acknowledged, .acknowledged])
                for transmission in sent {
                    // The round's answers are recorded together: one attempt each, none lost or doubled.
                    #expect(try await transmissions.attempts(of: transmission.id).map(\.httpStatus) == [200])
                }
            }
            #expect(stats.commerceEventsByOrder["BATCH-POISON"] == nil)
            let poison = try await transmissions.of(order: OrderID("BATCH-POISON")).filter { $0.channel == "commerce" }
            #expect(poison.map(\.state) == [.failed, .failed, .failed])
            let attempts = try await transmissions.attempts(of: poison[0].id)
            #expect(attempts.map(\.httpStatus) == [422], "refused alone, once")
            #expect(try await DeadLetterRepository(database: h.database).count(state: .open) == 3)
        }
    }

    @Test func signaturesVerifyAndWrongSecretsAreRefused() async throws {
        let body = #"{"orderId":"A"}"#
        let signature = WebhookSender.signature(secret: "s3cret", timestamp: 1_800_000_000, body: body)
        #expect(signature == WebhookSender.signature(secret: "s3cret", timestamp: 1_800_000_000, body: body))
        #expect(signature != WebhookSender.signature(secret: "other", timestamp: 1_800_000_000, body: body))
        #expect(signature != WebhookSender.signature(secret: "s3cret", timestamp: 1_800_000_001, body: body))
        #expect(signature.hasPrefix("sha256=") && signature.count == 7 + 64)

        try await EngineHarness.run(configure: { settings in
            settings.channels = settings.channels.map { channel in
                var channel = channel
                channel.secret = "not-the-receivers-secret"
                return channel
            }
        }) { h in
            try await h.place("SIG-1")
            try await h.engine.drain()
            #expect(h.simulator.stats.commerceBadSignatures == 3)
            #expect(try await DeadLetterRepository(database: h.database).count(state: .open) >= 3, "401 is a refusal")
        }
    }

    @Test func backoffDoublesAndStaysWithinItsJitter() {
        for attempt in 1...6 {
            let low = Backoff.delay(attempt: attempt, base: 1, cap: 20, random: 0)
            let high = Backoff.delay(attempt: attempt, base: 1, cap: 20, random: 1)
            let raw = min(20, pow(2, Double(attempt - 1)))
            #expect(low == raw / 2)
            #expect(high == raw)
        }
    }

    @Test func channelSettingsAreCheckedWithEveryProblemReported() throws {
        let parsed = try ChannelSettings.parse(#"[{"name":"commerce","url":"https://c.example.com/events"}]"#)
        #expect(parsed.first?.ackThresholdSeconds == 30)
        #expect(parsed.first?.events == ["order.*"])
        #expect(parsed.first?.batchSize == 1, "one event a request unless asked")
        #expect(throws: SettingsError.self) { try ChannelSettings.parse("{}") }
        do {
            _ = try ChannelSettings.parse(
                #"[{"name":"a b","url":"ftp://x"},{"name":"c","url":"http://c","events":[]},{"name":"c","url":"http://c"},"#
                    + #"{"name":"d","url":"http://d","batchSize":0}]"#
            )
            Issue.record("accepted bad channels")
        } catch let error as SettingsError {
            #expect(error.problems.count == 5)
            #expect(error.problems.last == "channel 'd': batchSize must be 1 to 500")
        }
        let subscription = ChannelSubscription(
            channel: "x", eventTypes: ["order.released", "payment.*"], ackThresholdSeconds: 30)
        #expect(subscription.takes("order.released"))
        #expect(subscription.takes("payment.refunded"))
        #expect(!subscription.takes("order.created"))
    }

    func totalAttempts(_ h: EngineHarness, channel: String) async throws -> Int {
        try await h.database.read { db in
            try await db.raw(
                "SELECT COALESCE(SUM(attempts), 0) AS n FROM transmissions WHERE channel = \(bind: channel)"
            ).first()!.decode(column: "n", as: Int.self)
        }
    }
}
