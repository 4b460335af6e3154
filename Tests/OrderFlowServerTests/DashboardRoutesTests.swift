import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import OrderFlowDomain
import OrderFlowEngine
import OrderFlowPersistence
import OrderFlowServer
import OrderFlowTestSupport
import Testing

/// The dashboard's pages and actions through HTTP: who gets in, where each role lands, what a
/// page shows and refuses, and that an action changes what the API would (audited) and nothing
/// when it is refused.
@Suite("Dashboard pages", .databaseSlots)
struct DashboardRoutesTests {
    @Test func eachRoleLandsOnItsViewAndIsOfferedOnlyWhatItMayOpen() async throws {
        try await TestApp.run { app in
            let cases: [(roles: [String], store: String?, landing: String, links: Set<String>)] = [
                (
                    ["operations"], nil, "/dashboard/operations",
                    ["Operations", "Store", "Order trace", "Development", "Management", "Invoices"]
                ),
                (
                    ["developer"], nil, "/dashboard/development",
                    ["Operations", "Store", "Order trace", "Development", "Management", "Invoices"]
                ),
                (
                    ["management"], nil, "/dashboard/management",
                    ["Operations", "Store", "Order trace", "Management", "Invoices"]
                ),
                (["store_manager"], "QC-T-001", "/dashboard/store", ["Store"]),
            ]
            for item in cases {
                let name = "u-\(item.roles[0].replacingOccurrences(of: "_", with: "-"))"
                _ = try await app.token(for: item.roles, username: name, store: item.store)
                let session = try await app.browserSignIn(name, password: "password-of-\(name)")
                #expect(session.landing == item.landing, "\(item.roles)")
                let page = try await app.browse(.get, item.landing, session: session)
                #expect(page.status == .ok)
                #expect(page.headers[.contentType]?.hasPrefix("text/html") == true)
                #expect(Set(page.navigation) == item.links, "\(item.roles): \(page.navigation)")
                #expect(page.text.contains("data-live=\""), "the page knows where its stream starts")
            }
            // A view outside the role's permissions is a 403 page, not data.
            let manager = try await app.browserSignIn("u-store-manager", password: "password-of-u-store-manager")
            let refused = try await app.browse(.get, "/dashboard/operations", session: manager)
            #expect(refused.status == .forbidden)
            #expect(refused.text.contains("monitor.read") && !refused.text.contains("<table"))
        }
    }

    /// After signing in, a browser goes to a dashboard page or to its landing view, never elsewhere:
    /// not by another host, a scheme, a backslash, nor a tab or line break that a browser would drop.
    @Test func signingInGoesOnlyToADashboardPage() async throws {
        try await TestApp.run { app in
            let hostile = [
                "/%09/evil.example", "/\t/evil.example", "//evil.example", "/\\evil.example", "https://evil.example/",
                "/%2F/evil.example", "/%5Cevil.example", "/dashboard/%09/evil.example",
                "/dashboard/operations%0d%0aX: 1",
                "/dashboard/orders/%2F%2Fevil.example", "/api/orders", "/login", "/dashboard/nowhere",
                " /dashboard/trace",
                "javascript:alert(1)",
            ]
            for next in hostile {
                let signedIn = try await app.submit(
                    "/login", ["username": "admin", "password": TestApp.adminPassword, "next": next])
                #expect(signedIn.headers[.location] == "/dashboard/operations", "next: \(next)")
            }
            for next in ["/dashboard/trace?q=ORD-1", "/dashboard/orders/ORD-1", "/dashboard/store?status=new#top"] {
                let signedIn = try await app.submit(
                    "/login", ["username": "admin", "password": TestApp.adminPassword, "next": next])
                #expect(signedIn.headers[.location] == next)
            }
        }
    }

