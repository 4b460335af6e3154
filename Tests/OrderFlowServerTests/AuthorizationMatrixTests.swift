import Foundation
import HTTPTypes
import HummingbirdTesting
import OrderFlowDomain
import OrderFlowServer
import OrderFlowTestSupport
import Testing

/// Every route of the API document (and the few outside it) against every role, from the one
/// permission table: a route added without a declared permission fails here.
@Suite("Authorization matrix", .databaseSlots)
struct AuthorizationMatrixTests {
    /// (method, path) of every operation in openapi.yaml, read straight from the file.
    static let documentedRoutes: [(method: String, path: String)] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("Sources/OrderFlowAPI/openapi.yaml")
        let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        var routes: [(String, String)] = []
        var inPaths = false
        var path = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" {
                inPaths = true
                continue
            }
            if inPaths && !line.hasPrefix(" ") && !line.isEmpty { inPaths = false }
            guard inPaths else { continue }
            if line.hasPrefix("  /") && line.hasSuffix(":") { path = String(line.dropFirst(2).dropLast()) }
            for method in ["get", "post", "put", "patch", "delete"] where line == "    \(method):" {
                routes.append((method.uppercased(), path))
            }
        }
        return routes
    }()

    static let otherRoutes: [(method: String, path: String)] =
        [("GET", "/metrics"), ("GET", "/openapi.yaml")] + dashboardRoutes

    /// The dashboard's pages and actions (outside the API document).
    static let dashboardRoutes: [(method: String, path: String)] = [
        ("GET", "/"), ("GET", "/login"), ("POST", "/login"), ("POST", "/logout"), ("GET", "/assets/app.css"),
        ("GET", "/assets/app.js"),
        ("GET", "/dashboard/operations"), ("GET", "/dashboard/trace"), ("GET", "/dashboard/management"),
        ("GET", "/dashboard/development"),
        ("GET", "/dashboard/store"), ("GET", "/dashboard/orders/{orderId}"),
        ("POST", "/dashboard/orders/{orderId}/cancel"),
        ("POST", "/dashboard/orders/bulk-cancel"), ("POST", "/dashboard/orders/{orderId}/fulfilment"),
        ("POST", "/dashboard/alerts/{alertId}/acknowledge"), ("POST", "/dashboard/alerts/{alertId}/resolve"),
        ("POST", "/dashboard/alerts/{alertId}/silence"),
        ("POST", "/dashboard/transmissions/{transmissionId}/replay"),
        ("POST", "/dashboard/dead-letters/{deadLetterId}/replay"),
        ("POST", "/dashboard/dead-letters/{deadLetterId}/discard"), ("POST", "/dashboard/acks/{ackId}/link"),
        ("GET", "/dashboard/invoices"), ("POST", "/dashboard/invoices/start"), ("POST", "/dashboard/invoices/stop"),
    ]

    @Test func everyRouteDeclaresItsRequirementAndNothingElseIsDeclared() {
        #expect(Self.documentedRoutes.count >= 29)
        let all = (Self.documentedRoutes + Self.otherRoutes).map { "\($0.method) \($0.path)" }
        for route in all {
            #expect(RoutePolicy.routes[route] != nil, "\(route) declares no permission")
        }
        #expect(Set(RoutePolicy.routes.keys) == Set(all), "the table lists routes that do not exist")
    }

    @Test func everyRoleAgainstEveryRoute() async throws {
        try await TestApp.run { app in
            var tokens: [Role: String] = [:]
            for role in Role.allCases {
                tokens[role] = try await app.token(
                    for: [role.rawValue], store: role == .storeManager ? "QC-T-001" : nil,
                    region: role == .regionalCoordinator ? "BKK" : nil, customer: role == .customer ? "C-14" : nil)
            }
            for (method, path) in Self.documentedRoutes + Self.otherRoutes {
                let requirement = try #require(RoutePolicy.requirement(method: method, path: path))
                let uri =
                    path.replacingOccurrences(of: "{orderId}", with: "NOPE-1").replacingOccurrences(
                        of: "{lineNumber}", with: "1"
                    )
                    .replacingOccurrences(of: "{sku}", with: "NOPE").replacingOccurrences(
                        of: "{locationId}", with: "NOPE"
                    )
                    .replacingOccurrences(of: "{userId}", with: "nope").replacingOccurrences(
                        of: "{keyId}", with: "nope"
                    )
                    .replacingOccurrences(of: "{alertId}", with: "999").replacingOccurrences(
                        of: "{transmissionId}", with: "999"
                    )
                    .replacingOccurrences(of: "{deadLetterId}", with: "999").replacingOccurrences(
                        of: "{ackId}", with: "999")
                    // The stream would stay open: an unknown topic makes an allowed caller's answer a quick 400.
                    + (path == "/api/v1/stream" ? "?topics=none" : "")
                let body: Any? = ["POST", "PUT", "PATCH"].contains(method) ? [String: Any]() : nil
                let httpMethod = HTTPRequest.Method(method)!

                // A page answers people: no credentials → the sign-in page; refused → a 403 page.
                let page = path == "/" || path.hasPrefix("/dashboard") || path == "/login" || path == "/logout"
                let anonymous = try await app.send(httpMethod, uri, json: body, token: nil)
                switch requirement {
                case .publicRoute:
                    #expect(
                        anonymous.status != .unauthorized && anonymous.status != .forbidden,
                        "\(method) \(path) is public")
                case .permission where page:
                    #expect(
                        anonymous.status == .seeOther
                            && anonymous.headers[.location]?.hasPrefix("/login?next=") == true,
                        "\(method) \(path) without credentials: \(anonymous.status)")
                case .permission:
                    #expect(
                        anonymous.status == .unauthorized, "\(method) \(path) without credentials: \(anonymous.status)")
                }
                for role in Role.allCases {
                    let response = try await app.send(httpMethod, uri, json: body, token: tokens[role])
                    let denied =
                        response.status == .forbidden
                        && (page
                            ? response.text.contains("which your roles do not grant")
                            : response.error["code"] as? String == "forbidden")
                    switch requirement {
                    case .publicRoute:
                        #expect(!denied && response.status != .unauthorized, "\(role) on public \(method) \(path)")
                    case .permission(let permission):
                        let allowed = role.permissions.contains(permission)
                        #expect(
                            denied == !allowed,
                            "\(role) on \(method) \(path) (\(permission.rawValue)): \(response.status) \(response.text)"
                        )
                        #expect(response.status != .unauthorized, "\(role) on \(method) \(path)")
                    }
                }
            }
        }
    }
}

@Suite("docs/security.md", .databaseSlots)
struct SecurityDocumentTests {
    @Test func thePermissionTableInTheDocsIsTheOneInForce() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("docs/security.md")
        let text = try String(contentsOf: url, encoding: .utf8)
        let begin = try #require(text.range(of: "<!-- permissions:begin -->\n"))
        let end = try #require(text.range(of: "<!-- permissions:end -->"))
        #expect(
            String(text[begin.upperBound..<end.lowerBound]) == RoutePolicy.markdown(),
            "regenerate with: orderflow permissions")
    }
}
