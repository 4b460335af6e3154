import Foundation
import HTTPTypes
import Hummingbird
import OpenAPIRuntime
import OrderFlowDomain

/// A date-time in a request that the API cannot read, or could not write back: responses are in
/// UTC with four digits for the year.
struct InvalidDateTime: Error {
    var text: String
    var rule: String
    var problem: String
}

/// An error as the API reports it: one JSON shape for every route (STYLE.md rule 11).
public struct APIError: Error, Sendable, Equatable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var fields: [FieldError]
    public var headers: HTTPFields

    public init(
        _ status: HTTPResponse.Status, code: String, message: String, fields: [FieldError] = [],
        headers: HTTPFields = [:]
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers
    }

    static func notFound(_ kind: String, _ id: String) -> APIError {
        APIError(.notFound, code: "not_found", message: "\(kind) '\(id)' does not exist")
    }

    static func invalid(_ field: String, rule: String, _ message: String) -> APIError {
        APIError(
            .badRequest, code: "invalid_request", message: "\(field): \(message)",
            fields: [FieldError(field: field, rule: rule, message: message)])
    }

    static func validation(_ fields: [FieldError]) -> APIError {
        APIError(
            .unprocessableContent, code: "validation_failed",
            message: fields.count == 1
                ? "\(fields[0].field): \(fields[0].message)" : "\(fields.count) fields failed validation",
            fields: fields)
    }

    /// Maps any error thrown while answering a request; nil means "unexpected" (a 500).
    static func from(_ error: any Error) -> APIError? {
        switch error {
        case let error as APIError:
            return error
        case let error as DomainError:
            return from(error)
        case let error as AlertError:
            return from(error)
        case let error as AcknowledgementError:
            return from(error)
        case let error as ServerError:
            return from(error)
        case let error as HTTPError:
            return from(error)
        case let error as DecodingError:
            return from(error)
        case let error as InvalidDateTime:
            return .invalid("body", rule: error.rule, "'\(error.text)' \(error.problem)")
        default:
            return nil
        }
    }

    static func from(_ error: DomainError) -> APIError {
        switch error {
        case .validationFailed(let fields):
            return .validation(fields)
        case .notFound(let kind, let id):
            return .notFound(kind, id)
        case .duplicateOrder(let id):
            return APIError(
                .conflict, code: "duplicate_order", message: "order '\(id)' already exists",
                fields: [FieldError(field: "orderId", rule: .A, message: "order '\(id)' already exists")])
        case .illegalTransition(let from, let to):
            return APIError(
                .conflict, code: "illegal_transition", message: "an order in status \(from) cannot move to \(to)")
        case .orderLocked(let id, let status):
            return APIError(
                .conflict, code: "order_locked",
                message: "order '\(id)' is \(status); lines cannot change from 3000 Released on (FR8)",
                fields: [FieldError(field: "status", rule: .FR8, message: "order is \(status)")])
        case .insufficientStock(let fields):
            return APIError(
                .conflict, code: "insufficient_stock", message: "not enough stock; nothing was reserved", fields: fields
            )
        case .conflict(let code, let message):
            return APIError(.conflict, code: code, message: message)
        case .concurrentUpdate(let message):
            return APIError(.conflict, code: "conflict", message: message)
        case .outOfScope(let message):
            return APIError(.forbidden, code: "out_of_scope", message: message)
        }
    }

    static func from(_ error: AlertError) -> APIError {
        switch error {
        case .duplicateRuleName(let name):
            APIError(
                .conflict, code: "duplicate_rule", message: "a rule named '\(name)' exists",
                fields: [FieldError(field: "name", rule: "unique", message: "is taken")])
        case .ruleNotFound(let id): .notFound("alert rule", String(id))
        case .alertNotFound(let id): .notFound("alert", String(id))
        case .silenceNotFound(let id): .notFound("silence", String(id))
        case .alertNotActive(let id):
            APIError(.conflict, code: "alert_resolved", message: "alert \(id) is resolved already")
        }
    }

    static func from(_ error: AcknowledgementError) -> APIError {
        switch error {
        case .notFound(let id):
            .notFound("acknowledgement", String(id))
        case .transmissionNotFound(let id):
            .validation([FieldError(field: "transmissionId", rule: "exists", message: "no transmission \(id)")])
        case .notLinkable(let outcome):
            APIError(
                .conflict, code: "not_linkable",
                message:
                    "only unmatched, ambiguous or contradicting acknowledgements are linked by hand; this one is \(outcome.rawValue)"
            )
        case .channelMismatch(let ack, let transmission):
            .validation([
                FieldError(
                    field: "transmissionId", rule: "channel",
                    message: "the acknowledgement is from '\(ack)', the transmission went to '\(transmission)'")
            ])
        }
    }

    static func from(_ error: ServerError) -> APIError? {
        if let invalid = error.underlyingError as? InvalidDateTime {
            // The decoder does not say which field held it; a query parameter is found by its value.
            let query = URLComponents(string: error.request.path ?? "")?.queryItems ?? []
            let field =
                query.first(where: { $0.value == invalid.text })?.name
                ?? (error.requestBody == nil ? "parameters" : "body")
            return .invalid(field, rule: invalid.rule, "'\(invalid.text)' \(invalid.problem)")
        }
        if let mapped = from(error.underlyingError) { return mapped }
        let cause = error.causeDescription
        if cause.contains("content type") || cause.contains("Content-Type") {
            return APIError(
                .unsupportedMediaType, code: "unsupported_media_type", message: "send the body as application/json")
        }
        if cause.contains("Missing required request body") {
            return .invalid("body", rule: "required", "a JSON body is required")
        }
        if (400..<500).contains(error.httpStatus.code) || cause.contains("parameter") || cause.contains("decode") {
            return APIError(.badRequest, code: "invalid_request", message: cause)
        }
        return nil
    }

    static func from(_ error: HTTPError) -> APIError {
        switch error.status {
        case .notFound: APIError(.notFound, code: "not_found", message: "no such route")
        case .contentTooLarge:
            APIError(.contentTooLarge, code: "payload_too_large", message: error.body ?? "request body too large")
        case .methodNotAllowed: APIError(.methodNotAllowed, code: "method_not_allowed", message: "method not allowed")
        default:
            APIError(
                error.status, code: error.status.code >= 500 ? "internal_error" : "invalid_request",
                message: error.body ?? error.status.reasonPhrase, headers: error.headers)
        }
    }

    /// Names the field a decoding error is about, as a JSON path, and the structural rule it broke.
    static func from(_ error: DecodingError) -> APIError {
        func path(_ codingPath: [any CodingKey]) -> String {
            var text = ""
            for key in codingPath {
                if let index = key.intValue, key.stringValue.hasPrefix("Index") || key.stringValue == "\(index)" {
                    text += "[\(index)]"
                } else {
                    text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
                }
            }
            return text.isEmpty ? "body" : text
        }
        switch error {
        case .keyNotFound(let key, let context):
            return .invalid(path(context.codingPath + [key]), rule: "required", "is required")
        case .valueNotFound(_, let context):
            return .invalid(path(context.codingPath), rule: "required", "must not be null")
        case .typeMismatch(let type, let context):
            // The URI decoder (path and query parameters) reports an empty coding path; its
            // messages start with "Failed to convert", which JSON decoding never says.
            if context.codingPath.isEmpty, context.debugDescription.hasPrefix("Failed to convert") {
                return .invalid(
                    "parameters", rule: "type",
                    "a path or query parameter is not \(describe(type)) (or is out of range)")
            }
            return .invalid(path(context.codingPath), rule: "type", "expected \(describe(type))")
        case .dataCorrupted(let context):
            let description = context.debugDescription
            if description.contains("Additional properties are disabled") {
                return .invalid(path(context.codingPath), rule: "unknown_field", "is not a field of this request")
            }
            if context.codingPath.isEmpty {
                return .invalid("body", rule: "json", "is not valid JSON")
            }
            if description.contains("Cannot initialize") {
                return .invalid(
                    path(context.codingPath), rule: "enum", "is not one of the allowed values (see the API document)")
            }
            return .invalid(path(context.codingPath), rule: "format", description)
        @unknown default:
            return APIError(
                .badRequest, code: "invalid_request", message: "the request does not match the API document")
        }
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int64.Type, is Int32.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        default:
            String(describing: type).contains("Array") ? "an array" : "an object"
        }
    }

    /// The JSON body of this error.
    func body(requestID: String?) -> ByteBuffer {
        struct Envelope: Encodable {
            struct Body: Encodable {
                var code: String
                var message: String
                var fields: [Field]?
                var requestId: String?
            }
            struct Field: Encodable {
                var field: String
                var rule: String
                var message: String
            }
            var error: Body
        }
        let envelope = Envelope(
            error: .init(
                code: code, message: message,
                fields: fields.isEmpty
                    ? nil : fields.map { .init(field: $0.field, rule: $0.rule, message: $0.message) },
                requestId: requestID))
        let data =
            (try? Self.encoder.encode(envelope))
            ?? Data(#"{"error":{"code":"internal_error","message":"unexpected error"}}"#.utf8)
        return ByteBuffer(bytes: data)
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    func response(requestID: String?) -> Response {
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: body(requestID: requestID)))
    }
}
