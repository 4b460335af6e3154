import Foundation

/// One audited action: who did what to which target, when, from where, and how it ended.
public struct AuditEntry: Sendable, Hashable {
    public var at: Timestamp
    public var actor: String
    public var actorKind: String
    /// e.g. `auth.login`, `auth.login_failed`, `user.create`, `apikey.revoke`, `order.cancel`.
    public var action: String
    public var targetType: String?
    public var targetID: String?
    /// `success` or `failure`.
    public var outcome: String
    public var clientAddress: String?
    public var requestID: String?
    /// Extra facts as JSON; never a secret.
    public var details: String?

    public init(
        at: Timestamp, actor: String, actorKind: String, action: String, targetType: String? = nil,
        targetID: String? = nil,
        outcome: String = "success", clientAddress: String? = nil, requestID: String? = nil,
        details: [String: String] = [:]
    ) {
        self.at = at
        self.actor = actor
        self.actorKind = actorKind
        self.action = action
        self.targetType = targetType
        self.targetID = targetID
        self.outcome = outcome
        self.clientAddress = clientAddress
        self.requestID = requestID
        self.details = details.isEmpty ? nil : (try? JSONCoding.encode(details))
    }
}

public struct AuditQuery: Sendable {
    public var actor: String?
    public var action: String?
    public var targetType: String?
    public var targetID: String?
    public var from: Timestamp?
    public var to: Timestamp?
    public var limit = 100
    /// The `id` of the last entry of the previous page.
    public var beforeID: Int64?
    public init() {}
}