    /// Every page names its icon inline, so browsers do not ask for a /favicon.ico that is not
    /// there (a 404 in the log for every page opened).
    @Test func pagesCarryTheirIconInline() async throws {
        try await TestApp.run { app in
            let page = try await app.send(.get, "/login", token: nil)
            #expect(page.text.contains(#"<link rel="icon" href="data:image/svg+xml,%3Csvg "#))
        }
    }

    /// A form on another site cannot sign a browser in; OrderFlow's own page and programs that say
    /// nothing about where they come from can.
    @Test func aSignInFormOnAnotherSiteIsRefused() async throws {
        try await TestApp.run { app in
            let credentials = ["username": "admin", "password": TestApp.adminPassword]
            let host = HTTPField.Name("Host")!
            for (name, value) in [
                (HTTPField.Name.origin, "https://evil.example"), (.origin, "null"),
                (.referer, "https://evil.example/login"),
            ] {
                let refused = try await app.submit("/login", credentials, headers: [name: value, host: "localhost"])
                #expect(refused.status == .forbidden, "\(name): \(value)")
                #expect(refused.headers[.setCookie] == nil)
                #expect(refused.text.contains("own sign-in page"))
            }
            let own = try await app.submit(
                "/login", credentials, headers: [.origin: "http://localhost", host: "localhost"])
            #expect(own.status == .seeOther && own.headers[.setCookie] != nil)
            #expect(try await app.submit("/login", credentials).status == .seeOther)
        }
    }

    @Test func signingInIsCheckedAndTheSessionCookieIsGuarded() async throws {
        try await TestApp.run { app in
            // Not signed in: the sign-in page, coming back afterwards; a fragment gets a 401 for the script.
            let anonymous = try await app.send(.get, "/dashboard/operations?minutes=60", token: nil)
            #expect(anonymous.status == .seeOther)
            #expect(anonymous.headers[.location] == "/login?next=/dashboard/operations%3Fminutes%3D60")
            // The script goes to sign in from there, to come back to the page, not to the fragment.
            let fragment = try await app.send(
                .get, "/dashboard/trace?q=x&fragment=timeline", headers: [HTTPField.Name("X-Fragment")!: "1"],
                token: nil)
            #expect(fragment.status == .unauthorized)
            #expect(fragment.headers[HTTPField.Name("X-Sign-In")!] == "/login?next=/dashboard/trace%3Fq%3Dx")

            let wrong = try await app.submit("/login", ["username": "admin", "password": "not-it"])
            #expect(
                wrong.status == .unauthorized && wrong.text.contains("wrong username or password")
                    && wrong.headers[.setCookie] == nil)
            let empty = try await app.submit("/login", [:])
            #expect(empty.status == .badRequest)

            let signedIn = try await app.submit(
                "/login",
                ["username": "admin", "password": TestApp.adminPassword, "next": "https://elsewhere.example/phish"])
            #expect(signedIn.status == .seeOther)
            #expect(signedIn.headers[.location] == "/dashboard/operations", "a foreign next is ignored")
            let cookies = signedIn.headers[values: .setCookie]
            #expect(
                cookies.count == 2
                    && cookies.allSatisfy {
                        $0.contains("HttpOnly") && $0.contains("SameSite=Strict") && $0.contains("Path=/")
                    })
            let session = try #require(BrowserSession(signedIn))
            let back = try await app.submit(
                "/login", ["username": "admin", "password": TestApp.adminPassword, "next": "/dashboard/trace?q=X"])
            #expect(back.headers[.location] == "/dashboard/trace?q=X")

