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
        let mailbox: Mailbox
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
        let cutOff: [Mailbox] = state.withLock { state in
            var cutOff: [Mailbox] = []
            for var event in events {
                event.sequence = state.next
                event.committedAt = committedAt
                event.render(feed: epoch)
                state.next += 1
                if state.ring.count < capacity {
                    state.ring.append(event)
                } else {
                    state.ring[state.ringStart] = event
                    state.ringStart = (state.ringStart + 1) % capacity
                }
                for (id, subscriber) in state.subscribers where subscriber.wants?(event) ?? true {
                    if !subscriber.mailbox.yield(.event(event)) {
                        // Too far behind to catch up from memory: cut off; the client resets.
                        state.subscribers[id] = nil
                        subscriber.cutOff.set()
                        cutOff.append(subscriber.mailbox)
                    }
                }
            }
            return cutOff
        }
        for mailbox in cutOff { mailbox.finish() }
    }

    /// A subscription starting after `lastEventID` (replaying what the ring still holds), or with
    /// new events only when it is nil. An ID that cannot be replayed starts with `.reset`.
    /// With `keepAlive`, a `.keepAlive` item arrives at that interval.
    public func subscribe(after lastEventID: String?, keepAlive: Duration? = nil) -> Subscription {
        let subscriber = Subscriber(
            mailbox: Mailbox(capacity: subscriberBuffer), cutOff: Flag(), owner: nil, wants: nil)
        return state.withLock { add(subscriber, after: lastEventID, keepAlive: keepAlive, in: &$0) }
    }

    /// A subscription of `owner` that receives the events `wants` accepts (replayed ones too), as
    /// `subscribe(after:keepAlive:)`; refused when the owner already has `limits.perOwner` or the
    /// feed `limits.inAll` subscriptions.
    public func subscribe(
        after lastEventID: String?, keepAlive: Duration? = nil, owner: String, limits: (perOwner: Int, inAll: Int),
        wants: @escaping @Sendable (FeedEvent) -> Bool
    ) throws(Full) -> Subscription {
        let subscriber = Subscriber(
            mailbox: Mailbox(capacity: subscriberBuffer), cutOff: Flag(), owner: owner, wants: wants)
        return try state.withLock { (state) throws(Full) in
            guard state.subscribers.count < limits.inAll else { throw Full(perOwner: false) }
            guard state.subscribers.values.count(where: { $0.owner == owner }) < limits.perOwner else {
                throw Full(perOwner: true)
            }
            return add(subscriber, after: lastEventID, keepAlive: keepAlive, in: &state)
        }
    }

    private func add(
        _ subscriber: Subscriber, after lastEventID: String?, keepAlive: Duration?, in state: inout State
    ) -> Subscription {
        let mailbox = subscriber.mailbox
        if let lastEventID {
            switch replay(after: lastEventID, wants: subscriber.wants, in: state) {
            case .events(let missed):
                for event in missed { _ = mailbox.yield(.event(event)) }
            case .reset(let reason):
                _ = mailbox.yield(.reset(reason: reason))
            }
        }
        let id = state.nextSubscriber
        state.nextSubscriber += 1
        state.subscribers[id] = subscriber
        let ticker = keepAlive.map { interval in
            Task {
                while !Task.isCancelled {
                    try await Task.sleep(for: interval)
                    _ = mailbox.yield(.keepAlive)
                }
            }
        }
        // Runs outside this lock: when the subscription ends, after `add` has returned.
        mailbox.onFinish { [weak self] in
            ticker?.cancel()
            self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
        }
        return Subscription(holder: Holder(mailbox), cutOff: subscriber.cutOff)
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

    /// Items for one subscriber, in publication order. It ends when `finish()` is called, when
    /// nobody holds it any more, or, after a last `.reset`, when the subscriber fell too far behind
    /// (it may subscribe again from now).
    public struct Subscription: AsyncSequence, Sendable {
        public typealias Element = Item
        let holder: Holder
        let cutOff: Flag

        /// Ends the subscription: iteration finishes once the items already queued are read.
        public func finish() { holder.mailbox.finish() }

        /// True when it ended because the subscriber fell too far behind.
        public var wasCutOff: Bool { cutOff.isSet }

        public func makeAsyncIterator() -> Iterator {
            Iterator(holder: holder, cutOff: cutOff)
        }

        public struct Iterator: AsyncIteratorProtocol, Sendable {
            let holder: Holder
            let cutOff: Flag
            var taken: [Item] = []
            var nextIndex = 0
            var ended = false

            public mutating func next() async -> Item? {
                if nextIndex == taken.count {
                    guard let batch = await nextBatch() else { return nil }
                    taken = batch
                    nextIndex = 0
                }
                nextIndex += 1
                return taken[nextIndex - 1]
            }

            /// Every item waiting (at least one, waiting for it if need be): a writer that fell
            /// behind catches up in one write. Nil at the end.
            public mutating func nextBatch() async -> [Item]? {
                if nextIndex < taken.count {
                    defer { (taken, nextIndex) = ([], 0) }
                    return Array(taken[nextIndex...])
                }
                if ended { return nil }
                let batch = await holder.mailbox.takeAll()
                if !batch.isEmpty { return batch }
                ended = true
                return cutOff.isSet ? [.reset(reason: "fell too far behind")] : nil
            }
        }
    }

    /// Ends its subscription when the last copy of the subscription and its iterators goes.
    final class Holder: Sendable {
        let mailbox: Mailbox
        init(_ mailbox: Mailbox) { self.mailbox = mailbox }
        deinit { mailbox.finish() }
    }

    /// One subscriber's queue of at most `capacity` items: `publish` adds, the reader takes all
    /// that wait at once.
    final class Mailbox: Sendable {
        struct State {
            var items: [Item] = []
            var waiter: CheckedContinuation<Void, Never>?
            var finished = false
            var onFinish: (@Sendable () -> Void)?
        }

        let capacity: Int
        private let state = Mutex(State())

        init(capacity: Int) { self.capacity = capacity }

        /// False when the item did not fit; one for a subscription that has ended is dropped.
        func yield(_ item: Item) -> Bool {
            let (added, waiter) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
                if state.finished { return (true, nil) }
                guard state.items.count < capacity else { return (false, nil) }
                state.items.append(item)
                defer { state.waiter = nil }
                return (true, state.waiter)
            }
            waiter?.resume()
            return added
        }

        /// Runs `action` once, when the subscription ends (at once if it has).
        func onFinish(_ action: @escaping @Sendable () -> Void) {
            let run = state.withLock { state -> Bool in
                if state.finished { return true }
                state.onFinish = action
                return false
            }
            if run { action() }
        }

        /// Ends the subscription; what is queued can still be taken.
        func finish(dropping: Bool = false) {
            let (waiter, action) = state.withLock {
                state -> (CheckedContinuation<Void, Never>?, (@Sendable () -> Void)?) in
                if dropping { state.items = [] }
                guard !state.finished else { return (state.waiter.take(), nil) }
                state.finished = true
                return (state.waiter.take(), state.onFinish.take())
            }
            waiter?.resume()
            action?()
        }

        /// Everything queued, waiting for something if nothing is; empty once the subscription has
        /// ended and all was taken. A cancelled reader ends the subscription.
        func takeAll() async -> [Item] {
            while true {
                let taken: [Item]? = state.withLock { state in
                    if !state.items.isEmpty {
                        defer { state.items = [] }
                        return state.items
                    }
                    return state.finished ? [] : nil
                }
                if let taken { return taken }
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                        let ready = state.withLock { state in
                            if !state.items.isEmpty || state.finished { return true }
                            state.waiter = waiter
                            return false
                        }
                        if ready { waiter.resume() }
                    }
                } onCancel: {
                    finish(dropping: true)
                }
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
