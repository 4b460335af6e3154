import Foundation
import OrderFlowDomain
import Synchronization

/// The in-process broadcaster behind live pages and `GET /api/v1/stream`.
///
/// Changes are recorded while a transaction runs (`LiveFeed.record`) and published only after it
/// commits: a rolled-back transaction, or a savepoint that was rolled back, publishes nothing.
/// Every event gets the next sequence number of this process's feed; its ID is `epoch-sequence`,
/// the epoch being drawn when the process starts. The last `capacity` events stay in a ring so a
/// client that reconnects with its last ID (`Last-Event-ID`) gets what it missed; one whose ID is
/// older than the ring, or from another process, is told to reload (`reset`).
///
/// Each instance publishes what it commits itself: a page connected to one instance of several
/// sharing a PostgreSQL database hears only that instance's changes (docs/architecture.md).
public final class LiveFeed: Sendable {
    /// What a subscriber receives.
    public enum Item: Sendable {
        case event(FeedEvent)
        /// Events were missed and cannot be replayed: reload the whole view, then go on.
        case reset(reason: String)
        /// Nothing happened for a while; writing something tells a closed connection from an idle one.
        case keepAlive
    }

    public let epoch: String
    public let capacity: Int
    /// Items one subscriber may have waiting before it is cut off (and told to reset).
    public let subscriberBuffer: Int
    private let state: Mutex<State>

    struct State {
        var next: UInt64 = 1
        var ring: [FeedEvent] = []
        var ringStart = 0
        var subscribers: [Int: Subscriber] = [:]
        var nextSubscriber = 0
    }

    struct Subscriber {
        let continuation: AsyncStream<Item>.Continuation
        let cutOff: Flag
        /// Whose subscription it is, for the limits of `subscribe(owner:limits:)`.
        let owner: String?
        /// What it wants: applied when an event is published, so what it does not want never
        /// takes room in its buffer.
        let wants: (@Sendable (FeedEvent) -> Bool)?
    }

    /// Too many subscriptions: of one owner, or in all.
    public struct Full: Error, Equatable {
        public var perOwner: Bool
        public init(perOwner: Bool) { self.perOwner = perOwner }
    }

    final class Flag: Sendable {
        private let value = Atomic<Bool>(false)
        func set() { value.store(true, ordering: .releasing) }
        var isSet: Bool { value.load(ordering: .acquiring) }
    }

    public init(capacity: Int = 10_000, subscriberBuffer: Int = 2_000) {
        epoch = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        self.capacity = max(1, capacity)
        self.subscriberBuffer = max(1, subscriberBuffer)
        state = Mutex(State())
    }

    /// The ID of the newest event published: a page rendered now starts its stream after it.
    public var position: String {
        state.withLock { "\(epoch)-\($0.next - 1)" }
    }

    /// Live subscribers (for metrics and tests).
    public var subscriberCount: Int {
        state.withLock { $0.subscribers.count }
    }

    /// Publishes committed changes to every subscriber, in order.
    public func publish(_ events: [FeedEvent], committedAt: Timestamp) {
        guard !events.isEmpty else { return }
        // Finished outside the lock: finishing runs the subscription's termination handler, which locks.
        let cutOff: [AsyncStream<Item>.Continuation] = state.withLock { state in
            var cutOff: [AsyncStream<Item>.Continuation] = []
            for var event in events {
                event.sequence = state.next
                event.committedAt = committedAt
                event.json = event.rendered(feed: epoch)
                state.next += 1
                if state.ring.count < capacity {
                    state.ring.append(event)
                } else {
                    state.ring[state.ringStart] = event
                    state.ringStart = (state.ringStart + 1) % capacity
                }
                for (id, subscriber) in state.subscribers where subscriber.wants?(event) ?? true {
                    if case .dropped = subscriber.continuation.yield(.event(event)) {
                        // Too far behind to catch up from memory: cut off; the client resets.
                        state.subscribers[id] = nil
                        subscriber.cutOff.set()
                        cutOff.append(subscriber.continuation)
                    }
                }
            }
            return cutOff
        }
        for continuation in cutOff { continuation.finish() }
    }

    /// A subscription starting after `lastEventID` (replaying what the ring still holds), or with
    /// new events only when it is nil. An ID that cannot be replayed starts with `.reset`.
    /// With `keepAlive`, a `.keepAlive` item arrives at that interval.
    public func subscribe(after lastEventID: String?, keepAlive: Duration? = nil) -> Subscription {
        let (stream, continuation) = AsyncStream.makeStream(
            of: Item.self, bufferingPolicy: .bufferingOldest(subscriberBuffer))
        let subscriber = Subscriber(continuation: continuation, cutOff: Flag(), owner: nil, wants: nil)
        return state.withLock { add(subscriber, stream: stream, after: lastEventID, keepAlive: keepAlive, in: &$0) }
    }

