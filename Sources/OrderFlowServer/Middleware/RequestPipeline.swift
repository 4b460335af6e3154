import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import OrderFlowDomain
import OrderFlowRuntime

/// Assigns the request ID, logs each request once, and turns every error into the API's JSON
/// error shape. Outermost, so nothing escapes it.
struct RequestIDAndErrorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var context = context
        if let incoming = RequestID.accept(request.headers[.requestID]) { context.requestID = incoming }
        context.logger[metadataKey: "request_id"] = .string(context.requestID)
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            if let apiError = APIError.from(error) {
                response = apiError.response(requestID: context.requestID)
            } else {
                // Logged once here with the request ID; the caller learns nothing of internals.
                context.logger.error(
                    "unexpected error",
                    metadata: ["error": "\(ErrorLog.cause(of: error))", "path": "\(request.uri.path)"])
                response = APIError(
                    .internalServerError, code: "internal_error",
                    message: "unexpected error; quote the request ID when reporting it"
                )
                .response(requestID: context.requestID)
            }
        }
        response.headers[.requestID] = context.requestID
        return response
    }
}

/// Counts and times requests by route template, method and status.
struct HTTPMetricsMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let metrics: AppMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let route = context.endpointPath ?? "unmatched"
        metrics.recordRequest(
            method: request.method.rawValue, route: route, status: response.status.code,
            duration: ContinuousClock.now - start)
        return response
    }
}

/// Refuses bodies over the limit before any handler reads them: by `Content-Length` at once,
/// and by counting for chunked bodies.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let maxBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard request.method == .post || request.method == .put || request.method == .patch else {
            return try await next(request, context)
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBytes {
            throw APIError(
                .contentTooLarge, code: "payload_too_large", message: "request body exceeds \(maxBytes) bytes")
        }
        var request = request
        do {
            _ = try await request.collectBody(upTo: maxBytes)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError(
                .contentTooLarge, code: "payload_too_large", message: "request body exceeds \(maxBytes) bytes")
        }
        return try await next(request, context)
    }
}

/// Refuses `null` anywhere in an API request's JSON body (400, rule `required`). No request of
/// the API document takes one, but the generated decoder reads `null` as a field left out, so
/// without this a client breaking the document would be answered as if it had kept to it.
/// Innermost: the body is already collected (`BodyLimitMiddleware`) and the caller known.
struct NullFieldMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let maxBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard request.method == .post || request.method == .put || request.method == .patch,
            request.uri.path.hasPrefix("/api/"), request.headers[.contentType]?.contains("json") ?? false
        else {
            return try await next(request, context)
        }
        var request = request
        let body = try await request.collectBody(upTo: maxBytes)
        if Self.containsNull(body.readableBytesView),
            let json = try? JSONSerialization.jsonObject(
                with: Data(body.readableBytesView), options: [.fragmentsAllowed]),
            let path = Self.firstNull(in: json, at: "")
        {
            throw APIError.invalid(
                path.isEmpty ? "body" : path, rule: "required", "must not be null; leave the field out")
        }
        return try await next(request, context)
    }

    /// Whether the literal `null` appears outside strings; one pass, no parsing.
    static func containsNull(_ bytes: some Sequence<UInt8>) -> Bool {
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if byte == UInt8(ascii: "n") {
                return true
            }
        }
        return false
    }

    /// The JSON path of the first `null` (keys in order), e.g. `lines[0].unitPrice`.
    static func firstNull(in value: Any, at path: String) -> String? {
        switch value {
        case is NSNull:
            return path
        case let object as [String: Any]:
            for key in object.keys.sorted() {
                if let found = firstNull(in: object[key]!, at: path.isEmpty ? key : "\(path).\(key)") { return found }
            }
            return nil
        case let array as [Any]:
            for (index, element) in array.enumerated() {
                if let found = firstNull(in: element, at: "\(path)[\(index)]") { return found }
            }
            return nil
        default:
            return nil
        }
    }
}

/// Decides who is calling: the one authentication slot of the request pipeline.
public protocol RequestAuthenticator: Sendable {
    /// Returns the caller, nil when the request carries no credentials, or throws an `APIError`
    /// (401) when it carries bad ones.
    func authenticate(_ request: Request, context: AppRequestContext) async throws -> Principal?
}

