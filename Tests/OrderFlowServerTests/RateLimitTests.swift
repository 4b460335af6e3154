import Foundation
import HTTPTypes
import OrderFlowDomain
import OrderFlowServer
import OrderFlowTestSupport
import Testing

@Suite("Rate limits per key, per role, and for downstream systems reporting back", .databaseSlots)
struct RateLimitTests {
    /// Creates an integration key (with its own limit when given) and returns the key and its
    /// representation.
    static func key(_ app: TestApp, _ name: String, limit: [String: Any]? = nil) async throws -> (
        String, [String: Any]
    ) {
        var body: [String: Any] = ["name": name, "roles": ["integration"]]
        if let limit { body["rateLimit"] = limit }
        let created = try await app.send(.post, "/api/api-keys", json: body)
        #expect(created.status == .created, "\(created.text)")
        return (
            try #require(created.json["key"] as? String), try #require(created.json["apiKey"] as? [String: Any])
        )
    }

    static func limit(_ representation: [String: Any]?) -> [String: String]? {
        (representation?["rateLimit"] as? [String: Any])?.mapValues { "\($0)" }
    }

    @Test func aKeyIsHeldToItsOwnLimitOrItsRolesDefaultAndRefusalsAreCounted() async throws {
        try await TestApp.run(configure: {
            $0.security.rateLimit = 2
            // The administrator setting things up keeps clear of the limits under test.
            $0.security.roleRateLimits = [.integration: 5, .admin: 1_000]
        }) { app in
            let (roleKey, roleRepresentation) = try await Self.key(app, "by role")
            #expect(Self.limit(roleRepresentation) == ["requestsPerSecond": "5", "burst": "10", "source": "role"])
            let (ownKey, ownRepresentation) = try await Self.key(
                app, "own", limit: ["requestsPerSecond": 1, "burst": 2])
            #expect(Self.limit(ownRepresentation) == ["requestsPerSecond": "1", "burst": "2", "source": "own"])

            // Own: a burst of 2. The role's default: a burst of 10.
            var own: [Int] = []
            for _ in 0..<3 { own.append(try await app.send(.get, "/api/products", token: ownKey).status.code) }
            #expect(own == [200, 200, 429])
            var byRole: [Int] = []
            for _ in 0..<11 { byRole.append(try await app.send(.get, "/api/products", token: roleKey).status.code) }
            #expect(byRole == Array(repeating: 200, count: 10) + [429])
            let metrics = try await app.send(.get, "/metrics").text
            #expect(
                metrics.contains(
                    #"orderflow_rate_limited_total{principal_kind="api_key",route="GET /api/products"} 2"#))

            // Changed: back to its role's default, at once on this instance; listed with its source.
            let id = try #require(ownRepresentation["id"] as? String)
            let changed = try await app.send(
                .patch, "/api/api-keys/\(id)", json: ["rateLimit": ["requestsPerSecond": 0]])
            #expect(changed.status == .ok)
            #expect(Self.limit(changed.json)?["source"] == "role")
            // The bucket keeps what it owes; it now fills at the role's 5 a second.
            #expect(try await app.send(.get, "/api/products", token: ownKey).status == .tooManyRequests)
            app.clock.advance(seconds: 0.4)
            #expect(try await app.send(.get, "/api/products", token: ownKey).status == .ok)
            let listed = try await app.send(.get, "/api/api-keys").json["items"] as? [[String: Any]] ?? []
            #expect(listed.map { Self.limit($0)?["source"] } == ["role", "role"])

            // Bad budgets change nothing.
            let refused = try await app.send(
                .patch, "/api/api-keys/\(id)", json: ["rateLimit": ["requestsPerSecond": 5, "burst": 0.5]])
            #expect(refused.status == .unprocessableContent)
            #expect(refused.fieldRules == ["rateLimit.burst format"])
            let negative = try await app.send(
                .post, "/api/api-keys",
                json: ["name": "x", "roles": ["integration"], "rateLimit": ["requestsPerSecond": 0.01]])
            #expect(negative.fieldRules == ["rateLimit.requestsPerSecond format"])
            #expect(
                try await app.send(.patch, "/api/api-keys/nope", json: ["rateLimit": ["requestsPerSecond": 1]]).status
                    == .notFound)
            let audit = try await app.send(.get, "/api/audit?action=apikey.update").json["items"] as? [[String: Any]]
            #expect(audit?.count == 1)
        }
    }

