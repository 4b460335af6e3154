import Crypto
import Foundation
import HTTPTypes
import HummingbirdTesting
import OrderFlowDomain
import OrderFlowPersistence
import OrderFlowServer
import OrderFlowTestSupport
import Testing

@Suite("Authentication, tokens, keys, limits and audit", .databaseSlots)
struct SecurityTests {
    static let apiKey = HTTPField.Name("x-api-key")!

    /// Signs a token with any header and key, to forge what an attacker might send.
    static func forge(header: String, claims: [String: Any], key: String) throws -> String {
        let head = Base64URL.encode(Data(header.utf8))
        let body = Base64URL.encode(try JSONSerialization.data(withJSONObject: claims))
        let signature = HMAC<SHA256>.authenticationCode(
            for: Data("\(head).\(body)".utf8), using: SymmetricKey(data: Data(key.utf8)))
        return "\(head).\(body).\(Base64URL.encode(Data(signature)))"
    }

    @Test func badTokensAreRefused() async throws {
        try await TestApp.run { app in
            #expect(try await app.send(.get, "/api/users/me").status == .ok)
            let parts = app.adminToken.split(separator: ".").map(String.init)
            let claims = try #require(
                try JSONSerialization.jsonObject(with: Base64URL.decodeData(parts[1])!) as? [String: Any])

            // Tampered: the payload changed, the signature did not.
            var changed = claims
            changed["sub"] = "someone-else"
            let tampered =
                parts[0] + "." + Base64URL.encode(try JSONSerialization.data(withJSONObject: changed)) + "." + parts[2]
            // Signed with another key.
            let wrongKey = try Self.forge(
                header: #"{"alg":"HS256","typ":"JWT"}"#, claims: claims, key: "not-the-server-key-not-the-server-key")
            // alg none, no signature.
            let none = Base64URL.encode(Data(#"{"alg":"none","typ":"JWT"}"#.utf8)) + "." + parts[1] + "."
            // Another algorithm, signed with the right key would still be refused for its header.
            let otherAlgorithm =
                Base64URL.encode(Data(#"{"alg":"HS512","typ":"JWT"}"#.utf8)) + "." + parts[1] + "." + parts[2]
            for token in [tampered, wrongKey, none, otherAlgorithm, "garbage", ""] {
                let response = try await app.send(.get, "/api/users/me", token: token)
                #expect(response.status == .unauthorized, "\(token.prefix(20))…")
                #expect(response.error["code"] as? String == "unauthorized")
                #expect(response.headers[.wwwAuthenticate] != nil)
            }

            // Expired: eight hours later the same token no longer works.
            app.clock.advance(seconds: 8 * 3600 + 1)
            let expired = try await app.send(.get, "/api/users/me")
            #expect(expired.status == .unauthorized)
            #expect((expired.error["message"] as? String)?.contains("expired") == true)
        }
    }

    /// An unexpected failure is logged with its operation and cause, not with the request: no
    /// password, token or key that came with it reaches the log.
    @Test(arguments: TestDatabase.kinds)
    func anUnexpectedFailureLogsNoCredentials(kind: Database.Kind) async throws {
        try await TestApp.run(kind) { app in
            // Signing in writes the audit log: without it, a sign-in fails unexpectedly.
            try await app.database.execute("DROP TABLE audit_log")
            let failed = try await app.send(
                .post, "/api/auth/login", json: ["username": "admin", "password": "not-the-password-9f3a"],
                headers: [
                    .authorization: "Bearer token-that-must-not-be-logged",
                    Self.apiKey: "ofk_key-that-must-not-be-logged",
                ],
                token: nil)
            #expect(failed.status == .internalServerError)
            let logged = app.logs.all
            #expect(logged.contains("unexpected error") && logged.contains("login"))
            for secret in ["not-the-password-9f3a", "token-that-must-not-be-logged", "key-that-must-not-be-logged"] {
                #expect(!logged.contains(secret), "\(secret) was logged")
            }
        }
    }

    @Test func refreshTokensRotateAndReuseRevokesTheFamily() async throws {
        try await TestApp.run { app in
            let login = try await app.send(
                .post, "/api/auth/login", json: ["username": "admin", "password": TestApp.adminPassword], token: nil)
            let first = try #require(login.json["refreshToken"] as? String)
            #expect(login.json["tokenType"] as? String == "Bearer")
            #expect(login.json["expiresIn"] as? Int == 28_800)

            let rotated = try await app.send(.post, "/api/auth/refresh", json: ["refreshToken": first], token: nil)
            #expect(rotated.status == .ok)
            let second = try #require(rotated.json["refreshToken"] as? String)
            #expect(second != first)
            let access = try #require(rotated.json["accessToken"] as? String)
            #expect(try await app.send(.get, "/api/users/me", token: access).status == .ok)

            // The spent token again, after the grace for pages refreshing at once: refused, and its
            // whole sign-in with it, access tokens included.
            app.clock.advance(seconds: 11)
            let reuse = try await app.send(.post, "/api/auth/refresh", json: ["refreshToken": first], token: nil)
            #expect(reuse.status == .unauthorized)
            let afterReuse = try await app.send(.post, "/api/auth/refresh", json: ["refreshToken": second], token: nil)
            #expect(afterReuse.status == .unauthorized)
            #expect(try await app.auditCount("auth.refresh_reused") == 1)
            let revoked = try await app.send(.get, "/api/users/me", token: access)
            #expect(revoked.status == .unauthorized)
            #expect(revoked.error["message"] as? String == "this sign-in has ended; sign in again")

            // Logout revokes a sign-in too, its access token at once; other sign-ins are untouched.
            let other = try await app.send(
                .post, "/api/auth/login", json: ["username": "admin", "password": TestApp.adminPassword], token: nil)
            let third = try #require(other.json["refreshToken"] as? String)
            let thirdAccess = try #require(other.json["accessToken"] as? String)
            #expect(try await app.send(.get, "/api/users/me", token: thirdAccess).status == .ok)
            #expect(
                try await app.send(.post, "/api/auth/logout", json: ["refreshToken": third], token: nil).status
                    == .noContent)
            #expect(
                try await app.send(.post, "/api/auth/refresh", json: ["refreshToken": third], token: nil).status
                    == .unauthorized)
            #expect(try await app.send(.get, "/api/users/me", token: thirdAccess).status == .unauthorized)
            #expect(try await app.send(.get, "/api/users/me").status == .ok, "the test's own sign-in lives on")
        }
    }

    /// Pages of one browser that find the access token expired refresh with the same refresh token
    /// at once: every one of them goes on, and the user stays signed in.
    @Test func refreshesAtOnceWithOneTokenKeepTheUserSignedIn() async throws {
        try await TestApp.run { app in
            let login = try await app.send(
                .post, "/api/auth/login", json: ["username": "admin", "password": TestApp.adminPassword], token: nil)
            let refresh = try #require(login.json["refreshToken"] as? String)
            let answers = try await withThrowingTaskGroup(of: TestResponse.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        try await app.send(.post, "/api/auth/refresh", json: ["refreshToken": refresh], token: nil)
                    }
                }
                return try await group.reduce(into: [TestResponse]()) { $0.append($1) }
            }
            #expect(answers.map(\.status) == Array(repeating: .ok, count: 6))
            #expect(try await app.auditCount("auth.refresh_reused") == 0)
            for answer in answers {
                let access = try #require(answer.json["accessToken"] as? String)
                #expect(try await app.send(.get, "/api/users/me", token: access).status == .ok)
                let next = try #require(answer.json["refreshToken"] as? String)
                #expect(
                    try await app.send(.post, "/api/auth/refresh", json: ["refreshToken": next], token: nil).status
                        == .ok)
            }
        }
    }

    /// Every credential a request presents must hold: a bad token next to a good key is refused,
    /// and so are two good ones of different callers.
    @Test func aBadCredentialNextToAGoodOneIsRefused() async throws {
        try await TestApp.run { app in
            let key = try #require(
                try await app.send(.post, "/api/api-keys", json: ["name": "k", "roles": ["integration"]]).json["key"]
                    as? String)
            let apiKey = HTTPField.Name("x-api-key")!
            #expect(try await app.send(.get, "/api/products", headers: [apiKey: key], token: nil).status == .ok)
            #expect(
                try await app.send(
                    .get, "/api/products", headers: [apiKey: key, .authorization: "Bearer not-a-token"], token: nil
                ).status
                    == .unauthorized)
            #expect(
                try await app.send(
                    .get, "/api/products", headers: [apiKey: key, .authorization: "Basic eDp5"], token: nil
                )
                .status == .unauthorized)
            let otherKey = try #require(
                try await app.send(.post, "/api/api-keys", json: ["name": "k2", "roles": ["integration"]]).json["key"]
                    as? String)
            #expect(
                try await app.send(
                    .get, "/api/products", headers: [apiKey: key, .authorization: "Bearer \(otherKey)"], token: nil
                ).status
                    == .unauthorized)
            #expect(
                try await app.send(
                    .get, "/api/products", headers: [apiKey: key, .authorization: "Bearer \(key)"], token: nil
                ).status == .ok)
        }
    }

    @Test func passwordChangeSignsOutEverySession() async throws {
        try await TestApp.run { app in
            let token = try await app.token(for: ["operations"], username: "ops.one")
            let wrong = try await app.send(
                .put, "/api/users/me", json: ["currentPassword": "nope", "newPassword": "a-brand-new-password"],
                token: token)
            #expect(wrong.fieldRules == ["currentPassword password"])
            let changed = try await app.send(
                .put, "/api/users/me",
                json: ["currentPassword": "password-of-ops.one", "newPassword": "a-brand-new-password"], token: token)
            #expect(changed.status == .ok)
            #expect(try await app.send(.get, "/api/users/me", token: token).status == .unauthorized)
            let again = try await app.send(
                .post, "/api/auth/login", json: ["username": "ops.one", "password": "a-brand-new-password"], token: nil)
            #expect(again.status == .ok)
        }
    }

    @Test func disablingAUserTakesEffectAtOnce() async throws {
        try await TestApp.run { app in
            let token = try await app.token(for: ["developer"], username: "dev.one")
            let users = try await app.send(.get, "/api/users")
            let id = try #require(
                (users.json["items"] as? [[String: Any]])?.first { $0["username"] as? String == "dev.one" }?["id"]
                    as? String)
            #expect(try await app.send(.patch, "/api/users/\(id)", json: ["disabled": true]).status == .ok)
            #expect(try await app.send(.get, "/api/users/me", token: token).status == .unauthorized)
            let login = try await app.send(
                .post, "/api/auth/login", json: ["username": "dev.one", "password": "password-of-dev.one"], token: nil)
            #expect(login.status == .unauthorized)
            #expect(try await app.auditCount("user.disable") == 1)
        }
    }

    @Test func apiKeysWorkUntilRevoked() async throws {
        try await TestApp.run { app in
            let created = try await app.send(
                .post, "/api/api-keys", json: ["name": "commerce engine", "roles": ["integration"]])
            #expect(created.status == .created)
            let key = try #require(created.json["key"] as? String)
            #expect(key.hasPrefix("ofk_"))
            let id = try #require((created.json["apiKey"] as? [String: Any])?["id"] as? String)

            let byHeader = try await app.send(
                .post, "/api/orders", json: TestApp.orderBody("KEY-1"), headers: [Self.apiKey: key], token: nil)
            #expect(byHeader.status == .created)
            let byBearer = try await app.send(.get, "/api/orders/KEY-1", token: key)
            #expect(byBearer.status == .ok)
            // Integration keys cannot cancel.
            let cancel = try await app.send(
                .post, "/api/orders/KEY-1/cancel", json: ["reason": "x"], headers: [Self.apiKey: key], token: nil)
            #expect(cancel.status == .forbidden)

            let list = try await app.send(.get, "/api/api-keys")
            #expect(!list.text.contains(key), "a key is never shown again")
            #expect(list.text.contains(String(key.prefix(8))))
            #expect((list.json["items"] as? [[String: Any]])?.first?["lastUsedAt"] != nil)

            #expect(try await app.send(.delete, "/api/api-keys/\(id)").status == .ok)
            let revoked = try await app.send(.get, "/api/orders/KEY-1", headers: [Self.apiKey: key], token: nil)
            #expect(revoked.status == .unauthorized)
            #expect(try await app.send(.delete, "/api/api-keys/nope").status == .notFound)
            #expect(try await app.auditCount("apikey.create") == 1)
            #expect(try await app.auditCount("apikey.revoke") == 1)
        }
    }

    @Test func storeManagersSeeTheirStoreOnly() async throws {
        try await TestApp.run { app in
            try await app.send(.post, "/api/orders", json: TestApp.orderBody("MINE-1", store: "QC-T-001"))
            try await app.send(.post, "/api/orders", json: TestApp.orderBody("THEIRS-1", store: "QC-T-002"))
            let manager = try await app.token(for: ["store_manager"], store: "QC-T-001")

            #expect(try await app.send(.get, "/api/orders/MINE-1", token: manager).status == .ok)
            #expect(try await app.send(.get, "/api/orders/THEIRS-1", token: manager).status == .notFound)
            let all = try await app.send(.get, "/api/orders/search", token: manager)
            #expect((all.json["items"] as? [[String: Any]])?.map { $0["orderId"] as? String } == ["MINE-1"])
            let other = try await app.send(.get, "/api/orders/search?store=QC-T-002", token: manager)
            #expect((other.json["items"] as? [Any])?.isEmpty == true)
            let text = try await app.send(.get, "/api/orders/search?q=THEIRS", token: manager)
            #expect((text.json["items"] as? [Any])?.isEmpty == true)
            #expect(
                try await app.send(.post, "/api/orders/THEIRS-1/cancel", json: ["reason": "x"], token: manager).status
                    == .notFound)
            let place = try await app.send(
                .post, "/api/orders", json: TestApp.orderBody("THEIRS-2", store: "QC-T-002"), token: manager)
            #expect(place.status == .forbidden)
            #expect(place.error["code"] as? String == "out_of_scope")
            let stock = try await app.send(
                .put, "/api/inventory/COFFEE/locations/QC-T-002", json: ["onHand": 1], token: manager)
            #expect(stock.error["code"] as? String == "out_of_scope")
            #expect(
                try await app.send(.post, "/api/orders", json: TestApp.orderBody("MINE-2"), token: manager).status
                    == .created)
        }
    }

    @Test func regionalCoordinatorsAndCustomersAreScopedToo() async throws {
        try await TestApp.run { app in
            try await app.send(.post, "/api/orders", json: TestApp.orderBody("BKK-1", store: "QC-T-001"))
            try await app.send(.post, "/api/orders", json: TestApp.orderBody("CNX-1", store: "QC-T-002"))
            let region = try await app.token(for: ["regional_coordinator"], region: "bkk")
            let seen = try await app.send(.get, "/api/orders/search", token: region)
            #expect((seen.json["items"] as? [[String: Any]])?.map { $0["orderId"] as? String } == ["BKK-1"])
            #expect(try await app.send(.get, "/api/orders/CNX-1", token: region).status == .notFound)

            // Orders of the sample body belong to customer CUST-1.
            let customer = try await app.token(for: ["customer"], customer: "CUST-1")
            let stranger = try await app.token(for: ["customer"], customer: "CUST-2")
            #expect(try await app.send(.get, "/api/orders/BKK-1", token: customer).status == .ok)
            #expect(try await app.send(.get, "/api/orders/BKK-1", token: stranger).status == .notFound)
            let mine = try await app.send(.get, "/api/orders/search", token: stranger)
            #expect((mine.json["items"] as? [Any])?.isEmpty == true)
            let asOther = try await app.send(.post, "/api/orders", json: TestApp.orderBody("C-1"), token: stranger)
            #expect(asOther.error["code"] as? String == "out_of_scope")
            var own = TestApp.orderBody("C-2")
            own["customer"] = ["name": "Stranger", "phone": "0812345678"]
            let placed = try await app.send(.post, "/api/orders", json: own, token: stranger)
            #expect(placed.status == .created)
            #expect((placed.json["customer"] as? [String: Any])?["id"] as? String == "CUST-2")
        }
    }

    @Test func rateLimitsAnswer429WithRetryAfter() async throws {
        try await TestApp.run(configure: {
            $0.security.rateLimit = 2
            $0.security.anonymousRateLimit = 1
        }) { app in
            // Burst of 4 for a principal, then a token every half second.
            var statuses: [Int] = []
            for _ in 0..<5 { statuses.append(try await app.send(.get, "/api/products").status.code) }
            #expect(statuses == [200, 200, 200, 200, 429])
            let limited = try await app.send(.get, "/api/products")
            #expect(limited.headers[.retryAfter] == "1")
            #expect(limited.error["code"] as? String == "rate_limited")
            app.clock.advance(seconds: 0.5)
            #expect(try await app.send(.get, "/api/products").status == .ok)

            // Anonymous requests share the client address's bucket (burst of 2; full again after 2 s).
            app.clock.advance(seconds: 2)
            var anonymous: [Int] = []
            for _ in 0..<3 { anonymous.append(try await app.send(.get, "/api/v1/health", token: nil).status.code) }
            #expect(anonymous == [200, 200, 429])
        }
    }

    @Test func failedSignInsLockTheAccount() async throws {
        try await TestApp.run { app in
            _ = try await app.token(for: ["management"], username: "boss")
            var statuses: [Int] = []
            for _ in 0..<5 {
                statuses.append(
                    try await app.send(
                        .post, "/api/auth/login", json: ["username": "boss", "password": "wrong-password-1"], token: nil
                    ).status.code)
            }
            #expect(statuses == [401, 401, 401, 401, 429])
            let locked = try await app.send(
                .post, "/api/auth/login", json: ["username": "boss", "password": "password-of-boss"], token: nil)
            #expect(locked.status == .tooManyRequests)
            #expect(locked.error["code"] as? String == "account_locked")
            #expect(Int(locked.headers[.retryAfter] ?? "") ?? 0 > 800)
            app.clock.advance(seconds: 15 * 60 + 1)
            #expect(
                try await app.send(
                    .post, "/api/auth/login", json: ["username": "boss", "password": "password-of-boss"], token: nil
                ).status == .ok)
            #expect(try await app.auditCount("auth.login_failed") == 6)

            let unknown = try await app.send(
                .post, "/api/auth/login", json: ["username": "nobody", "password": "whatever-password"], token: nil)
            #expect(unknown.status == .unauthorized)
            #expect(unknown.error["message"] as? String == "wrong username or password")
        }
    }

    @Test func anUnknownNameIsLockedLikeAKnownOne() async throws {
        try await TestApp.run { app in
            var statuses: [Int] = []
            for _ in 0..<6 {
                statuses.append(
                    try await app.send(
                        .post, "/api/auth/login", json: ["username": "nobody", "password": "wrong-password-1"],
                        token: nil
                    ).status.code)
            }
            #expect(statuses == [401, 401, 401, 401, 429, 429])
        }
    }

    @Test func guessesSentTogetherCannotPassTheLimit() async throws {
        try await TestApp.run { app in
            _ = try await app.token(for: ["management"], username: "boss")
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for guess in 0..<20 {
                    group.addTask {
                        try await app.send(
                            .post, "/api/auth/login",
                            json: ["username": "boss", "password": "wrong-password-\(guess)"],
                            token: nil
                        ).status.code
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            // Four refusals that checked a password; every other guess was refused unchecked.
            #expect(statuses.filter { $0 == 401 }.count == 4)
            #expect(statuses.filter { $0 == 429 }.count == 16)
        }
    }

    @Test func aLockFromOneAddressLeavesOtherAddressesAlone() async throws {
        try await TestApp.run(configure: { $0.security.trustForwardedFor = true }) { app in
            _ = try await app.token(for: ["management"], username: "boss")
            let guesser: HTTPFields = [HTTPField.Name("X-Forwarded-For")!: "203.0.113.7"]
            let owner: HTTPFields = [HTTPField.Name("X-Forwarded-For")!: "198.51.100.2"]
            func signIn(_ password: String, from address: HTTPFields) async throws -> Int {
                try await app.send(
                    .post, "/api/auth/login", json: ["username": "boss", "password": password], headers: address,
                    token: nil
                ).status.code
            }
            for _ in 0..<5 { _ = try await signIn("wrong-password-1", from: guesser) }
            #expect(try await signIn("password-of-boss", from: guesser) == 429)
            #expect(try await signIn("password-of-boss", from: owner) == 200)

            // A new password set by an administrator lifts every lock on the account.
            let users = try await app.send(.get, "/api/users").json["items"] as? [[String: Any]] ?? []
            let boss = try #require(users.first { $0["username"] as? String == "boss" }?["id"] as? String)
            let reset = try await app.send(
                .post, "/api/users/\(boss)/reset-password", json: ["password": "a-new-password-for-boss"])
            #expect(reset.status == .ok)
            #expect(try await signIn("a-new-password-for-boss", from: guesser) == 200)
        }
    }

    @Test func secretsNeverReachLogsOrLaterResponses() async throws {
        try await TestApp.run { app in
            let created = try await app.send(
                .post, "/api/users", json: ["username": "new.user", "displayName": "New", "roles": ["operations"]])
            let generated = try #require(created.json["password"] as? String)
            let login = try await app.send(
                .post, "/api/auth/login", json: ["username": "new.user", "password": generated], token: nil)
            let refresh = try #require(login.json["refreshToken"] as? String)
            let access = try #require(login.json["accessToken"] as? String)
            _ = try await app.send(.post, "/api/auth/refresh", json: ["refreshToken": refresh], token: nil)
            _ = try await app.send(
                .post, "/api/auth/login", json: ["username": "new.user", "password": "a-wrong-password-guess"],
                token: nil)
            let key = try #require(
                try await app.send(.post, "/api/api-keys", json: ["name": "k", "roles": ["integration"]]).json["key"]
                    as? String)
            _ = try await app.send(.get, "/api/products", headers: [Self.apiKey: key], token: nil)

            let logs = app.logs.all
            #expect(!logs.isEmpty)
            for secret in [generated, refresh, access, key, TestApp.adminPassword, "a-wrong-password-guess"] {
                #expect(!logs.contains(secret), "a secret reached the logs")
            }
            let users = try await app.send(.get, "/api/users")
            #expect(!users.text.contains(generated))
            #expect(!users.text.lowercased().contains("hash"))
            let audit = try await app.send(.get, "/api/audit?limit=200")
            for secret in [generated, refresh, key, "a-wrong-password-guess"] { #expect(!audit.text.contains(secret)) }
        }
    }

    @Test func auditLogIsReadableByAdminsAndDevelopersAndAppendOnly() async throws {
        try await TestApp.run { app in
            try await app.send(.post, "/api/orders", json: TestApp.orderBody("AUD-1"))
            try await app.send(.post, "/api/orders/AUD-1/cancel", json: ["reason": "customer called"])
            let developer = try await app.token(for: ["developer"])
            let operations = try await app.token(for: ["operations"])
            let cancels = try await app.send(.get, "/api/audit?action=order.cancel", token: developer)
            let entries = try #require(cancels.json["items"] as? [[String: Any]])
            #expect(entries.count == 1)
            #expect(entries.first?["targetId"] as? String == "AUD-1")
            #expect(entries.first?["actor"] as? String == "admin")
            #expect((entries.first?["details"] as? [String: String])?["reason"] == "customer called")
            #expect(try await app.send(.get, "/api/audit", token: operations).status == .forbidden)

            let logins = try await app.send(.get, "/api/audit?action=auth.login&limit=1")
            #expect((logins.json["items"] as? [Any])?.count == 1)
            let cursor = try #require(logins.json["nextCursor"] as? String)
            let next = try await app.send(.get, "/api/audit?action=auth.login&limit=1&cursor=\(cursor)")
            #expect(
                (next.json["items"] as? [[String: Any]])?.first?["id"] as? Int
                    != (logins.json["items"] as? [[String: Any]])?.first?["id"] as? Int)

            await #expect(throws: (any Error).self) {
                try await app.database.execute("UPDATE audit_log SET actor = 'someone'")
            }
            await #expect(throws: (any Error).self) { try await app.database.execute("DELETE FROM audit_log") }
        }
    }

    static let registration: [String: String] = [
        "username": "malee.s", "password": "a-long-enough-password", "displayName": "Malee",
    ]

    /// Registering cannot make anyone a customer who exists already: a registrant's customer ID is
    /// of the registrants' own, which no channel order, administrator or other account may use.
    @Test(arguments: TestDatabase.kinds)
    func registeringNeverReachesAnotherCustomersOrders(kind: Database.Kind) async throws {
        try await TestApp.run(kind, configure: { $0.security.allowRegistration = true }) { app in
            var theirs = TestApp.orderBody("THEIRS-1")
            theirs["customer"] = ["id": "CUST-1001", "name": "The real 1001", "phone": "+66 81 234 5678"]
            #expect(try await app.send(.post, "/api/orders", json: theirs).status == .created)
            for username in ["1001", "cust-1001"] {
                let registered = try await app.send(
                    .post, "/api/auth/register",
                    json: ["username": username, "password": "a-long-enough-password", "displayName": "Someone"],
                    token: nil)
                #expect(registered.status == .created)
                #expect((registered.json["customerId"] as? String)?.hasPrefix("R-") == true)
                let login = try await app.send(
                    .post, "/api/auth/login", json: ["username": username, "password": "a-long-enough-password"],
                    token: nil)
                let token = try #require(login.json["accessToken"] as? String)
                #expect(try await app.send(.get, "/api/orders/THEIRS-1", token: token).status == .notFound)
                #expect(
                    (try await app.send(.get, "/api/orders/search", token: token).json["items"] as? [Any])?.isEmpty
                        == true)
                let cancel = try await app.send(
                    .post, "/api/orders/THEIRS-1/cancel", json: ["reason": "mine now"], token: token)
                #expect(cancel.status == .notFound)
            }
            // A registrant's ID is theirs alone: no channel order and no administrator may use one.
            let registrant = try #require(
                try await app.send(
                    .post, "/api/auth/register",
                    json: ["username": "shopper", "password": "a-long-enough-password", "displayName": "Shopper"],
                    token: nil
                ).json["customerId"] as? String)
            var posing = TestApp.orderBody("POSING-1")
            posing["customer"] = ["id": registrant, "name": "Not them", "phone": "+66 81 234 5678"]
            #expect(try await app.send(.post, "/api/orders", json: posing).fieldRules == ["customer.id G"])
            let minted = try await app.send(
                .post, "/api/users",
                json: [
                    "username": "minted", "displayName": "M", "roles": ["customer"], "customerId": registrant,
                    "password": "pw-minted-123456",
                ])
            #expect(minted.fieldRules == ["customerId scope"])
        }
    }

    @Test func registrationIsOffUnlessEnabled() async throws {
        try await TestApp.run { (app: TestApp) async throws in
            let refused = try await app.send(.post, "/api/auth/register", json: Self.registration, token: nil)
            #expect(refused.status == .notFound)
        }
        try await TestApp.run(configure: { $0.security.allowRegistration = true }) { app in
            let body = Self.registration
            let registered = try await app.send(.post, "/api/auth/register", json: body, token: nil)
            #expect(registered.status == .created)
            #expect(registered.json["roles"] as? [String] == ["customer"])
            let customerID = try #require(registered.json["customerId"] as? String)
            #expect(customerID.hasPrefix("R-") && customerID.count == 12, "a customer ID of the registrants' own")
            let short = try await app.send(
                .post, "/api/auth/register", json: ["username": "x", "password": "short", "displayName": "X"],
                token: nil)
            #expect(short.fieldRules == ["username format", "password password"])
            #expect(
                try await app.send(
                    .post, "/api/auth/login", json: ["username": "malee.s", "password": "a-long-enough-password"],
                    token: nil
                ).status == .ok)
        }
    }

    @Test func firstStartCreatesAnAdministratorWithAPrintedPassword() async throws {
        try await TestApp.run(configure: { $0.security.adminPassword = nil }) { app in
            // TestApp signs in with its own password only when configured; here the password was generated.
            let text = app.announcements.all
            #expect(text.contains("created the administrator 'admin'"))
            let password = try #require(
                text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.first {
                    $0.count == 20 && !$0.contains(" ")
                })
            #expect(
                try await app.send(
                    .post, "/api/auth/login", json: ["username": "admin", "password": password], token: nil
                ).status == .ok)
        }
    }

    /// Behind a proxy that ends TLS, OrderFlow speaks plain HTTP but people use HTTPS: the public
    /// URL says so, and cookies are Secure and HSTS is sent as if it served TLS itself.
    @Test func behindAnHTTPSProxyCookiesAreSecureAndHSTSIsSent() async throws {
        try await TestApp.run(configure: { $0.monitor.publicURL = "https://orderflow.example.com" }) { app in
            let response = try await app.send(.get, "/api/v1/health", token: nil)
            #expect(response.headers[.strictTransportSecurity]?.hasPrefix("max-age=") == true)
            let signIn = try await app.submit("/login", ["username": "admin", "password": TestApp.adminPassword])
            let cookies = signIn.headers[values: .setCookie]
            #expect(!cookies.isEmpty && cookies.allSatisfy { $0.contains("; Secure") }, "\(cookies)")
        }
        try await TestApp.run { app in
            let signIn = try await app.submit("/login", ["username": "admin", "password": TestApp.adminPassword])
            #expect(
                signIn.headers[values: .setCookie].allSatisfy { !$0.contains("Secure") }, "plain HTTP to the people too"
            )
        }
    }

    @Test func hardeningHeadersAndCORS() async throws {
        try await TestApp.run(configure: { $0.security.corsOrigins = ["https://ops.example.com"] }) { app in
            let response = try await app.send(
                .get, "/api/v1/health", headers: [.origin: "https://ops.example.com"], token: nil)
            #expect(response.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
            #expect(response.headers[.xContentTypeOptions] == "nosniff")
            #expect(response.headers[.strictTransportSecurity] == nil, "HSTS only with TLS")
            #expect(response.headers[.accessControlAllowOrigin] == "https://ops.example.com")
            let stranger = try await app.send(
                .get, "/api/v1/health", headers: [.origin: "https://evil.example.com"], token: nil)
            #expect(stranger.headers[.accessControlAllowOrigin] == nil)
            let preflight = try await app.send(
                .options, "/api/orders",
                headers: [.origin: "https://ops.example.com", .accessControlRequestMethod: "POST"], token: nil)
            #expect(preflight.status == .noContent)
            #expect(preflight.headers[.accessControlAllowHeaders]?.contains("Authorization") == true)
        }
    }
}

@Suite("Hardening on errors", .databaseSlots)
struct HardeningOnErrorsTests {
    @Test func errorResponsesCarryTheSecurityHeadersToo() async throws {
        try await TestApp.run { app in
            for response in [
                try await app.send(.get, "/nowhere"), try await app.send(.get, "/api/users/me", token: nil),
            ] {
                #expect(response.status.code >= 400)
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
                #expect(response.headers[.contentSecurityPolicy] != nil)
            }
        }
    }
}
