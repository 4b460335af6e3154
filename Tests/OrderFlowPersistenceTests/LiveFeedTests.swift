import Foundation
import OrderFlowDomain
import OrderFlowRuntime
import OrderFlowTestSupport
import SQLKit
import Testing

@testable import OrderFlowPersistence

@Suite("Live feed: changes published after commit, replayed after a reconnect", .databaseSlots)
struct LiveFeedTests {
    static let start = Timestamp(microseconds: 1_795_000_000_000_000)

    static func event(_ type: String, order: String? = nil) -> FeedEvent {
        FeedEvent(
            topic: .order, type: type, orderID: order, locationID: "QC-1",
            fields: [("note", .string("a \"quoted\"\nline"))])
    }

    /// Reads `count` items, or fails after a few seconds.
    static func take(_ count: Int, from subscription: LiveFeed.Subscription) async throws -> [LiveFeed.Item] {
        try await withThrowingTaskGroup(of: [LiveFeed.Item].self) { group in
            group.addTask {
                var items: [LiveFeed.Item] = []
                for await item in subscription {
                    if case .keepAlive = item { continue }
                    items.append(item)
                    if items.count == count { break }
                }
                return items
            }
            group.addTask {
                try await Task.sleep(for: .seconds(10))
                throw FewerItems(expected: count)
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    struct FewerItems: Error { var expected: Int }

    static func types(_ items: [LiveFeed.Item]) -> [String] {
        items.map { item in
            switch item {
            case .event(let event): event.type
            case .reset: "reset"
            case .keepAlive: "keep-alive"
            }
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func onlyCommittedChangesArePublishedAndARolledBackSavepointTakesItsOwnBack(kind: Database.Kind) async throws {
        try await TestDatabase.with(kind) { database in
            let subscription = database.feed.subscribe(after: nil)
            struct Refused: Error {}
            await #expect(throws: Refused.self) {
                try await database.transaction { _ in
                    LiveFeed.record(Self.event("rolled.back"))
                    throw Refused()
                }
            }
            try await database.transaction { db in
                LiveFeed.record(Self.event("kept.before"))
                _ = try? await db.withSavepoint { _ in
                    LiveFeed.record(Self.event("undone.in.savepoint"))
                    throw Refused()
                }
                LiveFeed.record(Self.event("kept.after"))
            }
            // Recorded outside a transaction: nothing to wait for, so nothing is published.
            LiveFeed.record(Self.event("outside"))
            let items = try await Self.take(2, from: subscription)
            #expect(Self.types(items) == ["kept.before", "kept.after"])
            guard case .event(let first) = items[0], case .event(let second) = items[1] else { return }
            #expect(second.sequence == first.sequence + 1)
            #expect(first.json.contains(#""note":"a \"quoted\"\nline""#))
            let decoded = try JSONSerialization.jsonObject(with: Data(first.json.utf8)) as? [String: Any]
            #expect(decoded?["id"] as? String == "\(database.feed.epoch)-\(first.sequence)")
            #expect(decoded?["store"] as? String == "QC-1")
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func commitsAreStampedWithTheDatabasesClock(kind: Database.Kind) async throws {
        let (location, drop) = try await TestDatabase.create(kind)
        let clock = ManualClock(Self.start)
        let database = try await Database.open(location, clock: clock, logger: TestDatabase.logger)
        do {
            try await database.withRunning { database in
                let subscription = database.feed.subscribe(after: nil)
                clock.advance(seconds: 42)
                try await database.transaction { _ in LiveFeed.record(Self.event("stamped")) }
                guard case .event(let event) = try await Self.take(1, from: subscription)[0] else { return }
                #expect(event.committedAt == Self.start.adding(seconds: 42))
            }
            await drop()
        } catch {
            await drop()
            throw error
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func aNewOrderIsHeardOnceWithItsStoreAndStatus(kind: Database.Kind) async throws {
        try await TestDatabase.with(kind) { database in
            try await Samples.seed(database)
            let repository = OrderRepository(database: database)
            try await Samples.create(try Samples.order("FEED-1", at: Self.start), in: repository)
            let subscription = database.feed.subscribe(after: nil)
            await #expect(throws: DomainError.self) {
                try await Samples.create(try Samples.order("FEED-1", at: Self.start), in: repository)
            }
            try await Samples.create(try Samples.order("FEED-2", at: Self.start), in: repository)
            let items = try await Self.take(1, from: subscription)
            guard case .event(let event) = items[0] else {
                Issue.record("not an event: \(items)")
                return
            }
            #expect(event.type == "order.created" && event.orderID == "FEED-2")
            #expect(event.locationID == Samples.qcStore.id.rawValue)
            #expect(event.fields.contains { $0.0 == "status" && $0.1 == .int(Int64(OrderStatus.open.rawValue)) })
        }
    }

    @Test func aReconnectGetsWhatItMissedOrIsToldToReload() async throws {
        let feed = LiveFeed(capacity: 5, subscriberBuffer: 100)
        feed.publish((1...3).map { Self.event("e\($0)") }, committedAt: Self.start)
        // After e1: e2 and e3 from the ring, then what comes next.
        let resumed = feed.subscribe(after: "\(feed.epoch)-1")
        feed.publish([Self.event("e4")], committedAt: Self.start)
        #expect(Self.types(try await Self.take(3, from: resumed)) == ["e2", "e3", "e4"])
        // Up to date: nothing replayed.
        let current = feed.subscribe(after: feed.position)
        feed.publish([Self.event("e5")], committedAt: Self.start)
        #expect(Self.types(try await Self.take(1, from: current)) == ["e5"])
        // e1 has left the ring of 5 once e6 is in: a client after e0 missed e1 for good.
        feed.publish([Self.event("e6")], committedAt: Self.start)
        for stale in ["\(feed.epoch)-0", "other-3", "\(feed.epoch)-99", "nonsense"] {
            let subscription = feed.subscribe(after: stale)
            #expect(Self.types(try await Self.take(1, from: subscription)) == ["reset"], "after \(stale)")
        }
        #expect(
            Self.types(try await Self.take(5, from: feed.subscribe(after: "\(feed.epoch)-1"))) == [
                "e2", "e3", "e4", "e5", "e6",
            ])
    }

    @Test func aSubscriberTooFarBehindIsCutOffWithAResetAndOthersGoOn() async throws {
        let feed = LiveFeed(capacity: 100, subscriberBuffer: 3)
        let slow = feed.subscribe(after: nil)
        let fast = feed.subscribe(after: nil)
        feed.publish([Self.event("a"), Self.event("b")], committedAt: Self.start)
        #expect(Self.types(try await Self.take(2, from: fast)) == ["a", "b"])
        feed.publish([Self.event("c"), Self.event("d")], committedAt: Self.start)
        #expect(Self.types(try await Self.take(2, from: fast)) == ["c", "d"])
        // The slow one held a, b, c when d came: it gets those, then a reset, then its stream ends.
        #expect(Self.types(try await Self.take(4, from: slow)) == ["a", "b", "c", "reset"])
        #expect(slow.wasCutOff && !fast.wasCutOff)
        #expect(feed.subscriberCount == 1)
    }

    /// A reader that was busy takes everything waiting at once (the stream writes it in one
    /// write), each event's frame rendered once when it was published.
    @Test func whatWaitsIsTakenInOneBatch() async throws {
        let feed = LiveFeed()
        let subscription = feed.subscribe(after: nil)
        feed.publish([Self.event("a")], committedAt: Self.start)
        feed.publish([Self.event("b"), Self.event("c")], committedAt: Self.start)
        var iterator = subscription.makeAsyncIterator()
        let batch = try #require(await iterator.nextBatch())
        #expect(Self.types(batch) == ["a", "b", "c"])
        guard case .event(let first) = batch[0] else {
            Issue.record("not an event")
            return
        }
        #expect(first.frame == "id: \(feed.epoch)-1\nevent: order\ndata: \(first.json)\n\n")
        let waiting = Task { [iterator] in
            var iterator = iterator
            return await iterator.nextBatch()
        }
        feed.publish([Self.event("d")], committedAt: Self.start)
        #expect(Self.types(await waiting.value ?? []) == ["d"])
        subscription.finish()
        #expect(await iterator.nextBatch() == nil)
        #expect(feed.subscriberCount == 0)
    }

    /// What a subscriber does not want never takes room in its buffer: a subscriber of one kind
    /// of event is not cut off by a flood of another, and replays skip them too.
    @Test func aSubscriberOnlyHoldsWhatItWants() async throws {
        let feed = LiveFeed(capacity: 100, subscriberBuffer: 3)
        let wantsB = try feed.subscribe(
            after: nil, owner: "someone", limits: (perOwner: 5, inAll: 5), wants: { $0.type.hasPrefix("b") })
        feed.publish((1...50).map { Self.event("a\($0)") } + [Self.event("b1")], committedAt: Self.start)
        #expect(Self.types(try await Self.take(1, from: wantsB)) == ["b1"])
        #expect(!wantsB.wasCutOff)
        let replayed = try feed.subscribe(
            after: "\(feed.epoch)-40", owner: "someone", limits: (perOwner: 5, inAll: 5),
            wants: { $0.type.hasPrefix("b") })
        #expect(Self.types(try await Self.take(1, from: replayed)) == ["b1"])
    }

    /// Subscriptions are limited per owner and in all; an ended one, or one nobody holds any more,
    /// gives its place back.
    @Test func subscriptionsAreLimitedPerOwnerAndInAll() async throws {
        let feed = LiveFeed()
        let limits = (perOwner: 2, inAll: 3)
        let first = try feed.subscribe(after: nil, owner: "a", limits: limits, wants: { _ in true })
        let second = try feed.subscribe(after: nil, owner: "a", limits: limits, wants: { _ in true })
        #expect(throws: LiveFeed.Full(perOwner: true)) {
            try feed.subscribe(after: nil, owner: "a", limits: limits, wants: { _ in true })
        }
        var third: LiveFeed.Subscription? = try feed.subscribe(
            after: nil, owner: "b", limits: limits, wants: { _ in true })
        #expect(throws: LiveFeed.Full(perOwner: false)) {
            try feed.subscribe(after: nil, owner: "c", limits: limits, wants: { _ in true })
        }
        first.finish()
        #expect(feed.subscriberCount == 2 && third != nil)
        third = nil
        #expect(feed.subscriberCount == 1)
        let again = try feed.subscribe(after: nil, owner: "a", limits: limits, wants: { _ in true })
        #expect(feed.subscriberCount == 2)
        again.finish()
        second.finish()
    }
}
