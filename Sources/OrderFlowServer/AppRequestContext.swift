import Hummingbird
import Logging
import NIOCore
import OrderFlowDomain

/// The per-request context every route and middleware sees.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Echoed as `X-Request-ID` and logged on every line of the request.
    public var requestID: String
    /// Who is calling; nil for anonymous requests.
    public var principal: Principal?
    /// The peer's IP address (or the last `X-Forwarded-For` hop, when a trusted proxy adds it).
    public var clientAddress: String?
    /// Authenticates the request's credentials again, for a response that outlives the moment it
    /// was checked (a stream): nil once they no longer hold.
    public var signedIn: (@Sendable () async -> Principal?)?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        requestID = RequestID.make()
        principal = nil
        clientAddress = source.channel.remoteAddress?.ipAddress
        signedIn = nil
    }
}

extension AppRequestContext {
    /// The caller, for the services: the principal and what the audit log keeps of the request.
    /// Only routes that require a permission have one (the security middleware saw to it).
    var caller: Caller {
        get throws {
            guard let principal else { throw Authenticator.unauthorized("sign in first") }
            return Caller(principal, clientAddress: clientAddress, requestID: requestID)
        }
    }

    /// Where an anonymous request (signing in, registering) comes from, for the audit log.
    var origin: AuditOrigin {
        AuditOrigin(
            actor: principal?.name ?? "anonymous", actorKind: principal?.kind.rawValue ?? "anonymous",
            clientAddress: clientAddress,
            requestID: requestID)
    }
}

/// Gives OpenAPI handlers, which receive only their typed input, the context of their request.
enum RequestScope {
    @TaskLocal static var context: AppRequestContext?
}

enum RequestID {
    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt64
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Accepts a caller's ID if it is short and plain, so traces can span systems.
    static func accept(_ text: String?) -> String? {
        guard let text, (8...64).contains(text.count),
            text.unicodeScalars.allSatisfy({
                $0.isASCII
                    && ($0.properties.isAlphabetic || ("0"..."9").contains(Character($0)) || $0 == "-" || $0 == "_")
            })
        else { return nil }
        return text
    }
}
