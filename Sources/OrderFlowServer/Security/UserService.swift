import Foundation
import HTTPTypes
import OrderFlowDomain
import OrderFlowPersistence

/// Accounts as people manage them: self-registration, one's own profile and password, users and
/// API keys (administrators), and the audit log. Every change is audited with its caller, in the
/// same transaction; a change to an account drops its cached principal at once.
struct UserService: Sendable {
    let security: SecurityService
    let catalog: CatalogRepository
    let clock: any WallClock

    var users: UserRepository { security.users }
    var audit: AuditRepository { security.audit }

    /// What an administrator may change about a user; nil leaves it as it is (an empty scope or
    /// email clears it).
    struct Changes: Sendable {
        var displayName: String?
        var email: String??
        var roles: Set<Role>?
        var storeScope: String?
        var regionScope: String?
        var customerID: String?
        var disabled: Bool?
        /// A new own request budget: (requests a second, burst); a rate of 0 clears it.
        var rateLimit: (requestsPerSecond: Double, burst: Double?)?
    }

    // MARK: Registration and one's own profile

    /// A shopper's own account (`POST /api/auth/register`, when enabled): the customer role, as a
    /// new customer with an ID of the registrants' own (`UserRules.registrantPrefix`), never one
    /// that orders from a channel or another account may already carry.
    func register(username: String, password: String, displayName: String, email: String?, from origin: AuditOrigin)
        async throws -> UserRecord
    {
        guard security.settings.allowRegistration else {
            throw APIError(.notFound, code: "not_found", message: "self-registration is disabled here")
        }
        var errors: [FieldError] = []
        let username = UserRules.username(username, into: &errors)
        UserRules.password(password, into: &errors)
        let name = UserRules.displayName(displayName, into: &errors)
        let email = UserRules.email(email, into: &errors)
        if !errors.isEmpty { throw DomainError.validationFailed(errors) }
        let now = clock.now()
        var generator = SystemRandomNumberGenerator()
        let user = UserRecord(
            username: username, displayName: name, email: email,
            passwordHash: try await security.hashPassword(password), roles: [.customer],
            customerID: UserRules.newRegistrantCustomerID(using: &generator), passwordChangedAt: now, createdAt: now,
            updatedAt: now)
        // The database keeps registrants' customer IDs unique; 50 random bits make a clash all but impossible.
        try await users.create(user)
        var origin = origin
        origin.actor = username
        try await audit.append(origin.entry("user.register", targetType: "user", targetID: user.id, at: now))
        return user
    }

    /// The signed-in user's own account; API keys have none.
    func profile(of caller: Caller) async throws -> UserRecord {
        guard caller.principal.kind == .user, let user = try await users.user(id: caller.principal.id) else {
            throw APIError(.forbidden, code: "forbidden", message: "only signed-in users have a profile")
        }
        return user
    }

    /// Changes one's own name and email, and the password when the current one is given; a new
    /// password signs every other session out.
    func updateProfile(
        displayName: String?, email: String??, newPassword: String?, currentPassword: String?, by caller: Caller
    ) async throws -> UserRecord {
        var user = try await profile(of: caller)
        var errors: [FieldError] = []
        if let displayName { user.displayName = UserRules.displayName(displayName, into: &errors) }
        if let email { user.email = UserRules.email(email, into: &errors) }
        let now = clock.now()
        var action = "user.update_profile"
        if let newPassword {
            UserRules.password(newPassword, into: &errors, field: "newPassword")
            guard let currentPassword, try await security.verifyPassword(currentPassword, hash: user.passwordHash)
            else {
                errors.append(
                    FieldError(field: "currentPassword", rule: "password", message: "is not your current password"))
                throw DomainError.validationFailed(errors)
            }
            if errors.isEmpty {
                user.passwordHash = try await security.hashPassword(newPassword)
                user.passwordChangedAt = user.passwordChangedAt.later(now)
                action = "user.change_password"
            }
        }
        if !errors.isEmpty { throw DomainError.validationFailed(errors) }
        user.updatedAt = now
        try await users.update(user, audit: caller.audit(action, targetType: "user", targetID: user.id, at: now))
        if action == "user.change_password" { try await users.revokeAllTokens(userID: user.id, at: now) }
        security.authenticator.invalidate(userID: user.id)
        return user
    }

    // MARK: Users

    func users() async throws -> [UserRecord] {
        try await users.users()
    }

