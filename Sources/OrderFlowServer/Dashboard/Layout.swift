import Foundation
import HTTPTypes
import OrderFlowDomain

/// The views of the dashboard, who may open each, and the page shell around them.
enum DashboardView: String, CaseIterable, Sendable {
    case operations, store, trace, development, management, invoices

    var path: String { "/dashboard/\(rawValue)" }

    var title: String {
        switch self {
        case .operations: "Operations"
        case .store: "Store"
        case .trace: "Order trace"
        case .development: "Development"
        case .management: "Management"
        case .invoices: "Invoices"
        }
    }

    /// What a principal must hold to open the view: what RoutePolicy declares for its page.
    var permission: Permission {
        guard case .permission(let permission)? = RoutePolicy.requirement(method: "GET", path: path) else {
            preconditionFailure("RoutePolicy declares no permission for GET \(path)")
        }
        return permission
    }

    /// Where each role lands after signing in: its own view, or the first one it may open.
    static func landing(for principal: Principal) -> DashboardView? {
        let preferred: [Role: DashboardView] = [
            .admin: .operations, .operations: .operations, .developer: .development, .management: .management,
            .storeManager: .store, .regionalCoordinator: .store, .customer: .store,
        ]
        for role in principal.roles.sorted() {
            if let view = preferred[role], principal.may(view.permission) { return view }
        }
        return allCases.first { principal.may($0.permission) }
    }
}

enum Layout {
    /// A whole page: navigation limited to what `principal` may open, the live-update status
    /// line, and `body`. `live` is the feed position the page was rendered at: the script
    /// listens from there, so nothing committed after rendering is missed.
    static func page(title: String, current: DashboardView?, principal: Principal, live: String?, body: HTML) -> HTML {
        let links = DashboardView.allCases.filter { principal.may($0.permission) }.map { view -> HTML in
            view == current
                ? "<a href=\"\(view.path)\" aria-current=\"page\">\(view.title)</a>"
                : "<a href=\"\(view.path)\">\(view.title)</a>"
        }
        let scope =
            principal.storeScope.map { " · store \($0.rawValue)" } ?? principal.regionScope.map { " · region \($0)" }
            ?? ""
        return document(
            title: title, script: true, body: live.map { "data-live=\"\($0)\"" } ?? .empty,
            """
            <a class="skip" href="#main">Skip to content</a>
            <header class="top">
            <span class="brand">OrderFlow</span>
            <nav aria-label="Views">\(links)</nav>
            <span class="who">\(principal.name)\(scope)</span>
            <form method="post" action="/logout"><button class="link" type="submit">Sign out</button></form>
            </header>
            <p id="live-status" class="live-status" role="status" aria-live="polite" \
            data-state="connecting">Connecting to live updates…</p>
            <main id="main" tabindex="-1">
            <h1>\(title)</h1>
            \(body)
            </main>
            """)
    }

    static func loginPage(next: String?, message: String?, username: String = "") -> HTML {
        document(
            title: "Sign in", body: "class=\"login\"",
            """
            <main id="main">
            <form class="card login-form" method="post" action="/login">
            <h1>OrderFlow</h1>
            <p>Sign in to see your orders and their way downstream.</p>
            \(message.map { "<p class=\"error\" role=\"alert\">\($0)</p>" as HTML })
            <label for="username">User name</label>
            <input id="username" name="username" autocomplete="username" required autofocus value="\(username)">
            <label for="password">Password</label>
            <input id="password" name="password" type="password" autocomplete="current-password" required>
            <input type="hidden" name="next" value="\(next ?? "")">
            <button type="submit" class="primary">Sign in</button>
            </form>
            </main>
            """)
    }

    static func errorPage(status: HTTPResponse.Status, message: String, fields: [String] = []) -> HTML {
        document(
            title: String(status.code), body: .empty,
            """
            <main id="main" class="card">
            <h1>\(status.code) \(status.reasonPhrase)</h1>
            <p>\(message)</p>
            \(fields.isEmpty ? HTML.empty : "<ul>\(fields.map { "<li>\($0)</li>" as HTML })</ul>")
            <p><a href="/">Back to the dashboard</a></p>
            </main>
            """)
    }

    /// The pages' icon, inline (the content security policy allows `data:` images), so no
    /// browser asks for a /favicon.ico that is not there.
    static let icon =
        "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E"
        + "%3Crect width='32' height='32' rx='6' fill='%231f5fad'/%3E"
        + "%3Ccircle cx='16' cy='16' r='8' fill='none' stroke='white' stroke-width='4'/%3E%3C/svg%3E"

    /// The document around every page: the stylesheet, the script when the page is live, and
    /// `content` in a body with `body`'s attributes.
    private static func document(title: String, script: Bool = false, body attributes: HTML, _ content: HTML) -> HTML {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(title) · OrderFlow</title>
        <link rel="icon" href="\(icon)">
        <link rel="stylesheet" href="/assets/app.css?v=\(Assets.version)">
        \(script ? "<script src=\"/assets/app.js?v=\(Assets.version)\" defer></script>" as HTML : .empty)
        </head>
        <body \(attributes)>
        \(content)
        </body>
        </html>
        """
    }

    /// A live region: the script fetches `fragment` of the current page again when an event of
    /// one of `topics` arrives (only of `types`, when given, such as `invoice.state`) and after a
    /// reconnect, and marks the rows it had not shown before.
    static func live(_ fragment: String, topics: String, types: String? = nil, label: String, _ content: HTML) -> HTML {
        let only: HTML = types.map { " data-types=\"\($0)\"" } ?? .empty
        return
            "<section class=\"live\" data-fragment=\"\(fragment)\" data-topics=\"\(topics)\"\(only) aria-label=\"\(label)\">\(content)</section>"
    }
}
