import Foundation
import Hummingbird
import Logging
import NIOCore
import OrderFlowDomain
import OrderFlowEngine
import OrderFlowPersistence
import OrderFlowTestSupport
import Prometheus
import SQLKit
import Synchronization
import Testing

@testable import OrderFlowMonitor

/// A local HTTP peer that records every JSON body posted to it.
final class WebhookReceiver: Sendable {
    let bodies = Mutex<[String]>([])
    let port = Mutex<Int?>(nil)
    private let task = Mutex<Task<Void, any Error>?>(nil)

    func start() async throws -> String {
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            self.bodies.withLock { $0.append(String(buffer: body)) }
            return Response(status: .ok)
        }
        router.post("/api/v2/alerts") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            self.bodies.withLock { $0.append(String(buffer: body)) }
            return Response(status: .ok)
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in self.port.withLock { $0 = channel.localAddress?.port } },
            logger: TestDatabase.logger)
        task.withLock { $0 = Task { try await app.run() } }
        for _ in 0..<300 {
            if let port = port.withLock({ $0 }) { return "http://127.0.0.1:\(port)" }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw ReceiverError()
    }

    func stop() { task.withLock { $0?.cancel() } }

    struct ReceiverError: Error {}
}

/// A database with the sample catalog, monitoring on a manual clock, one `commerce` channel.
struct MonitorHarness {
    let database: Database
    let clock: ManualClock
    let monitor: Monitor
    let engine: Engine

    var alerts: AlertRepository { AlertRepository(database: database) }
    var queries: MonitoringRepository { MonitoringRepository(database: database) }
    var correlator: AcknowledgementCorrelator { AcknowledgementCorrelator(database: database) }

    static let t0 = Timestamp(microseconds: 1_800_000_000_000_000)

    static func run(
        _ kind: Database.Kind, configure: @Sendable (inout MonitorSettings) -> Void = { _ in },
        _ body: @Sendable (MonitorHarness) async throws -> Void
    ) async throws {
        try await TestDatabase.with(kind) { database in
            try await Samples.seed(database)
            let clock = ManualClock(t0)
            var engineSettings = EngineSettings()
            engineSettings.channels = [
                ChannelSettings(name: "commerce", url: "http://127.0.0.1:9/commerce", ackMode: .async)
            ]
            let engine = Engine(
                database: database, settings: engineSettings, clock: clock, logger: TestDatabase.logger,
                metrics: PrometheusMetricsFactory(registry: PrometheusCollectorRegistry()), payments: nil, notifiers: []
            )
            var settings = MonitorSettings()
            settings.rules = []
            configure(&settings)
            let monitor = Monitor(
                database: database, settings: settings, channels: engine.relay.channels, ready: engine.ready,
                clock: clock, logger: TestDatabase.logger,
                metrics: PrometheusMetricsFactory(registry: PrometheusCollectorRegistry()), owner: "test")
            try await body(MonitorHarness(database: database, clock: clock, monitor: monitor, engine: engine))
        }
    }

    /// An order and its `order.created` transmission to commerce, created now.
    @discardableResult
    func transmission(for orderID: String) async throws -> Transmission {
        let order = try Samples.order(orderID, at: clock.now())
        try await Samples.create(order, in: OrderRepository(database: database))
        _ = try await TransmissionRepository(database: database).fanOut(
            engine.settings.subscriptions, limit: 100, now: clock.now())
        return try #require(try await TransmissionRepository(database: database).of(order: order.id).first)
    }

    /// Records a failed delivery attempt (HTTP 503) on the transmission.
    func failAttempt(_ transmission: Transmission) async throws {
        let transmissions = TransmissionRepository(database: database)
        // Claimed in outbox order; a failed one is put off for an hour, so the next claim takes the next.
        let claimed = try #require(
            try await transmissions.claim(channel: "commerce", owner: "test", limit: 1, lease: 30, now: clock.now())
                .first)
        #expect(claimed.id == transmission.id)
        try await transmissions.finish(
            claimed, owner: "test",
            attempt: TransmissionAttempt(
                attempt: claimed.attempts, startedAt: clock.now(), durationMicroseconds: 1_000, httpStatus: 503,
                error: "HTTP 503", responseExcerpt: nil),
            outcome: .retry(at: clock.now().adding(seconds: 3_600), statusCode: 503, error: "HTTP 503"),
            now: clock.now())
    }

    func ack(_ ack: IncomingAcknowledgement) async throws -> AcknowledgementRecord {
        try #require(try await correlator.record([ack], scope: .everything, now: clock.now()).first)
    }
}