    @Test func aUserCarriesALimitOfTheirOwn() async throws {
        try await TestApp.run(configure: { $0.security.rateLimit = 100 }) { app in
            let created = try await app.send(
                .post, "/api/users",
                json: [
                    "username": "clerk", "displayName": "Clerk", "roles": ["operations"],
                    "password": "clerk-password-1",
                ])
            let id = try #require((created.json["user"] as? [String: Any])?["id"] as? String)
            #expect(Self.limit(created.json["user"] as? [String: Any])?["source"] == "default")
            let changed = try await app.send(
                .patch, "/api/users/\(id)", json: ["rateLimit": ["requestsPerSecond": 0.5, "burst": 1]])
            #expect(Self.limit(changed.json) == ["requestsPerSecond": "0.5", "burst": "1", "source": "own"])
            let login = try await app.send(
                .post, "/api/auth/login", json: ["username": "clerk", "password": "clerk-password-1"], token: nil)
            let token = try #require(login.json["accessToken"] as? String)
            #expect(try await app.send(.get, "/api/products", token: token).status == .ok)
            #expect(try await app.send(.get, "/api/products", token: token).status == .tooManyRequests)
        }
    }

    /// Acknowledgements have a budget of their own (the key's other requests do not spend it) and
    /// a burst over it waits its turn, up to ORDERFLOW_RATE_LIMIT_QUEUE_SECONDS, before a 429 —
    /// which the deadline sweep is told of.
    @Test func acknowledgementsQueueOnABudgetOfTheirOwnBeforeTheyAreRefused() async throws {
        try await TestApp.run(configure: {
            $0.security.rateLimit = 200
            $0.security.rateLimitQueueSeconds = 1
            $0.engine.channels = [TestApp.refusingChannel]
        }) { app in
            let (key, _) = try await Self.key(app, "commerce engine", limit: ["requestsPerSecond": 2, "burst": 1])
            @Sendable func ack(_ reference: String) async throws -> Int {
                try await app.send(
                    .post, "/api/v1/acks",
                    json: [
                        "acknowledgements": [
                            ["channel": "commerce", "reference": reference, "status": "accepted", "orderId": "X-1"]
                        ]
                    ], token: key
                ).status.code
            }
            // The key's other requests leave the acknowledgements' budget alone.
            #expect(try await app.send(.get, "/api/products", token: key).status == .ok)
            #expect(try await app.send(.get, "/api/products", token: key).status == .tooManyRequests)
            #expect(try await ack("a1") == 200)
            // The next two wait 0.5 s and 1 s for their tokens; a third would wait 1.5 s: refused.
            let base = app.clock.sleepers
            let second = Task { try await ack("a2") }
            try await waitUntil { app.clock.sleepers == base + 1 }
            let third = Task { try await ack("a3") }
            try await waitUntil { app.clock.sleepers == base + 2 }
            let cutoffBefore = app.throttle.sweepCutoff(now: app.clock.now())
            #expect(cutoffBefore == app.clock.now(), "nothing refused yet")
            #expect(try await ack("a4") == 429)
            #expect(app.throttle.sweepCutoff(now: app.clock.now()) < app.clock.now(), "the sweep holds back")
            app.clock.advance(seconds: 1)
            #expect(try await second.value == 200)
            #expect(try await third.value == 200)
            #expect(try await app.database.count("acknowledgements") == 3)
            #expect(app.logs.all.contains("a downstream system's report was refused"))
        }
    }
}

/// Polls `condition` (every 5 ms, for up to 5 s).
func waitUntil(_ condition: () -> Bool) async throws {
    for _ in 0..<1_000 {
        if condition() { return }
        try await Task.sleep(for: .milliseconds(5))
    }
    Issue.record("the condition never held")
}
