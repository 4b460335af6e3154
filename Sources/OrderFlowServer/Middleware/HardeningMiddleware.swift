import HTTPTypes
import Hummingbird
import OrderFlowDomain

/// Security headers on every response, CORS for an allow-list of origins, and the client address
/// behind a trusted proxy.
struct HardeningMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let corsOrigins: Set<String>
    let tls: Bool
    let trustForwardedFor: Bool

    static let allowedMethods = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
    static let allowedHeaders = "Authorization, Content-Type, Idempotency-Key, X-Request-ID, x-api-key, Last-Event-ID"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var context = context
        if trustForwardedFor, let forwarded = request.headers[.xForwardedFor] {
            // The proxy appends the address it saw: the last entry is the one we can trust.
            context.clientAddress =
                forwarded.split(separator: ",").last.map { String($0).trimmingSpaces() } ?? context.clientAddress
        }
        let origin = request.headers[.origin]
        let allowedOrigin = origin.flatMap { corsOrigins.contains($0) || corsOrigins.contains("*") ? $0 : nil }
        var response: Response
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            // A CORS preflight: answered here, never by a route.
            response = Response(status: allowedOrigin == nil ? .forbidden : .noContent)
            if allowedOrigin != nil {
                response.headers[.accessControlAllowMethods] = Self.allowedMethods
                response.headers[.accessControlAllowHeaders] = Self.allowedHeaders
                response.headers[.accessControlMaxAge] = "600"
            }
        } else {
            response = try await next(request, context)
        }
        if let allowedOrigin {
            response.headers[.accessControlAllowOrigin] = allowedOrigin
            response.headers[.accessControlExposeHeaders] = "X-Request-ID, Retry-After, Idempotent-Replayed"
            response.headers[.vary] = "Origin"
        }
        response.headers[.contentSecurityPolicy] =
            "default-src 'self'; img-src 'self' data: https:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.xFrameOptions] = "DENY"
        // same-origin: the dashboard's own forms carry a real Origin and Referer (checked before a
        // cookie may change anything); no other site ever learns our URLs.
        response.headers[.referrerPolicy] = "same-origin"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        if tls { response.headers[.strictTransportSecurity] = "max-age=31536000; includeSubDomains" }
        return response
    }
}

extension HTTPField.Name {
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}
