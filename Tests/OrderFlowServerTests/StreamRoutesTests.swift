import AsyncHTTPClient
import Foundation
import OrderFlowLoad
import OrderFlowPersistence
import OrderFlowTestSupport
import Synchronization
import Testing

/// `GET /api/v1/stream` over a real socket: what each caller hears, in order, once, and what a
/// reconnecting client gets back.
@Suite("Live stream", .databaseSlots)
struct StreamRoutesTests {
    @Test(arguments: TestDatabase.kinds)
    func anOrderIsHeardOnceByEveryoneWhoMaySeeItAndByNoOneElse(kind: Database.Kind) async throws {
        try await TestApp.run(kind, live: true) { app in
            try await Listeners.with(app) { listeners in
                let here = try await app.token(for: ["store_manager"], store: "QC-T-001")
                let there = try await app.token(for: ["store_manager"], store: "QC-T-002")
                let admin = try await listeners.open(token: app.adminToken, query: "?topics=order")
                let manager = try await listeners.open(token: here)
                let otherManager = try await listeners.open(token: there)

                #expect(try await app.send(.post, "/api/orders", json: TestApp.orderBody("S-1")).status == .created)
                // Refused (the ID is taken): nothing was committed, so nothing is heard.
                #expect(try await app.send(.post, "/api/orders", json: TestApp.orderBody("S-1")).status == .conflict)
                #expect(
                    try await app.send(.post, "/api/orders", json: TestApp.orderBody("S-2", store: "QC-T-002")).status
                        == .created)

                let heard = await admin.events(2)
                #expect(heard.map(\.event) == ["order", "order"])
                #expect(heard.map { $0.json["orderId"] as? String } == ["S-1", "S-2"])
                #expect(heard.map { $0.json["type"] as? String } == ["order.created", "order.created"])
                #expect(heard.first?.json["store"] as? String == "QC-T-001")
                #expect(heard.first?.json["statusName"] as? String == "Open")
                #expect(heard.first?.json["customerId"] == nil, "the customer is never sent")
                let ids = heard.compactMap(\.id)
                #expect(
                    ids.count == 2 && ids[0] != ids[1] && heard.map { $0.json["id"] as? String } == ids,
                    "each event's ID is its frame's")

                // Each store manager hears their own store's order only.
                #expect(await manager.events(1).map { $0.json["orderId"] as? String } == ["S-1"])
                #expect(await otherManager.events(1).map { $0.json["orderId"] as? String } == ["S-2"])
                #expect(await manager.settle().count == 1)
                #expect(await otherManager.settle().count == 1)
            }
        }
    }

    @Test func aReconnectWithItsLastEventIDGetsWhatItMissedAndAStrangeIDGetsAReset() async throws {
        try await TestApp.run(live: true) { app in
            try await Listeners.with(app) { listeners in
                let first = try await listeners.open(token: app.adminToken, query: "?topics=order")
                for id in ["R-1", "R-2", "R-3"] {
                    #expect(try await app.send(.post, "/api/orders", json: TestApp.orderBody(id)).status == .created)
                }
                let heard = await first.events(3)
                try #require(heard.count == 3)

                // Back after the first event: the two after it, from memory, in order.
                let resumed = try await listeners.open(
                    token: app.adminToken, query: "?topics=order", lastEventID: heard[0].id)
                #expect(await resumed.events(2).map { $0.json["orderId"] as? String } == ["R-2", "R-3"])
                // The same with the query parameter (for clients that cannot set headers).
                let byQuery = try await listeners.open(
                    token: app.adminToken, query: "?topics=order&after=\(heard[1].id ?? "")")
                #expect(await byQuery.events(1).map { $0.json["orderId"] as? String } == ["R-3"])

                // An ID from another run of the server cannot be replayed: the client is told to reload.
                let stranger = try await listeners.open(
                    token: app.adminToken, query: "?topics=order", lastEventID: "zzzz-1")
                let reset = await stranger.events(1)
                #expect(reset.map(\.event) == ["reset"])
                #expect(reset.first?.json["reason"] as? String == "the server restarted")
                // The reset's ID is the newest event: reconnecting with it misses nothing after it.
                #expect(reset.first?.id == heard[2].id)
                #expect(try await app.send(.post, "/api/orders", json: TestApp.orderBody("R-4")).status == .created)
                #expect(await stranger.events(2).last?.json["orderId"] as? String == "R-4")
            }
        }
    }

    @Test func transmissionsAreHeardByMonitorReadersOnly() async throws {
        try await TestApp.run(live: true, configure: { $0.engine.channels = [TestApp.refusingChannel] }) { app in
            try await Listeners.with(app) { listeners in
                let operations = try await listeners.open(
                    token: try await app.token(for: ["operations"]), query: "?topics=transmission")
                let manager = try await app.token(for: ["store_manager"], store: "QC-T-001")
                let all = try await listeners.open(token: manager)
                #expect(try await app.send(.post, "/api/orders", json: TestApp.orderBody("T-1")).status == .created)
                try await app.engine.drain()

                _ = await operations.events(2)
                let transmissions = await operations.settle()
                #expect(
                    !transmissions.isEmpty
                        && transmissions.allSatisfy {
                            $0.event == "transmission" && $0.json["orderId"] as? String == "T-1"
                        })
                #expect(transmissions.first?.json["type"] as? String == "transmission.created")
                #expect(transmissions.first?.json["channel"] as? String == "commerce")
                // The downstream address refuses connections: the attempt failed and will be retried.
                #expect(
                    transmissions.contains {
                        $0.json["type"] as? String == "transmission.retrying" && $0.json["transmissionId"] != nil
                    })
                // The store manager hears the order move through the pipeline, but no transmission.
                let orders = await all.settle()
                #expect(!orders.isEmpty && orders.allSatisfy { $0.event == "order" })

                let refused = try await listeners.connect(token: manager, query: "?topics=order,transmission")
                #expect(refused.status == .forbidden)
            }
        }
    }

    /// A stream lives as long as the sign-in it was opened with: signing out ends it, and so does
    /// disabling its user (who would otherwise go on hearing what their roles allowed).
    @Test func aStreamEndsWhenItsSignInEnds() async throws {
        try await TestApp.run(live: true, configure: { $0.security.sessionCheckSeconds = 0.1 }) { app in
            try await Listeners.with(app) { listeners in
                _ = try await app.token(for: ["operations"], username: "ops.one")
                let login = try await app.send(
                    .post, "/api/auth/login", json: ["username": "ops.one", "password": "password-of-ops.one"],
                    token: nil)
                let access = try #require(login.json["accessToken"] as? String)
                let refresh = try #require(login.json["refreshToken"] as? String)
                let signedOut = try await listeners.open(token: access)
                let staysOpen = try await listeners.open(token: app.adminToken)
                #expect(
                    try await app.send(.post, "/api/auth/logout", json: ["refreshToken": refresh], token: nil).status
                        == .noContent)
                #expect(await signedOut.hasEnded())

                let other = try await app.token(for: ["operations"], username: "ops.two")
                let disabled = try await listeners.open(token: other)
                let users = try await app.send(.get, "/api/users").json["items"] as? [[String: Any]] ?? []
                let id = try #require(users.first { $0["username"] as? String == "ops.two" }?["id"] as? String)
                #expect(try await app.send(.patch, "/api/users/\(id)", json: ["disabled": true]).status == .ok)
                #expect(await disabled.hasEnded())
                #expect(staysOpen.ended.withLock { !$0 })
                // Reconnecting with the old token is refused.
                #expect(try await listeners.connect(token: access).status == .unauthorized)
            }
        }
    }

    /// Open streams are limited per caller and in all: one more is a 429, and a closed one frees
    /// its place.
    @Test func streamsAreLimitedPerCallerAndInAll() async throws {
        try await TestApp.run(
            live: true,
            configure: {
                $0.security.streamsPerCaller = 2
                $0.security.streamsInAll = 3
            }
        ) { app in
            try await Listeners.with(app) { listeners in
                let first = try await listeners.open(token: app.adminToken)
                _ = try await listeners.open(token: app.adminToken)
                let third = try await listeners.connect(token: app.adminToken)
                #expect(third.status == .tooManyRequests)
                #expect(try await third.text().contains("too_many_streams"))

                let other = try await app.token(for: ["operations"])
                _ = try await listeners.open(token: other)
                #expect(
                    try await listeners.connect(token: try await app.token(for: ["operations"])).status
                        == .tooManyRequests)

                first.close()
                let deadline = ContinuousClock.now + .seconds(10)
                while app.database.feed.subscriberCount > 2, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(try await listeners.connect(token: app.adminToken).status == .ok)
            }
        }
    }

    @Test func badTopicsAndMissingCredentialsAreRefused() async throws {
        try await TestApp.run(live: true) { app in
            try await Listeners.with(app) { listeners in
                let bad = try await listeners.connect(token: app.adminToken, query: "?topics=order,gossip")
                #expect(bad.status == .badRequest)
                let body = try JSONSerialization.jsonObject(with: Data(try await bad.text().utf8)) as? [String: Any]
                let fields = (body?["error"] as? [String: Any])?["fields"] as? [[String: Any]]
                #expect(fields?.first?["field"] as? String == "topics" && fields?.first?["rule"] as? String == "enum")
                #expect(try await listeners.connect(token: nil).status == .unauthorized)
                #expect(app.database.feed.subscriberCount == 0)
            }
        }
    }
}