/// Authentication, authorization and rate limiting for every route, in that order:
/// 1. the authenticator names the caller (or refuses bad credentials: 401);
/// 2. the route's requirement from `RoutePolicy` is checked: public, or a permission the caller
///    must hold (401 without credentials, 403 without the permission); a route missing from the
///    table is refused;
/// 3. the caller's token bucket (per principal at its own or its roles' limit, or per client
///    address when anonymous) is charged: 429 with `Retry-After` when empty. Acknowledgements
///    and carrier events have a bucket of their own per principal and wait up to
///    `queueSeconds` for a token before a 429, which the deadline sweep is told of.
/// The context, with its principal, is then made available to OpenAPI handlers. A method the path
/// does not have is 405 with `Allow` naming the ones it has (RFC 9110, 15.5.6); an unknown path 404.
struct SecurityMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let authenticator: any RequestAuthenticator
    let perPrincipal: RateLimiter
    let perAddress: RateLimiter
    let policy: RateLimitPolicy
    let throttle: CallbackThrottle
    let metrics: AppMetrics
    /// Queued callbacks wait on it (injected, so tests control the wait).
    let clock: any SleepingClock
    let logger: Logger
    /// The demo lets anyone who may create orders seed demonstration orders.
    var demoSeeding = false

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var context = context
        let addressKey = "address:\(context.clientAddress ?? "unknown")"
        // No route has this method and path: answered like a public route (throttled by address),
        // then 404, or 405 when the path has other methods.
        let path = context.endpointPath ?? "NotFound"
        let route = "\(request.method.rawValue) \(path)"
        let requirement =
            path == "NotFound" ? .publicRoute : RoutePolicy.requirement(method: request.method.rawValue, path: path)
        switch requirement {
        case .publicRoute:
            // Public routes answer whatever credentials come along; stale ones do not matter here.
            context.principal = try? await authenticator.authenticate(request, context: context)
        case .permission(let permission):
            do {
                context.principal = try await authenticator.authenticate(request, context: context)
            } catch {
                // Bad credentials still cost the address a token: guessing is throttled too.
                try limit(perAddress, addressKey, route: route)
                throw error
            }
            guard let principal = context.principal else {
                try limit(perAddress, addressKey, route: route)
                throw Authenticator.unauthorized("this route needs a token (POST /api/auth/login) or an API key")
            }
            let demoSeed = demoSeeding && permission == .mockSeed && principal.may(.ordersCreate)
            guard principal.may(permission) || demoSeed else {
                throw APIError(
                    .forbidden, code: "forbidden",
                    message: "this needs the permission \(permission.rawValue), which your roles do not grant")
            }
        case nil:
            logger.error(
                "route without a declared permission refused", metadata: ["route": "\(request.method) \(path)"])
            throw APIError(.forbidden, code: "forbidden", message: "this route declares no permission")
        }
        if let principal = context.principal {
            try await limit(principal, route: route)
            let authenticator = authenticator
            let checked = context
            context.signedIn = { try? await authenticator.authenticate(request, context: checked) }
        } else {
            try limit(perAddress, addressKey, route: route)
        }
        if path == "NotFound" {
            let methods = RoutePolicy.methods(at: request.uri.path)
            if !methods.isEmpty {
                throw APIError(
                    .methodNotAllowed, code: "method_not_allowed",
                    message:
                        "\(request.method.rawValue) is not a method of this path; it has \(methods.joined(separator: ", "))",
                    headers: [.allow: methods.joined(separator: ", ")])
            }
        }
        return try await RequestScope.$context.withValue(context) {
            try await next(request, context)
        }
    }

    private func limit(_ limiter: RateLimiter, _ key: String, route: String) throws {
        if let wait = limiter.take(key) {
            metrics.rateLimited(principalKind: "anonymous", route: route)
            throw Self.refusal(after: wait)
        }
    }

    private func limit(_ principal: Principal, route: String) async throws {
        guard let (limit, _) = policy.limit(for: principal) else { return }
        let callback = RoutePolicy.callbacks.contains(route)
        let decision = perPrincipal.take(
            callback ? "callbacks:\(principal.id)" : "principal:\(principal.id)", limit: limit,
            queueing: callback ? policy.queueSeconds : 0)
        switch decision {
        case .allowed(let wait):
            if wait > 0 { try await clock.sleep(until: clock.now().adding(seconds: wait)) }
        case .refused(let wait):
            metrics.rateLimited(principalKind: principal.kind.rawValue, route: route)
            if callback {
                throttle.refused(at: clock.now(), retryAfter: wait.rounded(.up))
                logger.warning(
                    "a downstream system's report was refused: over its rate limit",
                    metadata: [
                        "route": "\(route)", "caller": "\(principal.name)",
                        "limit": "\(limit.requestsPerSecond)/s", "retry_after_s": "\(Int(wait.rounded(.up)))",
                    ])
            }
            throw Self.refusal(after: wait)
        }
    }

    private static func refusal(after wait: Double) -> APIError {
        let seconds = max(1, Int(wait.rounded(.up)))
        return APIError(
            .tooManyRequests, code: "rate_limited", message: "too many requests; retry in \(seconds) s",
            headers: [.retryAfter: String(seconds)])
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-ID")!
    static let idempotencyReplayed = HTTPField.Name("Idempotent-Replayed")!
}
