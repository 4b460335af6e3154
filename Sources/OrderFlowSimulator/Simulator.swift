import AsyncHTTPClient
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// Simulated systems outside OrderFlow, for the demo and for tests: a commerce engine and a
/// fulfilment centre that receive order events, a card payment provider, an SMS provider, an
/// order generator, and an auto-advancer that walks released orders through ship and delivery
/// events. Everything here stands in for someone else's system; none of it is OrderFlow.
public final class Simulator: Service, Sendable {
    public struct Settings: Sendable {
        public var host = "127.0.0.1"
        public var port = 8081
        /// Where OrderFlow listens (for generated orders and ship/delivery events).
        public var orderFlowURL = "http://127.0.0.1:8080"
        /// Shared secret OrderFlow signs webhooks with; unchecked when nil.
        public var webhookSecret: String?
        /// Commerce engine: chance of answering 503, and extra latency (milliseconds, uniform).
        public var commerceFailureRate = 0.0
        public var commerceLatencyMilliseconds: ClosedRange<Int> = 5...40
        /// Payment provider: chance of declining a card.
        public var declineRate = 0.1
        /// Orders a second the generator places (0: none).
        public var ordersPerSecond = 0.0
        /// Seconds between the steps of a released order (0: no auto-advance).
        public var advanceSeconds = 4.0
        /// Chance a delivery attempt fails first (and is rescheduled).
        public var deliveryFailureRate = 0.05
        /// Stores the commerce engine does not know: it refuses (422) their orders' events.
        public var commerceUnknownStores: Set<String> = []
        /// When set, the commerce engine acknowledges each event later by calling OrderFlow's
        /// POST /api/v1/acks after a delay in this range (an `async` channel); nil: no callbacks.
        public var commerceAckDelayMilliseconds: ClosedRange<Int>?

        public init() {}
    }

    /// What the simulated systems saw.
    public struct Stats: Sendable, Codable {
        public var commerceReceived = 0
        /// Requests the commerce engine took, and the most events one of them carried.
        public var commerceRequests = 0
        public var commerceLargestBatch = 0
        public var commerceRefused = 0
        /// Events delivered more than once (by event ID): the at-least-once cost.
        public var commerceDuplicates = 0
        public var commerceBadSignatures = 0
        public var commerceAcksSent = 0
        public var commerceAckErrors = 0
        public var fulfillmentReceived = 0
        public var fulfillmentDuplicates = 0
        public var charges = 0
        public var declines = 0
        public var refunds = 0
        public var smsSent = 0
        public var ordersGenerated = 0
        public var ordersRefused = 0
        public var advanceSteps = 0
        public var advanceErrors = 0
        /// Event IDs received by the commerce engine, in arrival order.
        public var commerceEventIDs: [String] = []
        /// Per order, the event types received by the commerce engine, in arrival order.
        public var commerceEventsByOrder: [String: [String]] = [:]
        public var smsMessages: [String] = []
    }

    public let settings: Mutex<Settings>
    let state = Mutex(State())
    /// The port the simulator listens on, once it does (useful with port 0).
    public let boundPort = Mutex<Int?>(nil)
    let apiKey: @Sendable (Caller) -> String?
    let client: HTTPClient

    /// The simulated systems that call OrderFlow, each with a key of its own (and the
    /// permissions it needs): the commerce engine acknowledges events (`acks.write`), the carrier
    /// reports fulfilment and delivery (`fulfillment.write`), the generator places orders and
    /// reads the catalog to make them (`orders.create`, `catalog.read`). The `integration` role
    /// holds all four.
    public enum Caller: String, Sendable, CaseIterable {
        case commerce, carrier, generator
    }
    let logger: Logger

    struct State {
        var stats = Stats()
        var commerceSeen: Set<String> = []
        var fulfillmentSeen: Set<String> = []
        var charges: [String: [String: String]] = [:]
        var advancing: [String: Int] = [:]
        var catalog: OrderGenerator?
        var commerceDown = false
        var paymentsDown = false
    }