            // The cookie reads, but changes only from the server's own pages.
            #expect(
                try await app.send(
                    .post, "/api/orders", json: TestApp.orderBody("CK-1"),
                    headers: session.headers(origin: "https://evil.example"), token: nil
                ).status == .forbidden)
            #expect(
                try await app.send(
                    .post, "/api/orders", json: TestApp.orderBody("CK-1"), headers: session.headers(origin: nil),
                    token: nil
                ).status == .forbidden)
            #expect(try await app.database.count("orders") == 0)
            #expect(
                try await app.send(
                    .post, "/api/orders", json: TestApp.orderBody("CK-1"),
                    headers: session.headers(origin: "http://localhost"), token: nil
                ).status == .created)
            #expect(
                try await app.send(.get, "/api/v1/monitor/summary", headers: session.headers(origin: nil), token: nil)
                    .status == .ok)

            let out = try await app.browse(.post, "/logout", session: session)
            #expect(out.status == .seeOther && out.headers[.location] == "/login")
            #expect(out.headers[values: .setCookie].allSatisfy { $0.contains("Max-Age=0") })
            // Signed out means the refresh token is revoked too: its cookie cannot bring the session back.
            #expect(
                try await app.send(.post, "/api/auth/refresh", json: ["refreshToken": session.refresh]).status
                    == .unauthorized)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func operationsShowsTheFilteredTransmissionsAndFragmentsForTheScript(kind: Database.Kind) async throws {
        try await TestApp.run(kind, configure: { $0.engine.channels = [TestApp.refusingChannel] }) { app in
            #expect(try await app.send(.post, "/api/orders", json: TestApp.orderBody("OPS-1")).status == .created)
            #expect(try await app.send(.post, "/api/orders", json: TestApp.orderBody("OPS-2")).status == .created)
            try await app.engine.drain()
            let session = try await app.browserSignIn("admin", password: TestApp.adminPassword)

            let page = try await app.browse(.get, "/dashboard/operations", session: session)
            #expect(page.status == .ok)
            #expect(page.text.contains(">OPS-1<") && page.text.contains(">OPS-2<"))
            #expect(
                page.text.contains("id=\"count-pending\">\(page.pendingCount ?? -1)<") && (page.pendingCount ?? 0) > 0)
            #expect(page.text.contains("circuit"), "a tile per channel")

            let pending = try await app.browse(
                .get, "/dashboard/operations?status=pending&channel=commerce&orderType=delivery", session: session)
            #expect(pending.text.contains(">OPS-1<"))
            let failed = try await app.browse(.get, "/dashboard/operations?status=failed", session: session)
            #expect(!failed.text.contains(">OPS-1<") && failed.text.contains("No transmissions match"))
            let otherChannel = try await app.browse(.get, "/dashboard/operations?channel=invoices", session: session)
            #expect(!otherChannel.text.contains(">OPS-1<"))

            let fragment = try await app.browse(
                .get, "/dashboard/operations?status=pending&fragment=transmissions", session: session, fragment: true)
            #expect(
                fragment.status == .ok && fragment.text.hasPrefix("<div class=\"scroll\">")
                    && !fragment.text.contains("<html"))
            #expect(fragment.text.contains("data-row=\"t"), "rows carry keys so the script can mark new ones")

            let bad = try await app.browse(.get, "/dashboard/operations?status=sideways", session: session)
            #expect(bad.status == .badRequest && bad.text.contains("status") && bad.text.contains("<h1>400"))
            let badFragment = try await app.browse(
                .get, "/dashboard/operations?fragment=nothing", session: session, fragment: true)
            #expect(badFragment.status == .badRequest)
            let range = try await app.browse(
                .get, "/dashboard/operations?from=2026-11-22T10:00&to=2026-11-22T09:00", session: session)
            #expect(range.status == .badRequest)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func developmentCountsErrorsAndLatencyWhereTheyHappened(kind: Database.Kind) async throws {
        // Nothing listens on port 9: every delivery fails with "connection refused".
        try await TestApp.run(kind, configure: { $0.engine.channels = [TestApp.refusingChannel] }) { app in
            for id in ["DEV-1", "DEV-2", "DEV-3"] {
                #expect(try await app.send(.post, "/api/orders", json: TestApp.orderBody(id)).status == .created)
            }
            try await app.engine.drain()
            // DEV-3 is acknowledged 1.5 s after its event all the same: settled, no longer an error.
            app.clock.advance(seconds: 1.5)
            let ack = try await app.send(
                .post, "/api/v1/acks",
                json: [
                    "acknowledgements": [
                        ["channel": "commerce", "reference": "r-dev-3", "status": "accepted", "orderId": "DEV-3"]
                    ]
                ])
            #expect(((ack.json["results"] as? [[String: Any]])?.first?["outcome"] as? String) == "matched")
            let session = try await app.browserSignIn("admin", password: TestApp.adminPassword)

            let failures = try await app.browse(
                .get, "/dashboard/development?fragment=failures", session: session, fragment: true)
            #expect(failures.status == .ok)
            #expect(failures.text.contains("id=\"errors-total\">2 transmissions with errors"))
            #expect(failures.text.contains("commerce · connection"))
            #expect(
                failures.text.contains(">DEV-1<") && failures.text.contains(">DEV-2<")
                    && !failures.text.contains(">DEV-3<"))

            // Latencies are kept in seconds and shown in milliseconds.
            let latency = try await app.browse(
                .get, "/dashboard/development?fragment=latency", session: session, fragment: true)
            #expect(latency.text.contains("p50 1500 ms, p95 1500 ms, p99 1500 ms"), "\(latency.text)")
            let operations = try await app.browse(.get, "/dashboard/operations", session: session)
            #expect(operations.text.contains("Ack latency p95</span><span class=\"n\">1500 ms<"))
            let management = try await app.browse(.get, "/dashboard/management", session: session)
            #expect(management.text.contains("Ack latency p95</span><span class=\"n\">1500 ms<"))
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func anUnexpectedFailureShowsAPageWithTheRequestIDAndIsLoggedOnce(kind: Database.Kind) async throws {
        try await TestApp.run(kind) { app in
            let session = try await app.browserSignIn("admin", password: TestApp.adminPassword)
            // Storage fails under the page: the dead letters' table is gone.
            try await app.database.execute("DROP TABLE dead_letters")
            let page = try await app.browse(.get, "/dashboard/development", session: session)
            #expect(page.status == .internalServerError)
            let id = try #require(page.headers[HTTPField.Name("X-Request-ID")!])
            #expect(page.text.contains("<h1>500") && page.text.contains("Quote request ID \(id) when reporting it"))
            #expect(page.headers[.contentType]?.hasPrefix("text/html") == true && !page.text.contains("internal_error"))
            let fragment = try await app.browse(
                .get, "/dashboard/development?fragment=dead-letters", session: session, fragment: true)
            #expect(
                fragment.status == .internalServerError && fragment.text.contains("Quote request ID")
                    && !fragment.text.contains("<html"))
            #expect(app.logs.all.components(separatedBy: "unexpected error").count - 1 == 2, "each failure logged once")
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func aFailedTransmissionIsReplayedFromTheTraceOnceAndAudited(kind: Database.Kind) async throws {
        let channel = ChannelSettings(
            name: "commerce", url: "http://127.0.0.1:9/x", timeoutSeconds: 0.2, maxAttempts: 2, ackMode: .async)
        try await TestApp.run(kind, configure: { $0.engine.channels = [channel] }) { app in
            #expect(try await app.send(.post, "/api/orders", json: TestApp.orderBody("RPL-1")).status == .created)
            // Nothing listens on port 9: two refused attempts, and the transmission has failed.
            for _ in 0..<4 {
                try await app.engine.drain()
                app.clock.advance(seconds: 3_600)
            }
            let transmissions = TransmissionRepository(database: app.database)
            let failed = try #require(
                try await transmissions.of(order: OrderID("RPL-1")).first { $0.classification == .failed })
            let form = "action=\"/dashboard/transmissions/\(failed.id)/replay\""

            _ = try await app.token(for: ["management"], username: "viewer")
            let manager = try await app.browserSignIn("viewer", password: "password-of-viewer")
            #expect(
                !(try await app.browse(.get, "/dashboard/trace?q=RPL-1", session: manager).text.contains(form)),
                "no replay without dead-letter rights")
            #expect(
                try await app.browse(.post, "/dashboard/transmissions/\(failed.id)/replay", session: manager).status
                    == .forbidden)

            let session = try await app.browserSignIn("admin", password: TestApp.adminPassword)
            #expect(try await app.browse(.get, "/dashboard/trace?q=RPL-1", session: session).text.contains(form))
            let replayed = try await app.browse(.post, "/dashboard/transmissions/\(failed.id)/replay", session: session)
            #expect(replayed.status == .seeOther && replayed.headers[.location]?.contains("queued") == true)
            #expect(
                try await transmissions.of(order: OrderID("RPL-1")).first { $0.id == failed.id }?.classification
                    != .failed)
            #expect(try await app.auditCount("deadletter.replay") == 1)
            #expect(!(try await app.browse(.get, "/dashboard/trace?q=RPL-1", session: session).text.contains(form)))
            let twice = try await app.browse(.post, "/dashboard/transmissions/\(failed.id)/replay", session: session)
            #expect(twice.status == .conflict && twice.text.contains("no open dead letter"))
            #expect(try await app.auditCount("deadletter.replay") == 1)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func theTraceFindsAnOrderHoweverItsIDIsWritten(kind: Database.Kind) async throws {
        try await TestApp.run(kind) { app in
            for id in ["ORD-20261122-0042", "ORD-20261122-0420", "X-77", "DASH-78EC25-1", "DASH-78EC25-2"] {
                #expect(try await app.send(.post, "/api/orders", json: TestApp.orderBody(id)).status == .created)
            }
            let session = try await app.browserSignIn("admin", password: TestApp.adminPassword)
            func trace(_ q: String) async throws -> TestResponse {
                try await app.browse(.get, "/dashboard/trace?q=" + q.formEncoded, session: session)
            }
            let exact = try await trace("ORD-20261122-0042")
            #expect(exact.text.contains("id=\"trace\"") && exact.text.contains("ORD-20261122-0042"))
            #expect(exact.text.contains("Status history") && exact.text.contains("order.created"))
            let otherSpelling = try await trace("ord 20261122 42")
            #expect(otherSpelling.text.contains("id=\"trace\"") && otherSpelling.text.contains("<h2>ORD-20261122-0042"))
            // Letters and digits mixed, sent the way a browser's GET form writes spaces ('+').
            let mixed = try await app.browse(.get, "/dashboard/trace?q=dash+78ec25+1", session: session)
            #expect(mixed.text.contains("id=\"trace\"") && mixed.text.contains("<h2>DASH-78EC25-1"))
            let partial = try await trace("20261122")
            #expect(partial.text.contains("2 orders match") && partial.text.contains("ORD-20261122-0420"))
            let none = try await trace("NOPE-1")
            #expect(none.text.contains("id=\"trace-none\""))
            #expect(try await trace(String(repeating: "9", count: 65)).status == .badRequest)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func theStoreBoardIsScopedAndItsActionsAreTheAPIs(kind: Database.Kind) async throws {
        try await TestApp.run(kind) { app in
            for (id, store) in [("B-1", "QC-T-001"), ("B-2", "QC-T-001"), ("B-3", "QC-T-002")] {
                #expect(
                    try await app.send(.post, "/api/orders", json: TestApp.orderBody(id, store: store)).status
                        == .created)
            }
            _ = try await app.token(for: ["store_manager"], username: "sm-one", store: "QC-T-001")
            let session = try await app.browserSignIn("sm-one", password: "password-of-sm-one")
            let board = try await app.browse(.get, "/dashboard/store", session: session)
            #expect(board.text.contains(">B-1<") && board.text.contains(">B-2<") && !board.text.contains(">B-3<"))
            #expect(board.text.contains("data-count=\"new\">2<"))
            #expect(
                try await app.browse(.get, "/dashboard/orders/B-3", session: session).status == .notFound,
                "another store's order does not exist for them")
            let detail = try await app.browse(.get, "/dashboard/orders/B-1", session: session)
            #expect(detail.text.contains("Cancel order") && detail.text.contains("COFFEE"))

            // A refused action changes nothing; an accepted one is the API's cancel, audited.
            let noReason = try await app.browse(
                .post, "/dashboard/orders/B-1/cancel", session: session, form: ["reason": ""])
            #expect(noReason.status == .unprocessableContent)
            #expect(try await app.auditCount("order.cancel") == 0)
            let cancelled = try await app.browse(
                .post, "/dashboard/orders/B-1/cancel", session: session, form: ["reason": "customer called"])
            #expect(
                cancelled.status == .seeOther
                    && cancelled.headers[.location]?.contains("notice=Order%20B-1%20cancelled") == true)
            #expect(try await app.send(.get, "/api/orders/B-1").json["status"] as? Int == 9000)
            #expect(try await app.auditCount("order.cancel") == 1)

            // Bulk: each order on its own; the one already cancelled is reported, the other goes.
            let bulk = try await app.browse(
                .post, "/dashboard/orders/bulk-cancel", session: session,
                formPairs: [("orderId", "B-1"), ("orderId", "B-2"), ("reason", "store closing early")])
            #expect(bulk.status == .seeOther)
            let notice = bulk.headers[.location]?.removingPercentEncoding ?? ""
            #expect(notice.contains("1 cancelled") && notice.contains("not cancelled: B-1"))
            #expect(try await app.send(.get, "/api/orders/B-2").json["status"] as? Int == 9000)
            let foreign = try await app.browse(
                .post, "/dashboard/orders/bulk-cancel", session: session,
                formPairs: [("orderId", "B-3"), ("reason", "not mine")])
            #expect(foreign.headers[.location]?.removingPercentEncoding?.contains("0 cancelled") == true)
            #expect(try await app.send(.get, "/api/orders/B-3").json["status"] as? Int == 1000)

            // A fulfilment step is the fulfilment API's: recorded on a released order, refused when unknown.
            #expect(
                try await app.send(.post, "/api/orders", json: TestApp.orderBody("B-4", store: "QC-T-001")).status
                    == .created)
            try await app.engine.drain()
            #expect(try await app.send(.get, "/api/orders/B-4").json["status"] as? Int == OrderStatus.released.rawValue)
            let picked = try await app.browse(
                .post, "/dashboard/orders/B-4/fulfilment", session: session, form: ["step": "picked"])
            #expect(
                picked.status == .seeOther
                    && picked.headers[.location]?.removingPercentEncoding?.contains("Recorded picked for B-4") == true)
            #expect(try await app.send(.get, "/api/orders/B-4").json["status"] as? Int == OrderStatus.picked.rawValue)
            #expect(
                try await app.browse(
                    .post, "/dashboard/orders/B-4/fulfilment", session: session, form: ["step": "teleported"]
                ).status == .badRequest)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func managementFiguresAreThoseOfTheOrders(kind: Database.Kind) async throws {
        try await TestApp.run(kind) { app in
            for id in ["M-1", "M-2", "M-3"] {
                #expect(try await app.send(.post, "/api/orders", json: TestApp.orderBody(id)).status == .created)
            }
            #expect(try await app.send(.post, "/api/orders/M-3/cancel", json: ["reason": "test"]).status == .ok)
            let session = try await app.browserSignIn("admin", password: TestApp.adminPassword)
            let page = try await app.browse(.get, "/dashboard/management?days=7", session: session)
            #expect(page.status == .ok)
            #expect(page.text.contains("id=\"kpi-orders\">3<"))
            // Two live orders of 2 coffees and 6 waters each: the cancelled one does not count.
            #expect(
                page.text.contains("class=\"value\">12</span>") && page.text.contains("class=\"value\">4</span>"),
                "top items by units")
            #expect(page.text.contains("/api/v1/exports/orders.csv?minutes=10080"))
            // The three came in within the hour: one bar of three in the hourly and daily trends.
            #expect(page.text.components(separatedBy: "max 3 per bar").count == 3, "trends per hour and per day")
            #expect(try await app.browse(.get, "/dashboard/management?days=3", session: session).status == .badRequest)
        }
    }
}

