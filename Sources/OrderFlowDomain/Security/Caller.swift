/// Where a request comes from, as the audit log keeps it: who (a principal's name, or the name
/// someone signs in with), what kind of caller, the client's address and the request ID.
public struct AuditOrigin: Sendable, Hashable {
    public var actor: String
    public var actorKind: String
    public var clientAddress: String?
    public var requestID: String?

    public init(actor: String, actorKind: String, clientAddress: String? = nil, requestID: String? = nil) {
        self.actor = actor
        self.actorKind = actorKind
        self.clientAddress = clientAddress
        self.requestID = requestID
    }

    /// Changes made by OrderFlow itself (start-up, the evaluator).
    public static let system = AuditOrigin(actor: "system", actorKind: "system")

    public func entry(
        _ action: String, targetType: String? = nil, targetID: String? = nil, outcome: String = "success",
        at: Timestamp,
        details: [String: String] = [:]
    ) -> AuditEntry {
        AuditEntry(
            at: at, actor: actor, actorKind: actorKind, action: action, targetType: targetType, targetID: targetID,
            outcome: outcome,
            clientAddress: clientAddress, requestID: requestID, details: details)
    }
}

/// Who asks a service for something: the principal, whose permissions were checked by the route
/// and whose scope every service applies, and the request it came with (for the audit log).
public struct Caller: Sendable, Hashable {
    public var principal: Principal
    public var clientAddress: String?
    public var requestID: String?

    public init(_ principal: Principal, clientAddress: String? = nil, requestID: String? = nil) {
        self.principal = principal
        self.clientAddress = clientAddress
        self.requestID = requestID
    }

    /// The name history rows and audit entries carry.
    public var name: String { principal.name }

    public var origin: AuditOrigin {
        AuditOrigin(
            actor: principal.name, actorKind: principal.kind.rawValue, clientAddress: clientAddress,
            requestID: requestID)
    }

    public func audit(
        _ action: String, targetType: String? = nil, targetID: String? = nil, at: Timestamp,
        details: [String: String] = [:]
    ) -> AuditEntry {
        origin.entry(action, targetType: targetType, targetID: targetID, at: at, details: details)
    }
}