    /// - Parameter apiKey: the OrderFlow API key of each simulated system (see `Caller`), read
    ///   when needed (the demo creates them after start-up).
    public init(
        settings: Settings, apiKey: @escaping @Sendable (Caller) -> String?, client: HTTPClient = .shared,
        logger: Logger
    ) {
        self.settings = Mutex(settings)
        self.apiKey = apiKey
        self.client = client
        var logger = logger
        logger[metadataKey: "component"] = "simulator"
        self.logger = logger
    }

    public var stats: Stats { state.withLock { $0.stats } }

    /// Takes the commerce engine down (503 to everything) or brings it back.
    public func setCommerceDown(_ down: Bool) { state.withLock { $0.commerceDown = down } }

    public func run() async throws {
        let config = settings.withLock { $0 }
        let app = Application(
            router: router(),
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "OrderFlow-Simulator"),
            onServerRunning: { channel in self.boundPort.withLock { $0 = channel.localAddress?.port } },
            logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            group.addTask { await self.generateOrders() }
            try await group.next()
            group.cancelAll()
        }
    }

    // MARK: The simulated systems' HTTP side

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/commerce/events") { request, _ -> Response in try await self.commerceEvent(request) }
        router.post("/fulfillment/events") { request, _ -> Response in try await self.fulfillmentEvent(request) }
        router.post("/payments/charges") { request, _ -> Response in try await self.charge(request) }
        router.post("/payments/refunds") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 1 << 20)
            self.state.withLock { $0.stats.refunds += 1 }
            return Self.json(["status": "refunded"])
        }
        router.post("/sms/messages") { request, _ -> Response in
            let body = try await Self.object(request)
            self.state.withLock {
                $0.stats.smsSent += 1
                $0.stats.smsMessages.append("\(body["to"] as? String ?? "?"): \(body["message"] as? String ?? "")")
                if $0.stats.smsMessages.count > 200 { $0.stats.smsMessages.removeFirst() }
            }
            return Self.json(["status": "queued"])
        }
        router.get("/stats") { _, _ -> Response in
            let stats = self.stats
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(data: try JSONEncoder().encode(stats))))
        }
        router.post("/control") { request, _ -> Response in
            let body = try await Self.object(request)
            self.settings.withLock { settings in
                if let rate = body["commerceFailureRate"] as? Double { settings.commerceFailureRate = rate }
                if let latency = body["commerceLatencyMilliseconds"] as? [Int], latency.count == 2,
                    latency[0] <= latency[1]
                {
                    settings.commerceLatencyMilliseconds = latency[0]...latency[1]
                }
                if let rate = body["declineRate"] as? Double { settings.declineRate = rate }
                if let rate = body["ordersPerSecond"] as? Double { settings.ordersPerSecond = rate }
                if let seconds = body["advanceSeconds"] as? Double { settings.advanceSeconds = seconds }
                if let stores = body["commerceUnknownStores"] as? [String] {
                    settings.commerceUnknownStores = Set(stores)
                }
                if let delay = body["commerceAckDelayMilliseconds"] as? [Int], delay.count == 2, delay[0] <= delay[1],
                    delay[0] >= 0
                {
                    settings.commerceAckDelayMilliseconds = delay[0]...delay[1]
                }
            }
            if let down = body["commerceDown"] as? Bool { self.setCommerceDown(down) }
            if let down = body["paymentsDown"] as? Bool { self.state.withLock { $0.paymentsDown = down } }
            return Self.json(["status": "ok"])
        }
        return router
    }

    func commerceEvent(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 1 << 20)
        let config = settings.withLock { $0 }
        if let secret = config.webhookSecret, !Self.verify(request, body: body, secret: secret) {
            state.withLock { $0.stats.commerceBadSignatures += 1 }
            return Response(status: .unauthorized)
        }
        try await Task.sleep(for: .milliseconds(Int.random(in: config.commerceLatencyMilliseconds)))
        let down = state.withLock { $0.commerceDown }
        if down || Double.random(in: 0..<1) < config.commerceFailureRate {
            state.withLock { $0.stats.commerceRefused += 1 }
            return Response(status: .serviceUnavailable)
        }
        // One event (a JSON object), or a batch of them (a JSON array), all taken or all refused.
        let parsed = try? JSONSerialization.jsonObject(with: Data(buffer: body))
        let events: [CommerceEvent]
        if let batch = parsed as? [[String: Any]] {
            events = batch.map { CommerceEvent($0, id: nil, type: nil) }
        } else {
            events = [
                CommerceEvent(
                    parsed as? [String: Any] ?? [:], id: request.headers[HTTPField.Name("X-OrderFlow-Event-Id")!],
                    type: request.headers[HTTPField.Name("X-OrderFlow-Event-Type")!])
            ]
        }
        if let store = events.lazy.compactMap(\.store).first(where: config.commerceUnknownStores.contains) {
            state.withLock { $0.stats.commerceRefused += 1 }
            return Response(
                status: .unprocessableContent, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"error":"unknown store \#(store)"}"#)))
        }
        state.withLock { state in
            state.stats.commerceRequests += 1
            state.stats.commerceLargestBatch = max(state.stats.commerceLargestBatch, events.count)
            for event in events {
                state.stats.commerceReceived += 1
                if !state.commerceSeen.insert(event.id).inserted { state.stats.commerceDuplicates += 1 }
                state.stats.commerceEventIDs.append(event.id)
                state.stats.commerceEventsByOrder[event.order, default: []].append(event.type)
            }
        }
        if let delay = config.commerceAckDelayMilliseconds {
            Task { await self.acknowledge(events, after: delay) }
        }
        return Self.json(["received": events.map(\.id).joined(separator: ",")])
    }

    /// What the commerce engine reads of an event it receives.
    struct CommerceEvent: Sendable {
        var id: String
        var type: String
        var order: String
        var store: String?
        var total: String?

        init(_ body: [String: Any], id: String?, type: String?) {
            self.id = id ?? body["eventId"] as? String ?? UUID().uuidString
            self.type = type ?? body["type"] as? String ?? "?"
            order = body["orderId"] as? String ?? "?"
            store = body["shipFromLocationId"] as? String
            total = (body["totals"] as? [String: Any])?["orderTotal"] as? String
        }
    }

    /// The commerce engine's callback, written the ways real systems write them: mostly with our
    /// event ID, sometimes only with the order ID in their own format, sometimes by amount. The
    /// events of one request are acknowledged in one callback.
    func acknowledge(_ events: [CommerceEvent], after delay: ClosedRange<Int>) async {
        try? await Task.sleep(for: .milliseconds(Int.random(in: delay)))
        let acks = events.map { event in
            var ack: [String: Any] = [
                "channel": "commerce", "reference": "CE-\(UInt32.random(in: 100_000...999_999))", "status": "accepted",
            ]
            switch Int.random(in: 0..<10) {
            case 0..<7: ack["eventId"] = event.id
            case 7..<9: ack["orderId"] = " " + event.order.lowercased().replacingOccurrences(of: "-", with: " ") + " "
            default:
                ack["orderId"] = "ORD-" + event.order
                if let total = event.total { ack["amount"] = total }
            }
            return ack
        }
        guard let key = apiKey(.commerce) else { return }
        var request = HTTPClientRequest(url: settings.withLock { $0.orderFlowURL } + "/api/v1/acks")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "x-api-key", value: key)
        request.body = .bytes(
            ByteBuffer(data: (try? JSONSerialization.data(withJSONObject: ["acknowledgements": acks])) ?? Data()))
        let ok =
            (try? await client.execute(request, timeout: .seconds(10)).status.code).map { (200..<300).contains($0) }
            ?? false
        state.withLock {
            if ok { $0.stats.commerceAcksSent += acks.count } else { $0.stats.commerceAckErrors += acks.count }
        }
    }

    func fulfillmentEvent(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 1 << 20)
        if let secret = settings.withLock({ $0.webhookSecret }), !Self.verify(request, body: body, secret: secret) {
            return Response(status: .unauthorized)
        }
        let eventID = request.headers[HTTPField.Name("X-OrderFlow-Event-Id")!] ?? UUID().uuidString
        let type = request.headers[HTTPField.Name("X-OrderFlow-Event-Type")!] ?? "?"
        let object = (try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]) ?? [:]
        let first = state.withLock { state -> Bool in
            state.stats.fulfillmentReceived += 1
            let first = state.fulfillmentSeen.insert(eventID).inserted
            if !first { state.stats.fulfillmentDuplicates += 1 }
            return first
        }
        if first, type == "order.released", let order = object["orderId"] as? String,
            settings.withLock({ $0.advanceSeconds }) > 0
        {
            Task { await self.advance(order) }
        }
        return Self.json(["received": eventID])
    }

    func charge(_ request: Request) async throws -> Response {
        let body = try await Self.object(request)
        if state.withLock({ $0.paymentsDown }) { return Response(status: .serviceUnavailable) }
        let key = body["idempotencyKey"] as? String ?? UUID().uuidString
        let decline = settings.withLock { $0.declineRate }
        let answer = state.withLock { state -> [String: String] in
            if let earlier = state.charges[key] { return earlier }
            let customer = (body["customerId"] as? String ?? "").lowercased()
            let declined = customer.contains("decline") || Double.random(in: 0..<1) < decline
            let answer =
                declined
                ? [
                    "status": "declined",
                    "reason": ["insufficient funds", "card expired", "do not honour"].randomElement()!,
                ]
                : ["status": "approved", "reference": "PAY-" + UUID().uuidString.prefix(12).uppercased()]
            state.charges[key] = answer
            state.stats.charges += 1
            if declined { state.stats.declines += 1 }
            return answer
        }
        return Self.json(answer)
    }

    static func verify(_ request: Request, body: ByteBuffer, secret: String) -> Bool {
        guard let timestamp = request.headers[HTTPField.Name("X-OrderFlow-Timestamp")!],
            let signature = request.headers[HTTPField.Name("X-OrderFlow-Signature")!]
        else { return false }
        let mac = HMAC<SHA256>.authenticationCode(
            for: Data("\(timestamp).\(String(buffer: body))".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return signature == "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    static func object(_ request: Request) async throws -> [String: Any] {
        let body = try await request.body.collect(upTo: 1 << 20)
        return (try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]) ?? [:]
    }

    static func json(_ value: [String: String]) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(data: (try? JSONEncoder().encode(value)) ?? Data())))
    }

    // MARK: Calling OrderFlow

    func call(_ method: HTTPMethod, _ path: String, _ body: [String: Any]? = nil, as caller: Caller) async throws -> (
        Int, [String: Any]
    ) {
        guard let key = apiKey(caller) else { throw SimulatorError.noKey }
        var request = HTTPClientRequest(url: settings.withLock { $0.orderFlowURL } + path)
        request.method = method
        request.headers.add(name: "x-api-key", value: key)
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: try JSONSerialization.data(withJSONObject: body)))
        }
        let response = try await client.execute(request, timeout: .seconds(10))
        let data = try await response.body.collect(upTo: 4 << 20)
        return (
            Int(response.status.code),
            (try? JSONSerialization.jsonObject(with: Data(buffer: data)) as? [String: Any]) ?? [:]
        )
    }

    enum SimulatorError: Error { case noKey }

    // MARK: Auto-advance

    /// Walks a released order through the fulfilment centre and the carrier, one step every
    /// `advanceSeconds` (seed 001's auto-advance), sometimes failing a delivery first.
    func advance(_ order: String) async {
        let failsFirst = Double.random(in: 0..<1) < settings.withLock { $0.deliveryFailureRate }
        var steps: [(path: String, method: HTTPMethod, body: [String: Any])] = []
        let tracking = "TRK-" + UUID().uuidString.prefix(10).uppercased()
        for type in ["picking", "picked", "packing", "packed", "shipped"] {
            var body: [String: Any] = ["eventId": "\(order)-\(type)", "orderId": order, "type": type]
            if type == "shipped" {
                body["trackingId"] = tracking
                body["carrier"] = "grab"
            }
            steps.append(("/api/fulfillment/ship-events", .POST, body))
        }
        var delivery = ["shipped", "in_transit", "out_for_delivery"]
        if failsFirst { delivery += ["failed", "rescheduled", "out_for_delivery"] }
        delivery.append("delivered")
        for (index, status) in delivery.enumerated() {
            var body: [String: Any] = [
                "eventId": "\(order)-d\(index)-\(status)", "orderId": order, "status": status, "trackingId": tracking,
                "carrier": "grab",
            ]
            if status == "failed" { body["reason"] = "customer not at home" }
            steps.append(("/api/delivery/status", .PUT, body))
        }
        for step in steps {
            var done = false
            for attempt in 1...20 where !done {
                let seconds = settings.withLock { $0.advanceSeconds }
                try? await Task.sleep(for: .milliseconds(Int(seconds * 1000 * (attempt == 1 ? 1 : 2))))
                do {
                    let (status, _) = try await call(step.method, step.path, step.body, as: .carrier)
                    if (200..<300).contains(status) {
                        done = true
                        state.withLock { $0.stats.advanceSteps += 1 }
                    } else if status == 409 || status == 404 || status == 422 {
                        // Cancelled meanwhile, or not ours: stop walking this order.
                        return
                    }
                } catch {
                    state.withLock { $0.stats.advanceErrors += 1 }
                }
            }
            if !done { return }
        }
    }

    // MARK: Order generator

    func generateOrders() async {
        var sequence = 0
        let prefix = String(Int(Date().timeIntervalSince1970) % 100_000)
        while !Task.isCancelled {
            let rate = settings.withLock { $0.ordersPerSecond }
            guard rate > 0 else {
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            // Exponential gaps: a steady rate, with the bunching of real arrivals.
            let gap = min(60, -log(Double.random(in: 0.0001..<1)) / rate)
            try? await Task.sleep(for: .milliseconds(Int(gap * 1000)))
            guard apiKey(.generator) != nil else { continue }
            do {
                guard let body = try await randomOrder(id: "SIM-\(prefix)-\(sequence)") else { continue }
                sequence += 1
                let (status, answer) = try await call(.POST, "/api/orders", body, as: .generator)
                if status == 201 {
                    state.withLock { $0.stats.ordersGenerated += 1 }
                } else {
                    state.withLock { $0.stats.ordersRefused += 1 }
                    logger.warning(
                        "generated order refused",
                        metadata: ["status": "\(status)", "error": "\(answer["error"] ?? "")"])
                }
            } catch {
                state.withLock { $0.stats.ordersRefused += 1 }
                logger.warning("generated order not sent", metadata: ["error": "\(error)"])
            }
        }
    }

    func randomOrder(id: String) async throws -> [String: Any]? {
        if state.withLock({ $0.catalog == nil }) {
            let (_, locations) = try await call(.GET, "/api/locations", as: .generator)
            let (_, products) = try await call(.GET, "/api/products?limit=200", as: .generator)
            guard let generator = OrderGenerator(locations: locations, products: products) else { return nil }
            state.withLock { $0.catalog = generator }
        }
        return state.withLock { $0.catalog }?.order(id: id)
    }
}