@Suite("Monitoring: classification, correlation, alert rules and notifications", .databaseSlots)
struct MonitorTests {
    /// A partner acknowledges in time, OrderFlow refuses it with 429 (over the partner's rate
    /// limit) and the partner retries after `Retry-After`: the transmission ends a success and no
    /// alert fires meanwhile, while one nobody acknowledges still turns delayed once the
    /// refusals are over.
    @Test(arguments: TestDatabase.kinds)
    func anAcknowledgementRefusedForItsRateLimitLeavesItsTransmissionSuccessAndFiresNothing(kind: Database.Kind)
        async throws
    {
        try await MonitorHarness.run(
            kind,
            configure: { settings in
                settings.rules = [
                    AlertRule(
                        name: "TransmissionsDelayed", kind: .delayedCount, threshold: 0, windowSeconds: 300,
                        forSeconds: 0, severity: .warning)
                ]
            }
        ) { h in
            try await h.alerts.seed(h.monitor.settings.rules, now: h.clock.now())
            let acknowledged = try await h.transmission(for: "THR-1")
            let forgotten = try await h.transmission(for: "THR-2")
            h.clock.advance(seconds: 29)
            let sentAt = h.clock.now()
            // The acknowledgement, sent 1 s before the deadline, is refused: retry in 5 s.
            h.monitor.throttle.refused(at: sentAt, retryAfter: 5)
            h.clock.advance(seconds: 5)
            #expect(try await h.monitor.sweeper.sweep() == 0, "the sweep waits for acknowledgements on their way")
            try await h.monitor.evaluator.evaluate()
            #expect(try await h.alerts.active().isEmpty)
            let record = try await h.ack(
                IncomingAcknowledgement(
                    channel: "commerce", reference: "retried", status: .accepted, occurredAt: sentAt,
                    eventID: acknowledged.eventID))
            #expect(record.classification == .success)
            try await h.monitor.evaluator.evaluate()
            #expect(try await h.alerts.active().isEmpty)
            // Retry-After and the grace have passed: what is still unacknowledged is late.
            h.clock.advance(seconds: 6)
            #expect(try await h.monitor.sweeper.sweep() == 1)
            let transmissions = TransmissionRepository(database: h.database)
            #expect(try await transmissions.of(order: OrderID("THR-1")).first?.classification == .success)
            #expect(try await transmissions.of(order: forgotten.orderID).first?.classification == .delayed)
            try await h.monitor.evaluator.evaluate()
            #expect(try await h.alerts.active().first?.fingerprint == "TransmissionsDelayed{channel=commerce}")
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func transmissionsTurnDelayedJustAfterTheirDeadlineAndLateAcknowledgementsStayVisible(kind: Database.Kind)
        async throws
    {
        try await MonitorHarness.run(kind) { h in
            let onTime = try await h.transmission(for: "CLS-1")
            let late = try await h.transmission(for: "CLS-2")
            #expect(onTime.classification == .pending && onTime.ackDeadline == MonitorHarness.t0.adding(seconds: 30))
            h.clock.advance(seconds: 30)
            #expect(try await h.monitor.sweeper.sweep() == 0)
            let exact = try await h.ack(
                IncomingAcknowledgement(
                    channel: "commerce", reference: "r1", status: .accepted, occurredAt: h.clock.now(),
                    eventID: onTime.eventID))
            #expect(exact.classification == .success && exact.latencySeconds == 30)
            h.clock.advance(seconds: 0.000001)
            #expect(try await h.monitor.sweeper.sweep() == 1)
            #expect(
                try await TransmissionRepository(database: h.database).of(order: OrderID("CLS-2")).first?.classification
                    == .delayed)
            h.clock.advance(seconds: 10)
            let record = try await h.ack(
                IncomingAcknowledgement(
                    channel: "commerce", reference: "r2", status: .accepted, occurredAt: h.clock.now(),
                    eventID: late.eventID))
            #expect(record.classification == .successLate)
            let summary = try await h.queries.summary(TransmissionFilter(from: MonitorHarness.t0, to: h.clock.now()))
            #expect(summary.counts == [.success: 1, .successLate: 1])
            #expect(summary.successRate == 1 && summary.delayedRatio == 0.5 && summary.failedRatio == 0)
            #expect(summary.latencyP95 == 40.000001)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func latencyPercentilesPerSliceAgreeWithTheSummaryOfEachSlice(kind: Database.Kind) async throws {
        try await MonitorHarness.run(kind) { h in
            // Slice 0 (the first minute): four acknowledged 1, 2, 3 and 4 s after their events, one never.
            let first = try await (1...5).asyncMap { try await h.transmission(for: "LAT-A\($0)") }
            for (index, transmission) in first.prefix(4).enumerated() { // at t0 + 1 … 4 s
                h.clock.advance(seconds: 1)
                _ = try await h.ack(
                    IncomingAcknowledgement(
                        channel: "commerce", reference: "a\(index)", status: .accepted, occurredAt: h.clock.now(),
                        eventID: transmission.eventID))
            }
            // Slice 1: two, 10 and 20 s. Slice 2: none.
            h.clock.advance(seconds: 56)
            let second = try await (1...2).asyncMap { try await h.transmission(for: "LAT-B\($0)") }
            for (index, transmission) in second.enumerated() {
                h.clock.advance(seconds: 10)
                _ = try await h.ack(
                    IncomingAcknowledgement(
                        channel: "commerce", reference: "b\(index)", status: .accepted, occurredAt: h.clock.now(),
                        eventID: transmission.eventID))
            }
            let window = TransmissionFilter(from: MonitorHarness.t0, to: MonitorHarness.t0.adding(seconds: 180))
            let sliced = try await h.queries.latencyPercentiles(window, slices: 3, at: [0.5, 0.95, 0.99])
            #expect(sliced == [[2, 4, 4], [10, 20, 20], [nil, nil, nil]])
            for slice in 0..<3 {
                let from = MonitorHarness.t0.adding(seconds: 60 * Double(slice))
                let summary = try await h.queries.summary(TransmissionFilter(from: from, to: from.adding(seconds: 60)))
                #expect(sliced[slice] == [summary.latencyP50, summary.latencyP95, summary.latencyP99])
            }
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func errorGroupsCountUnsettledTransmissionsByChannelStatusAndError(kind: Database.Kind) async throws {
        try await MonitorHarness.run(kind) { h in
            let failing = try await (1...3).asyncMap { try await h.transmission(for: "ERR-\($0)") }
            for transmission in failing.prefix(2) { try await h.failAttempt(transmission) }
            var filter = TransmissionFilter(from: MonitorHarness.t0, to: h.clock.now().adding(seconds: 1))
            filter.withErrorsOnly = true
            let (groups, total) = try await h.queries.errorGroups(filter)
            #expect(
                groups == [ErrorGroup(channel: "commerce", statusCode: 503, error: "HTTP 503", count: 2)] && total == 2)
            // Acknowledged after all: settled, no longer counted.
            _ = try await h.ack(
                IncomingAcknowledgement(
                    channel: "commerce", reference: "e1", status: .accepted, occurredAt: h.clock.now(),
                    eventID: failing[0].eventID))
            #expect(try await h.queries.errorGroups(filter).total == 1)
            #expect(
                try await h.queries.transmissions(filter, beforeID: nil, limit: 10).items.map(\.transmission.orderID)
                    == [OrderID("ERR-2")])
        }
    }

    /// Two events of one order wait; the second one's acknowledgement names only the order and
    /// arrives first, so it takes the oldest waiting (the first event's). When the first event's
    /// own acknowledgement arrives, naming its event, it takes its event back and the one by
    /// order moves to the event still waiting: both end acknowledged, each at its own time.
    @Test(arguments: TestDatabase.kinds)
    func anAcknowledgementNamingItsEventTakesItBackFromOneThatNamedOnlyTheOrder(kind: Database.Kind)
        async throws
    {
        try await MonitorHarness.run(kind) { h in
            let created = try await h.transmission(for: "SWAP-1")
            let order = try #require(try await OrderRepository(database: h.database).find(OrderID("SWAP-1"))).order
            try await h.database.transaction { db in
                try await OrderRepository.insertEvents(
                    [.forOrder("order.released", order, at: h.clock.now())], into: db)
            }
            let transmissions = TransmissionRepository(database: h.database)
            _ = try await transmissions.fanOut(h.engine.settings.subscriptions, limit: 100, now: h.clock.now())
            let released = try #require(
                try await transmissions.of(order: OrderID("SWAP-1")).first { $0.eventType == "order.released" })
            h.clock.advance(seconds: 1)
            let byOrder = try await h.ack(
                IncomingAcknowledgement(
                    channel: "commerce", reference: "r-order", status: .accepted, occurredAt: h.clock.now(),
                    orderID: "SWAP-1"))
            #expect(byOrder.transmissionID == created.id, "the oldest waiting, as the order reference allows")
            h.clock.advance(seconds: 1)
            let byEvent = try await h.ack(
                IncomingAcknowledgement(
                    channel: "commerce", reference: "r-event", status: .accepted, occurredAt: h.clock.now(),
                    eventID: created.eventID))
            #expect(byEvent.outcome == .matched && byEvent.transmissionID == created.id)
            let after = try await transmissions.of(order: OrderID("SWAP-1"))
            #expect(after.first { $0.id == created.id }?.acknowledgedAt == MonitorHarness.t0.adding(seconds: 2))
            #expect(after.first { $0.id == released.id }?.acknowledgedAt == MonitorHarness.t0.adding(seconds: 1))
            #expect(after.allSatisfy { $0.classification == .success })
            let holder = try await h.database.read { db in
                try await db.raw("SELECT transmission_id, detail FROM acknowledgements WHERE reference = 'r-order'")
                    .first()
            }
            #expect(try holder?.decode(column: "transmission_id", as: Int64.self) == released.id)
            #expect(try holder?.decode(column: "detail", as: String.self).contains(created.eventID) == true)
            // A repeat of the event's acknowledgement is a duplicate; nothing moves again.
            #expect(
                try await h.ack(
                    IncomingAcknowledgement(
                        channel: "commerce", reference: "r-event-again", status: .accepted, occurredAt: h.clock.now(),
                        eventID: created.eventID)
                ).outcome == .duplicate)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func acknowledgementsMatchByEventOrderNormalisedOrderOrAmount(kind: Database.Kind) async throws {
        try await MonitorHarness.run(kind) { h in
            let byEvent = try await h.transmission(for: "EVT-1")
            try await h.transmission(for: "ORD-000123")
            try await h.transmission(for: "EXACT-7")
            var draft = Samples.draft("AMT-1")
            draft.lines[0].quantity = 5
            let amountOrder = try OrderIntake.prepare(draft, catalog: Samples.snapshot, at: h.clock.now())
            try await Samples.create(amountOrder, in: OrderRepository(database: h.database))
            _ = try await TransmissionRepository(database: h.database).fanOut(
                h.engine.settings.subscriptions, limit: 100, now: h.clock.now())
            try await h.transmission(for: "AB-12-3")
            try await h.transmission(for: "AB-1-23")
            func ack(
                _ reference: String, event: String? = nil, order: String? = nil, amount: Money? = nil,
                status: IncomingAcknowledgement.Status = .accepted
            ) async throws -> AcknowledgementRecord {
                try await h.ack(
                    IncomingAcknowledgement(
                        channel: "commerce", reference: reference, status: status, occurredAt: h.clock.now(),
                        eventID: event, orderID: order, amount: amount))
            }
            let first = try await ack("r-event", event: byEvent.eventID)
            #expect(first.method == .eventID && first.confidence == 1 && first.outcome == .matched)
            // Our event ID echoed back as their reference matches too; a repeat is a duplicate.
            #expect(try await ack(byEvent.eventID).outcome == .duplicate)
            let exact = try await ack("r-exact", order: "EXACT-7")
            #expect(exact.method == .orderID && exact.orderID == OrderID("EXACT-7"))
            let normalised = try await ack("r-norm", order: " ord 000123 ")
            #expect(
                normalised.method == .normalizedOrderID && normalised.orderID == OrderID("ORD-000123")
                    && normalised.confidence == 0.75)
            let byAmount = try await ack("r-amount", amount: amountOrder.totals.orderTotal)
            #expect(byAmount.method == .amountWindow && byAmount.orderID == OrderID("AMT-1"))
            let ambiguous = try await ack("r-amb", order: "ab123")
            #expect(ambiguous.outcome == .ambiguous && ambiguous.transmissionID == nil)
            #expect(ambiguous.detail?.contains("AB-1-23") == true && ambiguous.detail?.contains("AB-12-3") == true)
            let unmatched = try await ack("r-none", order: "NOPE-99")
            #expect(unmatched.outcome == .unmatched)
            let contradiction = try await ack("r-contra", event: byEvent.eventID, status: .rejected)
            #expect(contradiction.outcome == .contradiction)
            let wrongAmount = try await ack("r-wrong-amount", order: "AB-12-3", amount: Money(units: 1))
            #expect(wrongAmount.outcome == .contradiction && wrongAmount.detail?.contains("differs") == true)

            let listed = try await AcknowledgementRepository(database: h.database).inconsistencies(
                channel: nil, beforeID: nil, limit: 50
            ).records
            #expect(Set(listed.map(\.acknowledgement.reference)) == ["r-amb", "r-none", "r-contra", "r-wrong-amount"])

            // A person links the unmatched one to AB-1-23's transmission: applied, audited, no longer listed.
            let target = try #require(
                try await TransmissionRepository(database: h.database).of(order: OrderID("AB-1-23")).first)
            let audit = AuditEntry(
                at: h.clock.now(), actor: "ops", actorKind: "user", action: "ack.link", targetType: "acknowledgement",
                targetID: String(unmatched.id), outcome: "success")
            let linked = try await h.correlator.link(
                unmatched.id, to: target.id, scope: .everything, by: "ops", now: h.clock.now(), audit: audit)
            #expect(linked.outcome == .linked && linked.method == .manual && linked.classification == .success)
            #expect(try await h.database.count("audit_log") == 1)
            await #expect(throws: AcknowledgementError.notLinkable(.linked)) {
                try await h.correlator.link(
                    unmatched.id, to: target.id, scope: .everything, by: "ops", now: h.clock.now(), audit: audit)
            }
            #expect(
                try await AcknowledgementRepository(database: h.database).inconsistencies(
                    channel: nil, beforeID: nil, limit: 50
                ).records.count == 3)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func concurrentAcknowledgementRequestsGoThroughGroupCommitEachWithItsOwnOutcomes(kind: Database.Kind)
        async throws
    {
        try await MonitorHarness.run(kind) { h in
            var transmissions: [Transmission] = []
            for n in 1...8 { transmissions.append(try await h.transmission(for: "GRP-\(n)")) }
            let correlator = h.correlator
            let now = h.clock.now()
            func request(_ event: String?, _ reference: String) -> [IncomingAcknowledgement] {
                [
                    IncomingAcknowledgement(
                        channel: "commerce", reference: reference, status: .accepted, occurredAt: now,
                        eventID: event, orderID: event == nil ? "NOPE-1" : nil)
                ]
            }
            // Each transmission acknowledged by two requests at once, and one request matching nothing.
            let requests =
                transmissions.flatMap { [request($0.eventID, "a-\($0.id)"), request($0.eventID, "b-\($0.id)")] }
                + [request(nil, "none")]
            let records = try await withThrowingTaskGroup(of: [AcknowledgementRecord].self) { group in
                for acks in requests {
                    group.addTask { try await correlator.record(acks, scope: .everything, now: now) }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(records.count == requests.count)
            for transmission in transmissions {
                let outcomes = records.filter { $0.transmissionID == transmission.id }.map(\.outcome)
                #expect(outcomes.sorted { $0.rawValue < $1.rawValue } == [.duplicate, .matched])
                let stored = try await TransmissionRepository(database: h.database).of(order: transmission.orderID)
                #expect(stored.first?.classification == .success)
            }
            #expect(records.first { $0.acknowledgement.reference == "none" }?.outcome == .unmatched)
            #expect(try await h.database.count("acknowledgements") == requests.count)
            let statistics = correlator.statistics
            #expect(statistics.items == requests.count && statistics.batches <= requests.count)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func oneRequestsAcknowledgementsApplyInOrderFromOneLookup(kind: Database.Kind) async throws {
        try await MonitorHarness.run(kind) { h in
            let first = try await h.transmission(for: "ONE-1")
            let second = try await h.transmission(for: "ONE-2")
            let now = h.clock.now()
            func ack(_ reference: String, event: String?, _ status: IncomingAcknowledgement.Status = .accepted)
                -> IncomingAcknowledgement
            {
                IncomingAcknowledgement(
                    channel: "commerce", reference: reference, status: status, occurredAt: now, eventID: event,
                    reason: status == .rejected ? "unknown store" : nil)
            }
            let records = try await h.correlator.record(
                [
                    ack("a", event: first.eventID), ack("b", event: first.eventID),
                    ack("c", event: second.eventID, .rejected), ack("d", event: second.eventID),
                    ack("e", event: "not-ours"), ack(first.eventID, event: nil),
                ], scope: .everything, now: now)
            #expect(
                records.map(\.outcome) == [.matched, .duplicate, .matched, .contradiction, .unmatched, .duplicate])
            #expect(records.map(\.classification) == [.success, .success, .failed, .failed, nil, .success])
            #expect(records[5].method == .eventID, "our event ID given as their reference")
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func aRejectionFailsTheTransmissionIntoADeadLetter(kind: Database.Kind) async throws {
        try await MonitorHarness.run(kind) { h in
            let t = try await h.transmission(for: "REJ-1")
            let record = try await h.ack(
                IncomingAcknowledgement(
                    channel: "commerce", reference: "x", status: .rejected, occurredAt: h.clock.now(),
                    eventID: t.eventID, reason: "unknown SKU"))
            #expect(record.classification == .failed)
            let letters = try await DeadLetterRepository(database: h.database).search(DeadLetterQuery()).letters
            #expect(letters.count == 1 && letters[0].error.contains("unknown SKU"))
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func channelDownFiresAfterItsForDurationNotifiesOnceAndResolves(kind: Database.Kind) async throws {
        let receiver = WebhookReceiver()
        let base = try await receiver.start()
        defer { receiver.stop() }
        try await MonitorHarness.run(
            kind,
            configure: { settings in
                settings.rules = [
                    AlertRule(
                        name: "ChannelDown", kind: .channelDown, threshold: 1, windowSeconds: 60, forSeconds: 10,
                        severity: .critical, minVolume: 3)
                ]
                settings.notifiers = [
                    NotifierSettings(
                        name: "broken", type: .webhook, url: "http://127.0.0.1:9/nothing", fallback: "pager"),
                    NotifierSettings(name: "pager", type: .webhook, url: "\(base)/hook", fallbackOnly: true),
                    NotifierSettings(name: "am", type: .alertmanager, url: base),
                ]
                settings.notificationAttempts = 1
            }
        ) { h in
            try await h.alerts.seed(h.monitor.settings.rules, now: h.clock.now())
            let evaluator = h.monitor.evaluator
            var transmissions: [Transmission] = []
            for index in 1...4 { transmissions.append(try await h.transmission(for: "DOWN-\(index)")) }
            // Two failures: not enough to judge.
            for t in transmissions.prefix(2) { try await h.failAttempt(t) }
            try await evaluator.evaluate()
            #expect(try await h.alerts.active().isEmpty)
            try await h.failAttempt(transmissions[2])
            try await evaluator.evaluate()
            let pending = try #require(try await h.alerts.active().first)
            #expect(
                pending.state == .pending && pending.channel == "commerce"
                    && pending.fingerprint == "ChannelDown{channel=commerce}")
            h.clock.advance(seconds: 9)
            try await evaluator.evaluate()
            #expect(try await h.alerts.active().first?.state == .pending)
            h.clock.advance(seconds: 1)
            try await evaluator.evaluate()
            #expect(try await h.alerts.active().first?.state == .firing)
            await evaluator.dispatch()
            // The broken notifier failed for good; its fallback takes over on the next pass.
            await evaluator.dispatch()
            let bodies = receiver.bodies.withLock { $0 }
            #expect(bodies.count == 2)
            #expect(
                bodies.filter {
                    $0.contains("\"alertname\":\"ChannelDown\"") && $0.contains("\"channel\":\"commerce\"")
                }.count == 2)
            let receipts = try await h.alerts.notifications(of: pending.id)
            #expect(
                Set(receipts.map { "\($0.notifier) \($0.state.rawValue)" }) == [
                    "broken failed", "pager sent", "am sent",
                ])
            #expect(receipts.first { $0.notifier == "pager" }?.fallbackFor == "broken")

            // Evaluating again changes nothing and sends nothing more.
            try await evaluator.evaluate()
            await evaluator.dispatch()
            #expect(receiver.bodies.withLock { $0.count } == 2)

            // No attempts for longer than the window: no data, which is not recovery.
            h.clock.advance(seconds: 120)
            try await evaluator.evaluate()
            #expect(try await h.alerts.active().first?.state == .firing)

            // A successful attempt: resolved, and those told it fired are told it resolved.
            let transmissionsStore = TransmissionRepository(database: h.database)
            let claimed = try #require(
                try await transmissionsStore.claim(
                    channel: "commerce", owner: "test", limit: 1, lease: 30, now: h.clock.now()
                ).first)
            try await transmissionsStore.finish(
                claimed, owner: "test",
                attempt: TransmissionAttempt(
                    attempt: 1, startedAt: h.clock.now(), durationMicroseconds: 1, httpStatus: 200, error: nil,
                    responseExcerpt: nil),
                outcome: .delivered(statusCode: 200, acknowledged: false), now: h.clock.now())
            try await evaluator.evaluate()
            #expect(try await h.alerts.active().isEmpty)
            await evaluator.dispatch()
            let after = receiver.bodies.withLock { $0 }
            #expect(after.count == 4)
            #expect(after.suffix(2).allSatisfy { $0.contains("resolved") || $0.contains("endsAt") })
            let history = try await h.alerts.history(of: pending.id).map(\.to)
            #expect(history == [.pending, .firing, .resolved])
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func silencesAndAcknowledgementExpiry(kind: Database.Kind) async throws {
        let receiver = WebhookReceiver()
        let base = try await receiver.start()
        defer { receiver.stop() }
        try await MonitorHarness.run(
            kind,
            configure: { settings in
                settings.rules = [
                    AlertRule(
                        name: "NoNewOrders", kind: .noNewOrders, threshold: 0, windowSeconds: 60, forSeconds: 0,
                        severity: .warning)
                ]
                settings.notifiers = [NotifierSettings(name: "hook", type: .webhook, url: "\(base)/hook")]
            }
        ) { h in
            try await h.alerts.seed(h.monitor.settings.rules, now: h.clock.now())
            let audit = AuditEntry(at: h.clock.now(), actor: "ops", actorKind: "user", action: "x", outcome: "success")
            let silence = try await h.alerts.createSilence(
                matchers: [SilenceMatcher(name: "alertname", value: "NoNewOrders")], startsAt: h.clock.now(),
                endsAt: h.clock.now().adding(seconds: 30),
                by: "ops", comment: "quiet night", now: h.clock.now(), audit: audit)
            try await h.monitor.evaluator.evaluate()
            await h.monitor.evaluator.dispatch()
            let alert = try #require(try await h.alerts.active().first)
            #expect(alert.state == .firing && alert.silenced)
            #expect(receiver.bodies.withLock { $0.isEmpty })

            // The silence ends (early, by hand): the firing alert is told now.
            h.clock.advance(seconds: 5)
            try await h.alerts.expireSilence(silence.id, now: h.clock.now(), audit: audit)
            try await h.monitor.evaluator.evaluate()
            await h.monitor.evaluator.dispatch()
            #expect(receiver.bodies.withLock { $0.count } == 1)

            // Acknowledged for 60 s: quiet while it holds, fires again and notifies after.
            _ = try await h.alerts.acknowledge(
                alert.id, by: "ops", comment: "looking", expiresAt: h.clock.now().adding(seconds: 60),
                now: h.clock.now(), audit: audit)
            h.clock.advance(seconds: 30)
            try await h.monitor.evaluator.evaluate()
            #expect(try await h.alerts.alert(alert.id)?.state == .acknowledged)
            h.clock.advance(seconds: 31)
            try await h.monitor.evaluator.evaluate()
            await h.monitor.evaluator.dispatch()
            #expect(try await h.alerts.alert(alert.id)?.state == .firing)
            #expect(receiver.bodies.withLock { $0.count } == 2)

            // An order arrives: resolved. A new drought later is a new alert.
            try await h.transmission(for: "NEW-1")
            try await h.monitor.evaluator.evaluate()
            #expect(try await h.alerts.alert(alert.id)?.state == .resolved)
            h.clock.advance(seconds: 61)
            try await h.monitor.evaluator.evaluate()
            let next = try #require(try await h.alerts.active().first)
            #expect(next.id != alert.id && next.state == .firing)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func oneEvaluatorHoldsTheLeaseAtATime(kind: Database.Kind) async throws {
        try await MonitorHarness.run(kind) { h in
            let now = h.clock.now()
            #expect(try await h.alerts.acquireLease("alert-evaluator", owner: "a", seconds: 15, now: now))
            let taken = try await h.alerts.acquireLease(
                "alert-evaluator", owner: "b", seconds: 15, now: now.adding(seconds: 10))
            #expect(!taken)
            #expect(
                try await h.alerts.acquireLease(
                    "alert-evaluator", owner: "a", seconds: 15, now: now.adding(seconds: 10)))
            #expect(
                try await h.alerts.acquireLease(
                    "alert-evaluator", owner: "b", seconds: 15, now: now.adding(seconds: 26)))
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func retentionRemovesOnlyFinishedHistory(kind: Database.Kind) async throws {
        try await MonitorHarness.run(kind) { h in
            let done = try await h.transmission(for: "OLD-1")
            try await h.transmission(for: "OLD-2")
            _ = try await h.correlator.record(
                [
                    IncomingAcknowledgement(
                        channel: "commerce", reference: "r", status: .accepted, occurredAt: h.clock.now(),
                        eventID: done.eventID)
                ], scope: .everything, now: h.clock.now())
            h.clock.advance(seconds: 31 * 86_400)
            let removed = try await h.monitor.retention.runOnce()
            #expect(removed[.acknowledgements] == 1 && removed[.transmissions] == 1)
            let left = try await h.database.read { db in
                try await db.raw("SELECT order_id FROM transmissions").all().map {
                    try $0.decode(column: "order_id", as: String.self)
                }
            }
            #expect(left == ["OLD-2"])
        }
    }

    /// A rule may hold any finite threshold; the summary of one past `Int.max` used to stop the process.
    @Test func countRulesWithHugeThresholdsAreSummarised() {
        for kind in [AlertRuleKind.delayedCount, .noNewOrders, .deadLetterGrowth] {
            let rule = AlertRule(name: "Huge", kind: kind, threshold: 1e20)
            #expect(AlertEvaluator.summary(rule, channel: nil, value: 3).contains("100000000000000000000"))
        }
        let rule = AlertRule(name: "Some", kind: .delayedCount, threshold: 2.7)
        #expect(AlertEvaluator.summary(rule, channel: nil, value: 3).contains("(threshold 2)"))
    }
}

extension Sequence {
    /// `map` for an async transform, one element after another.
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