/// A signed-in browser: its cookies, as the server set them.
struct BrowserSession {
    var access: String
    var refresh: String
    var landing: String?

    init?(_ response: TestResponse) {
        var values: [String: String] = [:]
        for header in response.headers[values: .setCookie] {
            let pair = header.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
            if pair.count == 2 { values[String(pair[0])] = String(pair[1]) }
        }
        guard let access = values["orderflow_session"], let refresh = values["orderflow_refresh"] else { return nil }
        self.access = access
        self.refresh = refresh
        landing = response.headers[.location]
    }

    func headers(origin: String?) -> HTTPFields {
        var fields: HTTPFields = [
            .cookie: "orderflow_session=\(access); orderflow_refresh=\(refresh)", HTTPField.Name("Host")!: "localhost",
        ]
        if let origin { fields[.origin] = origin }
        return fields
    }
}

extension TestApp {
    func submit(_ path: String, _ form: [String: String], headers: HTTPFields = [:]) async throws -> TestResponse {
        try await submit(path, pairs: form.map { ($0.key, $0.value) }, headers: headers)
    }

    func submit(_ path: String, pairs: [(String, String)], headers: HTTPFields = [:]) async throws -> TestResponse {
        var headers = headers
        headers[.contentType] = "application/x-www-form-urlencoded"
        let body = pairs.map { "\($0.0.formEncoded)=\($0.1.formEncoded)" }.joined(separator: "&")
        return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    func browserSignIn(_ username: String, password: String) async throws -> BrowserSession {
        let response = try await submit("/login", ["username": username, "password": password])
        guard response.status == .seeOther, let session = BrowserSession(response) else {
            throw TestFailure(message: "signing \(username) in: \(response.status) \(response.text.prefix(300))")
        }
        return session
    }

    /// A page or action as the browser would ask for it: cookies, and for forms the page's origin.
    func browse(
        _ method: HTTPRequest.Method, _ path: String, session: BrowserSession, fragment: Bool = false,
        form: [String: String]? = nil, formPairs: [(String, String)]? = nil
    ) async throws -> TestResponse {
        var headers = session.headers(origin: method == .get ? nil : "http://localhost")
        if fragment { headers[HTTPField.Name("X-Fragment")!] = "1" }
        if let pairs = formPairs ?? form.map({ $0.map { ($0.key, $0.value) } }) {
            return try await submit(path, pairs: pairs, headers: headers)
        }
        return try await client.execute(uri: path, method: method, headers: headers)
    }
}

extension TestResponse {
    /// The labels of the page's navigation links.
    var navigation: [String] {
        guard let nav = text.range(of: "<nav aria-label=\"Views\">"),
            let end = text[nav.upperBound...].range(of: "</nav>")
        else { return [] }
        let links = text[nav.upperBound..<end.lowerBound]
        return links.components(separatedBy: "</a>").compactMap { $0.split(separator: ">").last.map(String.init) }
            .filter { !$0.isEmpty }
    }

    var pendingCount: Int? {
        guard let range = text.range(of: "id=\"count-pending\">") else { return nil }
        return Int(text[range.upperBound...].prefix { $0.isNumber })
    }
}

extension String {
    var formEncoded: String {
        addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? self
    }
}
