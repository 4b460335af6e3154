import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OrderFlowAPI
import OrderFlowDomain
import OrderFlowEngine
import OrderFlowMonitor

/// On the dashboard's paths, errors become pages a person can act on: not signed in (or the
/// session ended) → the sign-in page, coming back here afterwards; an expired access token with a
/// live refresh token → renewed cookies and the same page again; anything else → an error page
/// with the status and the message the API would give; an unexpected failure → an error page
/// with the request ID to quote (logged here). A fragment request (`X-Fragment`) gets
/// the status only, with `X-Sign-In` when signing in again is the way out, for the page's script.
struct DashboardMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let security: SecurityService
    let secureCookies: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard DashboardSession.isPage(request.uri.path) else { return try await next(request, context) }
        do {
            return try await next(request, context)
        } catch {
            let fragment = request.headers[.fragment] != nil
            guard let apiError = APIError.from(error) else {
                // Logged here, once, as the outermost middleware does for the API; the person gets
                // a page (not a JSON body) with the request ID to quote.
                context.logger.error(
                    "unexpected error",
                    metadata: ["error": "\(ErrorLog.cause(of: error))", "path": "\(request.uri.path)"])
                let message =
                    "Something went wrong on our side. Quote request ID \(context.requestID) when reporting it."
                if fragment { return HTML(unsafe: HTML.escaped(message)).response(.internalServerError) }
                return Layout.errorPage(status: .internalServerError, message: message, fields: []).response(
                    .internalServerError)
            }
            if apiError.status == .unauthorized {
                if request.method == .get, let refresh = DashboardSession.refreshToken(request),
                    let renewed = try? await security.refresh(refresh, origin: context.origin)
                {
                    var response =
                        fragment
                        ? Response(status: .noContent, headers: [.fragmentRetry: "1"])
                        : Response(status: .seeOther, headers: [.location: request.uri.description])
                    for cookie in DashboardSession.cookies(
                        access: renewed.accessToken, accessSeconds: renewed.expiresIn, refresh: renewed.refreshToken,
                        refreshSeconds: Int(security.settings.refreshTokenSeconds), secure: secureCookies)
                    {
                        response.setCookie(cookie)
                    }
                    return response
                }
                // Back to the page after signing in: for a fragment the script asked for, the page it belongs to.
                let query = (request.uri.query ?? "").split(separator: "&").filter {
                    !fragment || !$0.hasPrefix("fragment=")
                }.joined(separator: "&")
                let signIn = "/login?next=" + (request.uri.path + (query.isEmpty ? "" : "?" + query)).formURLEncoded
                var response =
                    fragment
                    ? Response(status: .unauthorized, headers: [.signIn: signIn])
                    : Response(status: .seeOther, headers: [.location: signIn])
                if DashboardSession.accessToken(request) != nil {
                    for cookie in DashboardSession.cleared(secure: secureCookies) { response.setCookie(cookie) }
                }
                return response
            }
            // The error's headers (`Allow` on a 405, `Retry-After` on a 429) hold for a page too.
            if fragment {
                return HTML(unsafe: HTML.escaped(apiError.message)).response(apiError.status, headers: apiError.headers)
            }
            return Layout.errorPage(
                status: apiError.status, message: apiError.message,
                fields: apiError.fields.map { "\($0.field): \($0.message)" }
            )
            .response(apiError.status, headers: apiError.headers)
        }
    }
}

extension HTTPField.Name {
    /// Sent by the dashboard's script when it asks for a fragment of a page.
    static let fragment = HTTPField.Name("X-Fragment")!
    /// Where to sign in again, on a fragment request whose session ended.
    static let signIn = HTTPField.Name("X-Sign-In")!
    /// The session was renewed: ask again.
    static let fragmentRetry = HTTPField.Name("X-Retry")!
}

extension String {
    /// Percent-encoded for a query value.
    var formURLEncoded: String {
        addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~/"))) ?? self
    }
}
