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
        let resumeAfter = input.headers.lastEventID ?? input.query.after
        var topics = Set(FeedEvent.Topic.allCases)
        if let asked = input.query.topics {
            var chosen = Set<FeedEvent.Topic>()
            for name in asked.split(separator: ",") {
                guard let topic = FeedEvent.Topic(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
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
        let frames = ServerSentEvents(feed: services.feed, after: resumeAfter, filter: filter, keepAlive: .seconds(15))
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
/// and a comment line every `keepAlive` so idle connections stay open (and closed ones are noticed).
///
/// Frames are pulled by the response writer, so a slow client leaves events in its subscription's
/// buffer; one that falls too far behind gets a `reset` and goes on from the present. The stream
/// ends when the server shuts down gracefully (an open page must not hold the shutdown up).
struct ServerSentEvents: AsyncSequence, Sendable {
    typealias Element = ArraySlice<UInt8>
    let feed: LiveFeed
    let after: String?
    let filter: StreamFilter
    let keepAlive: Duration

    func makeAsyncIterator() -> Iterator {
        Iterator(
            feed: feed, subscription: feed.subscribe(after: after, keepAlive: keepAlive), filter: filter,
            keepAlive: keepAlive)
    }

    struct Iterator: AsyncIteratorProtocol {
        let feed: LiveFeed
        var subscription: LiveFeed.Subscription
        var items: LiveFeed.Subscription.Iterator
        let filter: StreamFilter
        let keepAlive: Duration
        var started = false

        init(feed: LiveFeed, subscription: LiveFeed.Subscription, filter: StreamFilter, keepAlive: Duration) {
            self.feed = feed
            self.subscription = subscription
            items = subscription.makeAsyncIterator()
            self.filter = filter
            self.keepAlive = keepAlive
        }

        mutating func next() async -> ArraySlice<UInt8>? {
            guard started else {
                started = true
                return ArraySlice("retry: 2000\n\n".utf8)
            }
            while true {
                let subscription = subscription
                var current = items
                let item = await withGracefulShutdownHandler {
                    await current.next()
                } onGracefulShutdown: {
                    subscription.finish()
                }
                items = current
                switch item {
                case .event(let event)?:
                    guard filter.passes(event) else { continue }
                    return ArraySlice(
                        "id: \(feed.epoch)-\(event.sequence)\nevent: \(event.topic.rawValue)\ndata: \(event.json)\n\n"
                            .utf8)
                case .reset(let reason)?:
                    return ArraySlice("id: \(feed.position)\nevent: reset\ndata: {\"reason\":\"\(reason)\"}\n\n".utf8)
                case .keepAlive?:
                    return ArraySlice(": keep-alive\n\n".utf8)
                case nil:
                    // Cut off after a reset: go on from the present, unless the server is stopping.
                    guard !Task.isCancelled, !Task.isShuttingDownGracefully, subscription.wasCutOff else { return nil }
                    self.subscription = feed.subscribe(after: nil, keepAlive: keepAlive)
                    items = self.subscription.makeAsyncIterator()
                }
            }
        }
    }
}
