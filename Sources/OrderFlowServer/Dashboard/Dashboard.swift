import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OrderFlowDomain
import OrderFlowRuntime

/// The web dashboard: server-rendered pages over the same services the API's handlers call, kept
/// live by `GET /api/v1/stream` (docs/dashboard.md).
///
/// Every page and action is declared in `RoutePolicy` like an API route, so the security
/// middleware has signed the caller in and checked the view's permission before a handler here
/// runs; the services apply the caller's scope, so a page shows and an action changes exactly
/// what the API would.
struct Dashboard: Sendable {
    let services: AppServices
    let clock: any WallClock
    let secureCookies: Bool

    var security: SecurityService { services.security }

    func register(on router: Router<AppRequestContext>) {
        router.get("/") { request, context in
            guard let principal = context.principal, let view = DashboardView.landing(for: principal) else {
                return Response(status: .seeOther, headers: [.location: "/login"])
            }
            return Response(status: .seeOther, headers: [.location: view.path])
        }
        // Read here, at start-up: a build without its resources stops now, not on someone's first page.
        let css = Assets.css
        let script = Assets.script
        router.get("/assets/app.css") { _, _ in Assets.response(css, type: "text/css; charset=utf-8") }
        router.get("/assets/app.js") { _, _ in Assets.response(script, type: "text/javascript; charset=utf-8") }
        router.get("/login") { request, context in
            if let principal = context.principal, let view = DashboardView.landing(for: principal) {
                let next = Self.safeNext(request.queryForm["next"]) ?? view.path
                return Response(status: .seeOther, headers: [.location: next])
            }
            return Layout.loginPage(next: request.queryForm["next"], message: nil).response()
        }
        router.post("/login") { try await login($0, context: $1) }
        router.post("/logout") { try await logout($0, context: $1) }

        router.get("/dashboard/operations") { try await operations($0, context: $1) }
        router.get("/dashboard/trace") { try await trace($0, context: $1) }
        router.get("/dashboard/store") { try await store($0, context: $1) }
        router.get("/dashboard/orders/{orderId}") { try await orderDetail($0, context: $1) }
        router.post("/dashboard/orders/{orderId}/cancel") { try await cancel($0, context: $1) }
        router.post("/dashboard/orders/{orderId}/fulfilment") { try await fulfilment($0, context: $1) }
        router.post("/dashboard/orders/bulk-cancel") { try await bulkCancel($0, context: $1) }
        router.post("/dashboard/alerts/{alertId}/acknowledge") { try await acknowledgeAlert($0, context: $1) }
        router.post("/dashboard/alerts/{alertId}/resolve") { try await resolveAlert($0, context: $1) }
        router.post("/dashboard/alerts/{alertId}/silence") { try await silenceAlert($0, context: $1) }
        router.post("/dashboard/transmissions/{transmissionId}/replay") {
            try await replayTransmission($0, context: $1)
        }
        router.get("/dashboard/development") { try await development($0, context: $1) }
        router.post("/dashboard/dead-letters/{deadLetterId}/replay") { try await replayDeadLetter($0, context: $1) }
        router.post("/dashboard/dead-letters/{deadLetterId}/discard") { try await discardDeadLetter($0, context: $1) }
        router.post("/dashboard/acks/{ackId}/link") { try await linkAcknowledgement($0, context: $1) }
        router.get("/dashboard/management") { try await management($0, context: $1) }
        router.get("/dashboard/invoices") { try await invoicePage($0, context: $1) }
        router.post("/dashboard/invoices/start") { try await startInvoices($0, context: $1) }
        router.post("/dashboard/invoices/stop") { try await stopInvoices($0, context: $1) }
    }

    // MARK: Signing in and out

    func login(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await Form.read(request, context: context)
        let username = form["username"] ?? ""
        let next = Self.safeNext(form["next"])
        // A form on another site must not sign a browser in (to an account of the other site's
        // choosing, whose pages the person would then fill in).
        guard DashboardSession.isNotCrossSite(request) else {
            let message = "Sign in from OrderFlow's own sign-in page."
            return Layout.loginPage(next: next, message: message, username: "").response(.forbidden)
        }
        guard !username.isEmpty, !(form["password"] ?? "").isEmpty else {
            return Layout.loginPage(next: next, message: "Enter your user name and password.", username: username)
                .response(.badRequest)
        }
        do {
            let signIn = try await security.login(
                username: username, password: form["password"] ?? "", origin: context.origin)
            let principal = signIn.user.principal
            let landing = next ?? DashboardView.landing(for: principal)?.path
            guard let landing else {
                let message = "This account has no dashboard view; it works through the API only."
                return Layout.loginPage(next: nil, message: message, username: username).response(.forbidden)
            }
            var response = Response(status: .seeOther, headers: [.location: landing])
            for cookie in DashboardSession.cookies(
                access: signIn.accessToken, accessSeconds: signIn.expiresIn, refresh: signIn.refreshToken,
                refreshSeconds: Int(security.settings.refreshTokenSeconds), secure: secureCookies)
            {
                response.setCookie(cookie)
            }
            return response
        } catch let error as APIError where error.status == .unauthorized || error.status == .tooManyRequests {
            return Layout.loginPage(next: next, message: error.message, username: username).response(error.status)
        }
    }

