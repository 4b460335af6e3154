import Foundation
import HTTPTypes
import Hummingbird
import OrderFlowAPI
import OrderFlowDomain
import OrderFlowEngine
import OrderFlowMonitor

/// How a browser stays signed in: the access token of a normal sign-in in an HttpOnly,
/// SameSite=Strict cookie (script on the page cannot read it, other sites cannot send it), and
/// the refresh token beside it so a shift longer than the access token's life is not interrupted.
enum DashboardSession {
    static let accessCookie = "orderflow_session"
    static let refreshCookie = "orderflow_refresh"

    static func accessToken(_ request: Request) -> String? {
        request.cookies[accessCookie]?.value.nonEmpty
    }

    static func refreshToken(_ request: Request) -> String? {
        request.cookies[refreshCookie]?.value.nonEmpty
    }

    static func cookies(access: String, accessSeconds: Int, refresh: String, refreshSeconds: Int, secure: Bool)
        -> [Cookie]
    {
        [
            Cookie(
                name: accessCookie, value: access, maxAge: accessSeconds, path: "/", secure: secure, httpOnly: true,
                sameSite: .strict),
            Cookie(
                name: refreshCookie, value: refresh, maxAge: refreshSeconds, path: "/", secure: secure, httpOnly: true,
                sameSite: .strict),
        ]
    }

    static func cleared(secure: Bool) -> [Cookie] {
        [accessCookie, refreshCookie].map {
            Cookie(name: $0, value: "", maxAge: 0, path: "/", secure: secure, httpOnly: true, sameSite: .strict)
        }
    }

    /// True when the request comes from a page of this server: its `Origin` (or, failing that,
    /// `Referer`) names the host it was sent to. Browsers send `Origin` with every POST, so a
    /// form on another site cannot use the cookie to change anything, even where SameSite is
    /// not enforced.
    static func isSameOrigin(_ request: Request) -> Bool {
        guard let host = request.head.authority ?? request.headers[HTTPField.Name("Host")!] else { return false }
        let source = request.headers[.origin] ?? request.headers[.referer]
        guard let source, let url = URL(string: source), let sourceHost = url.host else { return false }
        let sourcePort = url.port.map { ":\($0)" } ?? ""
        return (sourceHost + sourcePort).lowercased() == host.lowercased()
    }

    /// For signing in, where there is no session to protect yet: a request that says where it
    /// comes from (`Origin`, else `Referer`) must come from here; one that says nothing is a
    /// program, not a browser's form on another site (browsers send `Origin` with every POST).
    static func isNotCrossSite(_ request: Request) -> Bool {
        if request.headers[.origin] == nil && request.headers[.referer] == nil { return true }
        return isSameOrigin(request)
    }

    /// Paths the dashboard serves: errors on them become pages, not JSON.
    static func isPage(_ path: String) -> Bool {
        path == "/" || path == "/login" || path == "/logout" || path.hasPrefix("/dashboard")
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