    /// Creates a user; without `password` one is generated and returned (shown once).
    func createUser(
        username: String, displayName: String, email: String?, password: String?, roles: Set<Role>, storeScope: String?,
        regionScope: String?,
        customerID: String?, by caller: Caller
    ) async throws -> (user: UserRecord, generatedPassword: String?) {
        var errors: [FieldError] = []
        let username = UserRules.username(username, into: &errors)
        let name = UserRules.displayName(displayName, into: &errors)
        let email = UserRules.email(email, into: &errors)
        if let password { UserRules.password(password, into: &errors) }
        let scope = try await checkedScope(
            roles: roles, store: storeScope, region: regionScope, customerID: customerID, into: &errors)
        if !errors.isEmpty { throw DomainError.validationFailed(errors) }
        let chosen = password ?? TokenService.randomPassword()
        let now = clock.now()
        let user = UserRecord(
            username: username, displayName: name, email: email, passwordHash: try await security.hashPassword(chosen),
            roles: roles, storeScope: scope.store, regionScope: scope.region, customerID: scope.customerID,
            passwordChangedAt: now, createdAt: now, updatedAt: now)
        try await users.create(user)
        try await audit.append(
            caller.audit(
                "user.create", targetType: "user", targetID: user.id, at: now,
                details: ["username": username, "roles": roles.map(\.rawValue).sorted().joined(separator: ",")]))
        return (user, password == nil ? chosen : nil)
    }

    /// Changes another user; disabling signs them out everywhere. Nobody disables themselves or
    /// drops their own admin role.
    func updateUser(_ id: String, _ changes: Changes, by caller: Caller) async throws -> UserRecord {
        guard var user = try await users.user(id: id) else { throw DomainError.notFound(kind: "user", id: id) }
        var errors: [FieldError] = []
        var changed: [String] = []
        if let name = changes.displayName {
            user.displayName = UserRules.displayName(name, into: &errors)
            changed.append("displayName")
        }
        if let email = changes.email {
            user.email = UserRules.email(email, into: &errors)
            changed.append("email")
        }
        if let roles = changes.roles {
            user.roles = roles
            changed.append("roles")
        }
        if let store = changes.storeScope {
            user.storeScope = store.isEmpty ? nil : LocationID(store)
            changed.append("storeScope")
        }
        if let region = changes.regionScope {
            user.regionScope = region.isEmpty ? nil : region.uppercased()
            changed.append("regionScope")
        }
        if let customer = changes.customerID {
            user.customerID = customer.isEmpty ? nil : customer
            changed.append("customerId")
        }
        if let disabled = changes.disabled {
            user.disabled = disabled
            changed.append(disabled ? "disabled" : "enabled")
        }
        if let limit = changes.rateLimit {
            user.rateLimit = UserRules.rateLimit(
                requestsPerSecond: limit.requestsPerSecond, burst: limit.burst, into: &errors)
            changed.append("rateLimit")
        }
        _ = try await checkedScope(
            roles: user.roles, store: user.storeScope?.rawValue, region: user.regionScope, customerID: user.customerID,
            into: &errors)
        if caller.principal.id == user.id, user.disabled || !user.roles.contains(.admin) {
            errors.append(
                FieldError(
                    field: "roles", rule: "scope", message: "you cannot disable yourself or drop your own admin role"))
        }
        if !errors.isEmpty { throw DomainError.validationFailed(errors) }
        let now = clock.now()
        user.updatedAt = now
        let action = changes.disabled == true ? "user.disable" : "user.update"
        try await users.update(
            user,
            audit: caller.audit(
                action, targetType: "user", targetID: user.id, at: now,
                details: ["changed": changed.joined(separator: ",")]))
        if user.disabled { try await users.revokeAllTokens(userID: user.id, at: now) }
        security.authenticator.invalidate(userID: user.id)
        return user
    }

    /// Sets a new password (generated and returned when none is given) and signs the user out
    /// everywhere.
    func resetPassword(of id: String, to password: String?, by caller: Caller) async throws -> String? {
        guard var user = try await users.user(id: id) else { throw DomainError.notFound(kind: "user", id: id) }
        var errors: [FieldError] = []
        if let password { UserRules.password(password, into: &errors) }
        if !errors.isEmpty { throw DomainError.validationFailed(errors) }
        let chosen = password ?? TokenService.randomPassword()
        let now = clock.now()
        user.passwordHash = try await security.hashPassword(chosen)
        user.passwordChangedAt = user.passwordChangedAt.later(now)
        user.updatedAt = now
        try await users.update(
            user, audit: caller.audit("user.reset_password", targetType: "user", targetID: user.id, at: now))
        try await users.revokeAllTokens(userID: user.id, at: now)
        try await security.attempts.clear(username: user.username)
        security.authenticator.invalidate(userID: user.id)
        return password == nil ? chosen : nil
    }

