import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics

/// Assigns the request ID, logs each request once, and turns every error into the API's JSON
/// error shape. Outermost, so nothing escapes it.
struct RequestIDAndErrorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
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
                context.logger.error("unexpected error", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
                response = APIError(.internalServerError, code: "internal_error", message: "unexpected error; quote the request ID when reporting it")
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

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let route = context.endpointPath ?? "unmatched"
        metrics.recordRequest(method: request.method.rawValue, route: route, status: response.status.code, duration: ContinuousClock.now - start)
        return response
    }
}

/// Refuses bodies over the limit before any handler reads them: by `Content-Length` at once,
/// and by counting for chunked bodies.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let maxBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post || request.method == .put || request.method == .patch else {
            return try await next(request, context)
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBytes {
            throw APIError(.contentTooLarge, code: "payload_too_large", message: "request body exceeds \(maxBytes) bytes")
        }
        var request = request
        do {
            _ = try await request.collectBody(upTo: maxBytes)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, code: "payload_too_large", message: "request body exceeds \(maxBytes) bytes")
        }
        return try await next(request, context)
    }
}

/// Decides who is calling, for every `/api` route: the one authentication slot of the pipeline.
public protocol RequestAuthenticator: Sendable {
    /// Returns the caller, nil for "nobody recognised", or throws an `APIError` (401/403) to refuse.
    func authenticate(_ request: Request, context: AppRequestContext) async throws -> Principal?
}

/// Runs the configured authenticator, then makes the context available to OpenAPI handlers.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let authenticator: any RequestAuthenticator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.principal = try await authenticator.authenticate(request, context: context)
        return try await RequestScope.$context.withValue(context) {
            try await next(request, context)
        }
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-ID")!
    static let idempotencyReplayed = HTTPField.Name("Idempotent-Replayed")!
}
