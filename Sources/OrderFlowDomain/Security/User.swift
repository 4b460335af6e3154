import Foundation

/// A user as stored. The password hash never leaves the server.
public struct UserRecord: Sendable, Hashable {
    public var id: String
    public var username: String
    public var displayName: String
    public var email: String?
    public var passwordHash: String
    public var roles: Set<Role>
    public var storeScope: LocationID?
    public var regionScope: String?
    public var customerID: String?
    public var disabled: Bool
    /// This user's own request budget; nil takes the roles' default.
    public var rateLimit: RateLimit?
    public var passwordChangedAt: Timestamp
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(
        id: String = UUID().uuidString.lowercased(), username: String, displayName: String, email: String?,
        passwordHash: String,
        roles: Set<Role>, storeScope: LocationID? = nil, regionScope: String? = nil, customerID: String? = nil,
        disabled: Bool = false, rateLimit: RateLimit? = nil, passwordChangedAt: Timestamp,
        createdAt: Timestamp, updatedAt: Timestamp
    ) {
        self.id = id
        self.username = username
        self.displayName = displayName
        self.email = email
        self.passwordHash = passwordHash
        self.roles = roles
        self.storeScope = storeScope
        self.regionScope = regionScope
        self.customerID = customerID
        self.disabled = disabled
        self.rateLimit = rateLimit
        self.passwordChangedAt = passwordChangedAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public var principal: Principal {
        Principal(
            id: id, name: username, kind: .user, roles: roles, storeScope: storeScope, regionScope: regionScope,
            customerID: customerID, rateLimit: rateLimit)
    }
}

public struct APIKeyRecord: Sendable, Hashable {
    public var id: String
    public var name: String
    /// The first characters of the key, to recognise it in lists; the key itself is never stored.
    public var prefix: String
    public var roles: Set<Role>
    public var storeScope: LocationID?
    /// This key's own request budget; nil takes the roles' default.
    public var rateLimit: RateLimit?
    public var createdBy: String
    public var createdAt: Timestamp
    public var lastUsedAt: Timestamp?
    public var revokedAt: Timestamp?

    public var principal: Principal {
        Principal(
            id: "key:\(id)", name: name, kind: .apiKey, roles: roles, storeScope: storeScope, rateLimit: rateLimit)
    }

    public init(
        id: String, name: String, prefix: String, roles: Set<Role>, storeScope: LocationID? = nil,
        rateLimit: RateLimit? = nil, createdBy: String,
        createdAt: Timestamp, lastUsedAt: Timestamp? = nil, revokedAt: Timestamp? = nil
    ) {
        self.id = id
        self.name = name
        self.prefix = prefix
        self.roles = roles
        self.storeScope = storeScope
        self.rateLimit = rateLimit
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.revokedAt = revokedAt
    }
}