    /// Checks that scoped roles have their scope and that it names something real.
    private func checkedScope(
        roles: Set<Role>, store: String?, region: String?, customerID: String?, into errors: inout [FieldError]
    ) async throws -> (store: LocationID?, region: String?, customerID: String?) {
        let storeID = store.flatMap { $0.isEmpty ? nil : LocationID($0) }
        let regionName = region.flatMap { $0.isEmpty ? nil : $0.uppercased() }
        let customer = customerID.flatMap { $0.isEmpty ? nil : $0 }
        UserRules.scopes(roles: roles, store: storeID, region: regionName, customerID: customer, into: &errors)
        if storeID != nil || regionName != nil {
            let locations = try await catalog.locations()
            if let storeID, !locations.contains(where: { $0.id == storeID }) {
                errors.append(FieldError(field: "storeScope", rule: "scope", message: "unknown location '\(storeID)'"))
            }
            if let regionName, !locations.contains(where: { $0.region == regionName }) {
                errors.append(
                    FieldError(field: "regionScope", rule: "scope", message: "no location is in region '\(regionName)'")
                )
            }
        }
        return (storeID, regionName, customer)
    }

    // MARK: API keys

    func keys() async throws -> [APIKeyRecord] {
        try await users.keys()
    }

    /// Creates a key with roles (never admin) and optionally a store; returns the key itself,
    /// which is shown once and stored only as a hash.
    func createKey(
        name: String, roles: Set<Role>, storeScope: String?,
        rateLimit: (requestsPerSecond: Double, burst: Double?)? = nil, by caller: Caller
    ) async throws -> (key: String, record: APIKeyRecord) {
        var errors: [FieldError] = []
        let limit = rateLimit.flatMap {
            UserRules.rateLimit(requestsPerSecond: $0.requestsPerSecond, burst: $0.burst, into: &errors)
        }
        let name = name.trimmingSpaces()
        if !Formats.isText(name, maxLength: 100) {
            errors.append(FieldError(field: "name", rule: "format", message: "must be 1–100 characters"))
        }
        if roles.isEmpty {
            errors.append(FieldError(field: "roles", rule: "format", message: "needs at least one role"))
        }
        if roles.contains(.admin) {
            errors.append(FieldError(field: "roles", rule: "scope", message: "keys cannot be admins; sign in for that"))
        }
        let store = storeScope.flatMap { $0.isEmpty ? nil : LocationID($0) }
        if let store, try await catalog.location(store) == nil {
            errors.append(FieldError(field: "storeScope", rule: "scope", message: "unknown location '\(store)'"))
        }
        if !errors.isEmpty { throw DomainError.validationFailed(errors) }
        let key = TokenService.randomSecret(prefix: APIKeys.prefix)
        let id = UUID().uuidString.lowercased()
        let now = clock.now()
        let record = try await users.createKey(
            id: id, name: name, hash: TokenService.hash(key), prefix: String(key.prefix(8)), roles: roles,
            storeScope: store, rateLimit: limit,
            createdBy: caller.name, at: now,
            audit: caller.audit(
                "apikey.create", targetType: "api_key", targetID: id, at: now,
                details: [
                    "name": name, "roles": roles.map(\.rawValue).sorted().joined(separator: ","),
                    "rateLimit": Self.describe(limit),
                ]))
        return (key, record)
    }

    /// Sets a key's own request budget, or clears it (a rate of 0).
    func updateKey(_ id: String, rateLimit: (requestsPerSecond: Double, burst: Double?), by caller: Caller)
        async throws -> APIKeyRecord
    {
        var errors: [FieldError] = []
        let limit = UserRules.rateLimit(
            requestsPerSecond: rateLimit.requestsPerSecond, burst: rateLimit.burst, into: &errors)
        if !errors.isEmpty { throw DomainError.validationFailed(errors) }
        let now = clock.now()
        guard
            let record = try await users.setKeyRateLimit(
                id: id, to: limit,
                audit: caller.audit(
                    "apikey.update", targetType: "api_key", targetID: id, at: now,
                    details: ["rateLimit": Self.describe(limit)]))
        else {
            throw DomainError.notFound(kind: "API key", id: id)
        }
        security.authenticator.invalidate(keyID: id)
        return record
    }

    static func describe(_ limit: RateLimit?) -> String {
        limit.map { "\($0.requestsPerSecond)/s, burst \($0.burst)" } ?? "roles' default"
    }

    func revokeKey(_ id: String, by caller: Caller) async throws -> APIKeyRecord {
        let now = clock.now()
        guard
            let record = try await users.revokeKey(
                id: id, at: now, audit: caller.audit("apikey.revoke", targetType: "api_key", targetID: id, at: now))
        else {
            throw DomainError.notFound(kind: "API key", id: id)
        }
        security.authenticator.invalidate(keyID: id)
        return record
    }

    // MARK: Audit

    /// Newest first.
    func audit(_ query: AuditQuery) async throws -> (entries: [(id: Int64, entry: AuditEntry)], nextBeforeID: Int64?) {
        try await audit.search(query)
    }
}