    func logout(_ request: Request, context: AppRequestContext) async throws -> Response {
        if let refresh = DashboardSession.refreshToken(request) {
            try? await security.logout(refresh, origin: context.origin)
        }
        var response = Response(status: .seeOther, headers: [.location: "/login"])
        for cookie in DashboardSession.cleared(secure: secureCookies) { response.setCookie(cookie) }
        return response
    }

    /// Only a page of the dashboard: never send a signed-in person to another site. The path must
    /// be one the dashboard shows (`GET` in `RoutePolicy`, a view or an order), and the whole of it
    /// visible ASCII, encoded or not: browsers drop tabs and line breaks, so `/%09/evil.com` would
    /// become `//evil.com`, another host.
    static func safeNext(_ next: String?) -> String? {
        func visible(_ text: String) -> Bool {
            text.unicodeScalars.allSatisfy { (0x21...0x7E).contains($0.value) && $0 != "\\" }
        }
        guard let next, next.utf8.count <= 2_048, visible(next) else { return nil }
        let path = String(next.prefix { $0 != "?" && $0 != "#" })
        guard let decoded = path.removingPercentEncoding, visible(decoded), !decoded.contains("//"),
            path.hasPrefix("/dashboard/"), isPage(path)
        else { return nil }
        return next
    }

    /// A page's path (an order's page by its template).
    private static func isPage(_ path: String) -> Bool {
        if RoutePolicy.requirement(method: "GET", path: path) != nil { return true }
        let order = path.dropFirst("/dashboard/orders/".count)
        return path.hasPrefix("/dashboard/orders/") && !order.isEmpty && !order.contains("/")
    }

    // MARK: Helpers shared by the views

    func principal(_ context: AppRequestContext) throws -> Principal {
        guard let principal = context.principal else { throw Authenticator.unauthorized("sign in first") }
        return principal
    }

    /// The whole page, or only the fragment the page's script asked for.
    func render(
        _ request: Request, title: String, view: DashboardView, principal: Principal,
        sections: [(name: String, render: () async throws -> HTML)], layout: (RenderedSections) -> HTML
    ) async throws -> Response {
        if let wanted = request.queryForm["fragment"] {
            guard let section = sections.first(where: { $0.name == wanted }) else {
                throw APIError.invalid("fragment", rule: "enum", "no fragment '\(wanted)' on this page")
            }
            return try await section.render().response()
        }
        // The feed position first: whatever commits while the page renders is replayed to it.
        let position = services.feed.position
        var rendered: [String: HTML] = [:]
        for section in sections { rendered[section.name] = try await section.render() }
        let body = layout(RenderedSections(parts: rendered))
        return Layout.page(title: title, current: view, principal: principal, live: position, body: body).response()
    }

    /// A form's action: reads the form, runs `change` for the caller — through the services the
    /// API calls, so the checks, errors and audit are the API's — and sends the browser back to
    /// where it came from with the notice `change` returns.
    func act(
        _ request: Request, _ context: AppRequestContext, fallback: String,
        _ change: (Form, Caller) async throws -> String
    ) async throws -> Response {
        let form = try await Form.read(request, context: context)
        let notice = try await change(form, try context.caller)
        return redirectBack(request, fallback: fallback, notice: notice)
    }

    /// After a form: back to where it came from (same origin only), with a notice.
    func redirectBack(_ request: Request, fallback: String, notice: String) -> Response {
        var target = fallback
        if let referer = request.headers[.referer], let url = URL(string: referer), let path = Self.safeNext(url.path) {
            target = path + (url.query.map { "?" + $0 } ?? "")
        }
        var components = URLComponents(string: target) ?? URLComponents()
        var items = (components.queryItems ?? []).filter { $0.name != "notice" && $0.name != "fragment" }
        items.append(URLQueryItem(name: "notice", value: notice))
        components.queryItems = items
        return Response(status: .seeOther, headers: [.location: components.string ?? fallback])
    }

    static func notice(_ request: Request) -> HTML {
        guard let text = request.queryForm["notice"], !text.isEmpty else { return .empty }
        return "<p class=\"notice\" role=\"status\">\(String(text.prefix(200)))</p>"
    }
}

/// The sections of a page, rendered, by name.
struct RenderedSections {
    let parts: [String: HTML]
    subscript(_ name: String) -> HTML { parts[name] ?? .empty }
}

/// A submitted `application/x-www-form-urlencoded` body.
struct Form: Sendable {
    var values: [(String, String)]

    subscript(_ name: String) -> String? {
        values.first { $0.0 == name }?.1
    }

    func all(_ name: String) -> [String] {
        values.filter { $0.0 == name }.map(\.1)
    }

    static func read(_ request: Request, context: AppRequestContext) async throws -> Form {
        var request = request
        let body = try await request.collectBody(upTo: context.maxUploadSize)
        return parse(String(buffer: body))
    }

    static func parse(_ text: String) -> Form {
        Form(
            values: text.split(separator: "&").compactMap { pair in
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                func decode(_ part: Substring) -> String {
                    String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
                }
                guard let name = parts.first.map(decode), !name.isEmpty else { return nil }
                return (name, parts.count > 1 ? decode(parts[1]) : "")
            })
    }
}

extension Request {
    /// The query string read as a submitted form: a `GET` form writes spaces as `+`, which the
    /// router's own query parameters leave as they are.
    var queryForm: Form { Form.parse(uri.query ?? "") }
}