/// Event-stream connections to a live TestApp, each read into memory by a task of its own.
final class Listeners: Sendable {
    let client = HTTPClient(eventLoopGroupProvider: .singleton)
    let base: String
    let tasks = Mutex<[Task<Void, Never>]>([])

    private init(base: String) { self.base = base }

    static func with(_ app: TestApp, _ body: (Listeners) async throws -> Void) async throws {
        let listeners = Listeners(base: "http://127.0.0.1:\(try #require(app.client.port))")
        do {
            try await body(listeners)
        } catch {
            await listeners.close()
            throw error
        }
        await listeners.close()
    }

    func connect(token: String?, query: String = "", lastEventID: String? = nil) async throws -> EventStreamConnection {
        var headers: [(String, String)] = []
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        if let lastEventID { headers.append(("Last-Event-ID", lastEventID)) }
        return try await EventStreamConnection.open(client, url: base + "/api/v1/stream" + query, headers: headers)
    }

    /// An open stream (200) whose events are collected as they arrive.
    func open(token: String?, query: String = "", lastEventID: String? = nil) async throws -> Listener {
        let connection = try await connect(token: token, query: query, lastEventID: lastEventID)
        guard connection.status == .ok else {
            throw TestFailure(message: "stream answered \(connection.status): \(try await connection.text())")
        }
        let listener = Listener()
        let task = Task {
            do {
                for try await event in connection { listener.heard.withLock { $0.append(event) } }
            } catch {}
            listener.ended.withLock { $0 = true }
        }
        listener.task.withLock { $0 = task }
        tasks.withLock { $0.append(task) }
        return listener
    }

    func close() async {
        for task in tasks.withLock({ $0 }) { task.cancel() }
        try? await client.shutdown()
    }
}

final class Listener: Sendable {
    let heard = Mutex<[ServerSentEvent]>([])
    let ended = Mutex(false)
    let task = Mutex<Task<Void, Never>?>(nil)

    /// Whether the server ended the stream (waiting up to 10 s for it).
    func hasEnded() async -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while !ended.withLock({ $0 }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return ended.withLock { $0 }
    }

    /// Hangs up.
    func close() { task.withLock { $0?.cancel() } }

    /// The first `count` events, once that many arrived (fewer if they did not within 5 s).
    func events(_ count: Int) async -> [ServerSentEvent] {
        let deadline = ContinuousClock.now + .seconds(5)
        while heard.withLock({ $0.count }) < count, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return heard.withLock { Array($0.prefix(count)) }
    }

    /// Everything heard once nothing more arrived for 300 ms.
    func settle() async -> [ServerSentEvent] {
        var count = -1
        while heard.withLock({ $0.count }) != count {
            count = heard.withLock { $0.count }
            try? await Task.sleep(for: .milliseconds(300))
        }
        return heard.withLock { $0 }
    }
}

extension ServerSentEvent {
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] ?? [:]
    }
}
