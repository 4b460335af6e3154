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

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        requestID = RequestID.make()
        principal = nil
        clientAddress = source.channel.remoteAddress?.ipAddress
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
              text.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains(Character($0)) || $0 == "-" || $0 == "_") })
        else { return nil }
        return text
    }
}
