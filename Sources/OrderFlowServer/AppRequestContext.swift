import Hummingbird
import Logging
import NIOCore

/// Who is calling. Filled by the authentication slot of the request pipeline.
public struct Principal: Sendable, Hashable {
    public var id: String
    public var displayName: String

    public init(id: String, displayName: String) {
        self.id = id
        self.displayName = displayName
    }

    /// A caller no authenticator recognised.
    public static let anonymous = Principal(id: "anonymous", displayName: "anonymous")
}

/// The per-request context every route and middleware sees.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Echoed as `X-Request-ID` and logged on every line of the request.
    public var requestID: String
    public var principal: Principal?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        requestID = RequestID.make()
        principal = nil
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
