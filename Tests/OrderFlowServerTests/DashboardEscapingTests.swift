import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import OrderFlowDomain
import OrderFlowPersistence
import OrderFlowServer
import OrderFlowTestSupport
import Testing

/// What callers and downstream systems wrote, on every page and fragment that shows it: always the
/// text, escaped, never markup — a customer name, an address, a cancel reason, an acknowledgement's
/// references, a downstream's refusal, and the order JSON a dead letter keeps.
@Suite("Dashboard escaping", .databaseSlots)
struct DashboardEscapingTests {
    /// A script, closed, then the two characters that end an attribute or start an entity; `what`
    /// tells which field it came in.
    static func hostile(_ what: String) -> String { #"<script>alert("\#(what)")</script>&'"# }

    static func escaped(_ what: String) -> String {
        "&lt;script&gt;alert(&quot;\(what)&quot;)&lt;/script&gt;&amp;&#39;"
    }

    /// The same inside the JSON of a dead letter's payload (quotes escaped there first).
    static func escapedInJSON(_ what: String) -> String { "&lt;script&gt;alert(\\&quot;\(what)\\&quot;)&lt;" }

    @Test(arguments: TestDatabase.kinds)
    func everyPageShowsWhatOthersWroteAsText(kind: Database.Kind) async throws {
        // A downstream that refuses every event, saying why in words of its own.
        let router = Router()
        router.post("/events") { _, _ in
            Response(
                status: .unprocessableContent, body: .init(byteBuffer: ByteBuffer(string: Self.hostile("downstream"))))
        }
        let downstream = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await downstream.test(.live) { client in
            let url = "http://127.0.0.1:\(try #require(client.port))/events"
            let channel = ChannelSettings(name: "commerce", url: url, timeoutSeconds: 2, ackMode: .async)
            try await TestApp.run(kind, configure: { $0.engine.channels = [channel] }) { app in
                try await Self.seed(app)
                let session = try await app.browserSignIn("admin", password: TestApp.adminPassword)
                let pages: [(path: String, shows: [String])] = [
                    ("/dashboard/store", ["name"]),
                    ("/dashboard/store?fragment=board", ["name"]),
                    ("/dashboard/store?q=\(Self.hostile("search").formEncoded)", ["search"]),
                    ("/dashboard/orders/XSS-1", ["name", "address"]),
                    ("/dashboard/orders/XSS-1?fragment=order", ["name", "address"]),
                    ("/dashboard/orders/XSS-2", ["name", "address", "reason"]),
                    ("/dashboard/trace?q=XSS-1", ["name", "downstream", "reference"]),
                    ("/dashboard/trace?q=XSS-1&fragment=timeline", ["name", "downstream", "reference"]),
                    ("/dashboard/trace?q=XSS-2", ["name", "reason"]),
                    ("/dashboard/trace?q=\(Self.hostile("query").formEncoded)", ["query"]),
                    ("/dashboard/operations", ["downstream"]),
                    ("/dashboard/operations?fragment=transmissions", ["downstream"]),
                    ("/dashboard/development", ["downstream", "unmatched-reference", "order-reference"]),
                    ("/dashboard/development?fragment=failures", ["downstream"]),
                    ("/dashboard/development?fragment=dead-letters", ["downstream"]),
                    ("/dashboard/development?fragment=unmatched", ["unmatched-reference", "order-reference"]),
                ]
                for page in pages {
                    let fragment = page.path.contains("fragment=")
                    let response = try await app.browse(.get, page.path, session: session, fragment: fragment)
                    #expect(response.status == .ok, "\(page.path)")
                    #expect(!response.text.contains("<script>alert"), "\(page.path) shows what someone wrote as markup")
                    for what in page.shows {
                        #expect(response.text.contains(Self.escaped(what)), "\(page.path) shows the \(what) as text")
                    }
                }
                // A dead letter keeps the event as it was sent: JSON, with the customer's name in it.
                let letters = try await app.browse(
                    .get, "/dashboard/development?fragment=dead-letters", session: session, fragment: true)
                #expect(letters.text.contains(Self.escapedInJSON("name")))
            }
        }
    }

    /// Two orders of a customer with a hostile name and address, one cancelled with a hostile reason,
    /// every event refused downstream (a dead letter each), and two acknowledgements with hostile
    /// references: one for XSS-1, one for an order nobody knows.
    static func seed(_ app: TestApp) async throws {
        var order = TestApp.orderBody("XSS-1")
        order["customer"] = ["id": "CUST-X", "name": hostile("name"), "phone": "+66 81 234 5678"]
        order["deliveryAddress"] = [
            "line1": hostile("address"), "city": "Bangkok", "postalCode": "10110", "country": "TH",
        ]
        #expect(try await app.send(.post, "/api/orders", json: order).status == .created)
        order["orderId"] = "XSS-2"
        #expect(try await app.send(.post, "/api/orders", json: order).status == .created)
        let cancel = try await app.send(.post, "/api/orders/XSS-2/cancel", json: ["reason": hostile("reason")])
        #expect(cancel.status == .ok)
        try await app.engine.drain()
        let acknowledgements = try await app.send(
            .post, "/api/v1/acks",
            json: [
                "acknowledgements": [
                    [
                        "channel": "commerce", "reference": hostile("reference"), "status": "accepted",
                        "orderId": "XSS-1",
                    ],
                    [
                        "channel": "commerce", "reference": hostile("unmatched-reference"), "status": "accepted",
                        "orderId": hostile("order-reference"),
                    ],
                ]
            ])
        #expect(acknowledgements.status == .ok, "\(acknowledgements.text)")
    }
}
