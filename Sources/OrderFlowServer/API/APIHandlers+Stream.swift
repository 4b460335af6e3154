import Foundation
import HTTPTypes
import OpenAPIRuntime
import OrderFlowAPI
import OrderFlowDomain
import OrderFlowEngine
import OrderFlowRuntime
import ServiceLifecycle

extension APIHandlers {
    /// `GET /api/v1/stream`: the live feed as server-sent events, limited to what the caller sees.
    func streamEvents(_ input: Operations.StreamEvents.Input) async throws -> Operations.StreamEvents.Output {
        let principal = try principal
        let resumeAfter =
            try Self.checkedLength(input.headers.lastEventID, "Last-Event-ID", max: 64)
            ?? Self.checkedLength(input.query.after, "after", max: 64)
        var topics = Set(FeedEvent.Topic.allCases)
        if let asked = try Self.checkedLength(input.query.topics, "topics", max: 64) {
            var chosen = Set<FeedEvent.Topic>()
            for name in asked.split(separator: ",") {
                guard let topic = FeedEvent.Topic(rawValue: String(name).trimmingSpaces()) else {
                    throw APIError.invalid("topics", rule: "enum", "topics are order, transmission, alert and invoice")
                }
                chosen.insert(topic)
            }
            // Asking by name for what one may not see is refused; the default quietly leaves it out.
            if let refused = chosen.first(where: { Self.permission(for: $0).map { !principal.may($0) } ?? false }),
                let needed = Self.permission(for: refused)
            {
                throw APIError(
                    .forbidden, code: "forbidden",
                    message: "the \(refused.rawValue) topic needs the \(needed.rawValue) permission")
            }
            topics = chosen
        }
        topics = topics.filter { Self.permission(for: $0).map(principal.may) ?? true }
        let filter = StreamFilter(topics: topics, scope: try await services.orders.scope(of: principal))
        let security = configuration.security
        let subscribe = { @Sendable (after: String?) throws(LiveFeed.Full) -> LiveFeed.Subscription in
            try services.feed.subscribe(
                after: after, keepAlive: .seconds(security.sessionCheckSeconds), owner: principal.id,
                limits: (security.streamsPerCaller, security.streamsInAll), wants: filter.passes)
        }
        let subscription: LiveFeed.Subscription
        do {
            subscription = try subscribe(resumeAfter)
        } catch {
            let message =
                error.perOwner
                ? "you have \(security.streamsPerCaller) streams open already; close one first"
                : "this server has as many streams open as it serves; try again later"
            throw APIError(
                .tooManyRequests, code: "too_many_streams", message: message, headers: [.retryAfter: "30"])
        }
        let signedIn = try context.signedIn
        let frames = ServerSentEvents(
            feed: services.feed, subscription: subscription, resubscribe: { try? subscribe(nil) },
            stillAllowed: {
                // Signed out, disabled, revoked, or given other roles or scope: the stream ends.
                await signedIn?() == principal
            })
        return .ok(.init(body: .textEventStream(HTTPBody(frames, length: .unknown, iterationBehavior: .single))))
    }

    /// What a topic needs beyond signing in (order events are narrowed to the caller's scope instead).
    static func permission(for topic: FeedEvent.Topic) -> Permission? {
        switch topic {
        case .order: nil
        case .transmission, .alert: .monitorRead
        case .invoice: .invoicesRead
        }
    }
}

/// Which feed events one stream passes on.
struct StreamFilter: Sendable {
    var topics: Set<FeedEvent.Topic>
    var scope: OrderScope

    func passes(_ event: FeedEvent) -> Bool {
        guard topics.contains(event.topic) else { return false }
        if case .everything = scope { return true }
        // Invoices belong to no store: whoever may read them sees them all.
        if event.topic == .invoice { return true }
        // Scoped callers see the orders of their stores (or their own): order events carry both.
        guard event.topic == .order, let location = event.locationID else { return false }
        return scope.allows(location: LocationID(location), customerID: event.customerID)
    }
}

/// The wire form of a subscription: `id`/`event`/`data` frames, a `reset` when events were lost,
/// and a comment line at every keep-alive tick so idle connections stay open (and closed ones are
/// noticed). At each tick the caller's credentials are checked again: the stream ends once they
/// no longer allow it.
///
/// Frames are pulled by the response writer, so a slow client leaves events in its subscription's
/// buffer (only those it wants: the filter runs when an event is published); one that falls too
/// far behind gets a `reset` and goes on from the present. The stream ends when the server shuts
/// down gracefully (an open page must not hold the shutdown up).
struct ServerSentEvents: AsyncSequence, Sendable {
    typealias Element = ArraySlice<UInt8>
    let feed: LiveFeed
    let subscription: LiveFeed.Subscription
    /// A new subscription from the present, after being cut off; nil when the feed is full.
    let resubscribe: @Sendable () -> LiveFeed.Subscription?
    let stillAllowed: @Sendable () async -> Bool

    func makeAsyncIterator() -> Iterator {
        Iterator(feed: feed, subscription: subscription, resubscribe: resubscribe, stillAllowed: stillAllowed)
    }

    struct Iterator: AsyncIteratorProtocol {
        let feed: LiveFeed
        var subscription: LiveFeed.Subscription
        var items: LiveFeed.Subscription.Iterator
        let resubscribe: @Sendable () -> LiveFeed.Subscription?
        let stillAllowed: @Sendable () async -> Bool
        var started = false

        init(
            feed: LiveFeed, subscription: LiveFeed.Subscription,
            resubscribe: @escaping @Sendable () -> LiveFeed.Subscription?,
            stillAllowed: @escaping @Sendable () async -> Bool
        ) {
            self.feed = feed
            self.subscription = subscription
            items = subscription.makeAsyncIterator()
            self.resubscribe = resubscribe
            self.stillAllowed = stillAllowed
        }

        /// The frames of every item waiting, in one buffer: one write however many there are.
        mutating func next() async -> ArraySlice<UInt8>? {
            guard started else {
                started = true
                return ArraySlice("retry: 2000\n\n".utf8)
            }
            while true {
                let subscription = subscription
                var current = items
                let batch = await withGracefulShutdownHandler {
                    await current.nextBatch()
                } onGracefulShutdown: {
                    subscription.finish()
                }
                items = current
                guard let batch else {
                    // Cut off after a reset: go on from the present, unless the server is stopping.
                    guard !Task.isCancelled, !Task.isShuttingDownGracefully, subscription.wasCutOff,
                        let fresh = resubscribe()
                    else { return nil }
                    self.subscription = fresh
                    items = fresh.makeAsyncIterator()
                    continue
                }
                var frames = ""
                for item in batch {
                    switch item {
                    case .event(let event):
                        frames += event.frame
                    case .reset(let reason):
                        frames += "id: \(feed.position)\nevent: reset\ndata: {\"reason\":\"\(reason)\"}\n\n"
                    case .keepAlive:
                        guard await stillAllowed() else {
                            subscription.finish()
                            return nil
                        }
                        frames += ": keep-alive\n\n"
                    }
                }
                return ArraySlice(frames.utf8)
            }
        }
    }
}