    /// A subscription of `owner` that receives the events `wants` accepts (replayed ones too), as
    /// `subscribe(after:keepAlive:)`; refused when the owner already has `limits.perOwner` or the
    /// feed `limits.inAll` subscriptions.
    public func subscribe(
        after lastEventID: String?, keepAlive: Duration? = nil, owner: String, limits: (perOwner: Int, inAll: Int),
        wants: @escaping @Sendable (FeedEvent) -> Bool
    ) throws(Full) -> Subscription {
        let (stream, continuation) = AsyncStream.makeStream(
            of: Item.self, bufferingPolicy: .bufferingOldest(subscriberBuffer))
        let subscriber = Subscriber(continuation: continuation, cutOff: Flag(), owner: owner, wants: wants)
        return try state.withLock { (state) throws(Full) in
            guard state.subscribers.count < limits.inAll else { throw Full(perOwner: false) }
            guard state.subscribers.values.count(where: { $0.owner == owner }) < limits.perOwner else {
                throw Full(perOwner: true)
            }
            return add(subscriber, stream: stream, after: lastEventID, keepAlive: keepAlive, in: &state)
        }
    }

    private func add(
        _ subscriber: Subscriber, stream: AsyncStream<Item>, after lastEventID: String?, keepAlive: Duration?,
        in state: inout State
    ) -> Subscription {
        let continuation = subscriber.continuation
        if let lastEventID {
            switch replay(after: lastEventID, wants: subscriber.wants, in: state) {
            case .events(let missed):
                for event in missed { continuation.yield(.event(event)) }
            case .reset(let reason):
                continuation.yield(.reset(reason: reason))
            }
        }
        let id = state.nextSubscriber
        state.nextSubscriber += 1
        state.subscribers[id] = subscriber
        let ticker = keepAlive.map { interval in
            Task {
                while !Task.isCancelled {
                    try await Task.sleep(for: interval)
                    continuation.yield(.keepAlive)
                }
            }
        }
        // Runs outside this lock: when the stream ends, after `add` has returned.
        continuation.onTermination = { [weak self] _ in
            ticker?.cancel()
            self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
        }
        return Subscription(stream: stream, continuation: continuation, cutOff: subscriber.cutOff)
    }

    private enum Replay {
        case events([FeedEvent])
        case reset(String)
    }

    private func replay(after lastEventID: String, wants: ((FeedEvent) -> Bool)?, in state: State) -> Replay {
        let parts = lastEventID.split(separator: "-")
        guard parts.count == 2, let sequence = UInt64(parts[1]) else { return .reset("unreadable event ID") }
        guard parts[0] == epoch else { return .reset("the server restarted") }
        guard sequence < state.next else { return .reset("event ID from the future") }
        let oldest = state.ring.isEmpty ? state.next : state.ring[state.ringStart].sequence
        guard sequence + 1 >= oldest else { return .reset("missed more events than the server keeps") }
        let count = Int(state.next - 1 - sequence)
        let ordered = state.ring[state.ringStart...] + state.ring[..<state.ringStart]
        let missed = ordered.suffix(count).filter { wants?($0) ?? true }
        guard missed.count < subscriberBuffer else { return .reset("missed more events than can be replayed") }
        return .events(missed)
    }

    /// Items for one subscriber, in publication order. It ends when `finish()` is called, or, after
    /// a last `.reset`, when the subscriber fell too far behind (it may subscribe again from now).
    public struct Subscription: AsyncSequence, Sendable {
        public typealias Element = Item
        let stream: AsyncStream<Item>
        let continuation: AsyncStream<Item>.Continuation
        let cutOff: Flag

        /// Ends the subscription: iteration finishes once the items already queued are read.
        public func finish() { continuation.finish() }

        /// True when it ended because the subscriber fell too far behind.
        public var wasCutOff: Bool { cutOff.isSet }

        public func makeAsyncIterator() -> Iterator {
            Iterator(base: stream.makeAsyncIterator(), cutOff: cutOff)
        }

        public struct Iterator: AsyncIteratorProtocol {
            var base: AsyncStream<Item>.AsyncIterator
            let cutOff: Flag
            var ended = false

            public mutating func next() async -> Item? {
                if ended { return nil }
                if let item = await base.next() { return item }
                ended = true
                return cutOff.isSet ? .reset(reason: "fell too far behind") : nil
            }
        }
    }

    // MARK: Recording inside transactions

    /// Notes a change made by the running transaction; published by `Database` after it commits.
    /// Outside a transaction it does nothing.
    package static func record(_ event: FeedEvent) {
        Recording.current?.append(event)
    }

    package enum Recording {
        @TaskLocal package static var current: Collector?
    }

    /// The changes of one transaction (written only by the task running it).
    package final class Collector: Sendable {
        private let events = Mutex<[FeedEvent]>([])
        package init() {}
        package func append(_ event: FeedEvent) { events.withLock { $0.append(event) } }
        package var count: Int { events.withLock { $0.count } }
        /// Forgets what was recorded after `count` items (a savepoint rolled back).
        package func truncate(to count: Int) { events.withLock { $0.removeSubrange(min(count, $0.count)...) } }
        package var all: [FeedEvent] { events.withLock { $0 } }
    }
}
