import Foundation
import HTTPTypes
import OrderFlowAPI
import OrderFlowDomain
import OrderFlowPersistence

extension APIHandlers {
    var origin: SecurityService.Origin { .from(RequestScope.context) }

    /// The signed-in user; API keys have no profile.
    func currentUser() async throws -> UserRecord {
        guard let principal = RequestScope.context?.principal, principal.kind == .user,
              let user = try await security.users.user(id: principal.id)
        else { throw APIError(.forbidden, code: "forbidden", message: "only signed-in users have a profile") }
        return user
    }

    // MARK: Sign-in

    func login(_ input: Operations.Login.Input) async throws -> Operations.Login.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        let signIn = try await security.login(username: body.username, password: body.password, origin: origin)
        return .ok(.init(body: .json(tokenResponse(signIn))))
    }

    func refreshToken(_ input: Operations.RefreshToken.Input) async throws -> Operations.RefreshToken.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        return .ok(.init(body: .json(tokenResponse(try await security.refresh(body.refreshToken, origin: origin)))))
    }

    func logout(_ input: Operations.Logout.Input) async throws -> Operations.Logout.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        try await security.logout(body.refreshToken, origin: origin)
        return .noContent(.init())
    }

    func register(_ input: Operations.Register.Input) async throws -> Operations.Register.Output {
        guard security.settings.allowRegistration else { throw APIError(.notFound, code: "not_found", message: "self-registration is disabled here") }
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        var errors: [FieldError] = []
        let username = UserRules.username(body.username, into: &errors)
        UserRules.password(body.password, into: &errors)
        let name = UserRules.displayName(body.displayName, into: &errors)
        let email = UserRules.email(body.email, into: &errors)
        if !errors.isEmpty { throw APIError.validation(errors) }
        let now = clock.now()
        let customerID = "CUST-" + String(username.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "-" })
        let user = UserRecord(
            username: username, displayName: name, email: email, passwordHash: try await security.hashPassword(body.password),
            roles: [.customer], customerID: customerID, passwordChangedAt: now, createdAt: now, updatedAt: now)
        try await security.users.create(user)
        var origin = origin
        origin.actor = username
        try await security.audit.append(origin.entry("user.register", targetType: "user", targetID: user.id, at: now))
        return .created(.init(body: .json(Self.user(user))))
    }

    // MARK: Own profile

    func getMe(_ input: Operations.GetMe.Input) async throws -> Operations.GetMe.Output {
        .ok(.init(body: .json(Self.user(try await currentUser()))))
    }

    func updateMe(_ input: Operations.UpdateMe.Input) async throws -> Operations.UpdateMe.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        var user = try await currentUser()
        var errors: [FieldError] = []
        if let name = body.displayName { user.displayName = UserRules.displayName(name, into: &errors) }
        if body.email != nil { user.email = UserRules.email(body.email, into: &errors) }
        let now = clock.now()
        var action = "user.update_profile"
        if let newPassword = body.newPassword {
            UserRules.password(newPassword, into: &errors, field: "newPassword")
            guard let current = body.currentPassword, try await security.verifyPassword(current, hash: user.passwordHash) else {
                errors.append(FieldError(field: "currentPassword", rule: "password", message: "is not your current password"))
                throw APIError.validation(errors)
            }
            if errors.isEmpty {
                user.passwordHash = try await security.hashPassword(newPassword)
                user.passwordChangedAt = user.passwordChangedAt.later(now)
                action = "user.change_password"
            }
        }
        if !errors.isEmpty { throw APIError.validation(errors) }
        user.updatedAt = now
        try await security.users.update(user, audit: origin.entry(action, targetType: "user", targetID: user.id, at: now))
        if action == "user.change_password" { try await security.users.revokeAllTokens(userID: user.id, at: now) }
        security.authenticator.invalidate(userID: user.id)
        return .ok(.init(body: .json(Self.user(user))))
    }

    // MARK: Users (admin)

    func listUsers(_ input: Operations.ListUsers.Input) async throws -> Operations.ListUsers.Output {
        .ok(.init(body: .json(.init(items: try await security.users.users().map(Self.user)))))
    }

    func createUser(_ input: Operations.CreateUser.Input) async throws -> Operations.CreateUser.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        var errors: [FieldError] = []
        let username = UserRules.username(body.username, into: &errors)
        let name = UserRules.displayName(body.displayName, into: &errors)
        let email = UserRules.email(body.email, into: &errors)
        if let password = body.password { UserRules.password(password, into: &errors) }
        let roles = Set(body.roles.compactMap { Role(rawValue: $0.rawValue) })
        let scope = try await checkedScope(roles: roles, store: body.storeScope, region: body.regionScope, customerID: body.customerId, into: &errors)
        if !errors.isEmpty { throw APIError.validation(errors) }
        let password = body.password ?? TokenService.randomPassword()
        let now = clock.now()
        let user = UserRecord(
            username: username, displayName: name, email: email, passwordHash: try await security.hashPassword(password),
            roles: roles, storeScope: scope.store, regionScope: scope.region, customerID: scope.customerID,
            passwordChangedAt: now, createdAt: now, updatedAt: now)
        try await security.users.create(user)
        try await security.audit.append(origin.entry(
            "user.create", targetType: "user", targetID: user.id, at: now,
            details: ["username": username, "roles": roles.map(\.rawValue).sorted().joined(separator: ",")]))
        return .created(.init(body: .json(.init(user: Self.user(user), password: body.password == nil ? password : nil))))
    }

    func updateUser(_ input: Operations.UpdateUser.Input) async throws -> Operations.UpdateUser.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        guard var user = try await security.users.user(id: input.path.userId) else { throw APIError.notFound("user", input.path.userId) }
        var errors: [FieldError] = []
        var changed: [String] = []
        if let name = body.displayName {
            user.displayName = UserRules.displayName(name, into: &errors)
            changed.append("displayName")
        }
        if body.email != nil {
            user.email = UserRules.email(body.email, into: &errors)
            changed.append("email")
        }
        if let roles = body.roles {
            user.roles = Set(roles.compactMap { Role(rawValue: $0.rawValue) })
            changed.append("roles")
        }
        if let store = body.storeScope { user.storeScope = store.isEmpty ? nil : LocationID(store); changed.append("storeScope") }
        if let region = body.regionScope { user.regionScope = region.isEmpty ? nil : region.uppercased(); changed.append("regionScope") }
        if let customer = body.customerId { user.customerID = customer.isEmpty ? nil : customer; changed.append("customerId") }
        if let disabled = body.disabled { user.disabled = disabled; changed.append(disabled ? "disabled" : "enabled") }
        _ = try await checkedScope(roles: user.roles, store: user.storeScope?.rawValue, region: user.regionScope, customerID: user.customerID, into: &errors)
        if let principal = RequestScope.context?.principal, principal.id == user.id, user.disabled || !user.roles.contains(.admin) {
            errors.append(FieldError(field: "roles", rule: "scope", message: "you cannot disable yourself or drop your own admin role"))
        }
        if !errors.isEmpty { throw APIError.validation(errors) }
        let now = clock.now()
        user.updatedAt = now
        let action = body.disabled == true ? "user.disable" : "user.update"
        try await security.users.update(user, audit: origin.entry(action, targetType: "user", targetID: user.id, at: now, details: ["changed": changed.joined(separator: ",")]))
        if user.disabled { try await security.users.revokeAllTokens(userID: user.id, at: now) }
        security.authenticator.invalidate(userID: user.id)
        return .ok(.init(body: .json(Self.user(user))))
    }

    func resetPassword(_ input: Operations.ResetPassword.Input) async throws -> Operations.ResetPassword.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        guard var user = try await security.users.user(id: input.path.userId) else { throw APIError.notFound("user", input.path.userId) }
        var errors: [FieldError] = []
        if let password = body.password { UserRules.password(password, into: &errors) }
        if !errors.isEmpty { throw APIError.validation(errors) }
        let password = body.password ?? TokenService.randomPassword()
        let now = clock.now()
        user.passwordHash = try await security.hashPassword(password)
        user.passwordChangedAt = user.passwordChangedAt.later(now)
        user.failedLogins = 0
        user.lockedUntil = nil
        user.updatedAt = now
        try await security.users.update(user, audit: origin.entry("user.reset_password", targetType: "user", targetID: user.id, at: now))
        try await security.users.revokeAllTokens(userID: user.id, at: now)
        security.authenticator.invalidate(userID: user.id)
        return .ok(.init(body: .json(.init(password: body.password == nil ? password : nil))))
    }

    /// Checks that scoped roles have their scope and that it names something real.
    private func checkedScope(roles: Set<Role>, store: String?, region: String?, customerID: String?, into errors: inout [FieldError]) async throws -> (store: LocationID?, region: String?, customerID: String?) {
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
                errors.append(FieldError(field: "regionScope", rule: "scope", message: "no location is in region '\(regionName)'"))
            }
        }
        return (storeID, regionName, customer)
    }

    // MARK: API keys (admin)

    func listAPIKeys(_ input: Operations.ListAPIKeys.Input) async throws -> Operations.ListAPIKeys.Output {
        .ok(.init(body: .json(.init(items: try await security.users.keys().map(Self.key)))))
    }

    func createAPIKey(_ input: Operations.CreateAPIKey.Input) async throws -> Operations.CreateAPIKey.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        var errors: [FieldError] = []
        let name = body.name.trimmingSpaces()
        if !Formats.isText(name, maxLength: 100) { errors.append(FieldError(field: "name", rule: "format", message: "must be 1–100 characters")) }
        let roles = Set(body.roles.compactMap { Role(rawValue: $0.rawValue) })
        if roles.isEmpty { errors.append(FieldError(field: "roles", rule: "format", message: "needs at least one role")) }
        if roles.contains(.admin) { errors.append(FieldError(field: "roles", rule: "scope", message: "keys cannot be admins; sign in for that")) }
        let store = body.storeScope.flatMap { $0.isEmpty ? nil : LocationID($0) }
        if let store, try await catalog.location(store) == nil {
            errors.append(FieldError(field: "storeScope", rule: "scope", message: "unknown location '\(store)'"))
        }
        if !errors.isEmpty { throw APIError.validation(errors) }
        let key = TokenService.randomSecret(prefix: APIKeys.prefix)
        let id = UUID().uuidString.lowercased()
        let now = clock.now()
        let record = try await security.users.createKey(
            id: id, name: name, hash: TokenService.hash(key), prefix: String(key.prefix(8)), roles: roles, storeScope: store,
            createdBy: origin.actor, at: now,
            audit: origin.entry("apikey.create", targetType: "api_key", targetID: id, at: now, details: ["name": name, "roles": roles.map(\.rawValue).sorted().joined(separator: ",")]))
        return .created(.init(body: .json(.init(key: key, apiKey: Self.key(record)))))
    }

    func revokeAPIKey(_ input: Operations.RevokeAPIKey.Input) async throws -> Operations.RevokeAPIKey.Output {
        let now = clock.now()
        let id = input.path.keyId
        guard let record = try await security.users.revokeKey(id: id, at: now, audit: origin.entry("apikey.revoke", targetType: "api_key", targetID: id, at: now)) else {
            throw APIError.notFound("API key", id)
        }
        security.authenticator.invalidate(keyID: id)
        return .ok(.init(body: .json(Self.key(record))))
    }

    // MARK: Audit

    func listAudit(_ input: Operations.ListAudit.Input) async throws -> Operations.ListAudit.Output {
        let q = input.query
        var query = AuditQuery()
        query.actor = q.actor
        query.action = q.action
        query.targetType = q.targetType
        query.targetID = q.targetId
        query.from = q.from.map(Timestamp.init)
        query.to = q.to.map(Timestamp.init)
        query.limit = try Self.checkedLimit(q.limit)
        if let cursor = q.cursor {
            guard let id = Base64URL.decode(cursor).flatMap(Int64.init) else { throw APIError.invalid("cursor", rule: "format", "is not a cursor this API returned") }
            query.beforeID = id
        }
        let page = try await security.audit.search(query)
        return .ok(.init(body: .json(.init(
            items: page.entries.map { id, entry in
                .init(
                    id: id, at: entry.at.date, actor: entry.actor, actorKind: entry.actorKind, action: entry.action,
                    targetType: entry.targetType, targetId: entry.targetID, outcome: entry.outcome == "success" ? .success : .failure,
                    clientAddress: entry.clientAddress, requestId: entry.requestID,
                    details: entry.details.flatMap { try? JSONDecoder().decode([String: String].self, from: Data($0.utf8)) }.map { .init(additionalProperties: $0) })
            },
            nextCursor: page.nextBeforeID.map { Base64URL.encode(String($0)) }))))
    }

    // MARK: Representations

    func tokenResponse(_ signIn: SecurityService.SignIn) -> Components.Schemas.TokenResponse {
        .init(
            accessToken: signIn.accessToken, tokenType: .bearer, expiresIn: signIn.expiresIn, refreshToken: signIn.refreshToken,
            refreshExpiresIn: Int(security.settings.refreshTokenSeconds), user: Self.user(signIn.user))
    }

    static func user(_ user: UserRecord) -> Components.Schemas.User {
        .init(
            id: user.id, username: user.username, displayName: user.displayName, email: user.email,
            roles: user.roles.sorted().compactMap { .init(rawValue: $0.rawValue) }, storeScope: user.storeScope?.rawValue,
            regionScope: user.regionScope, customerId: user.customerID, disabled: user.disabled,
            createdAt: user.createdAt.date, updatedAt: user.updatedAt.date)
    }

    static func key(_ key: APIKeyRecord) -> Components.Schemas.APIKey {
        .init(
            id: key.id, name: key.name, prefix: key.prefix, roles: key.roles.sorted().compactMap { .init(rawValue: $0.rawValue) },
            storeScope: key.storeScope?.rawValue, createdBy: key.createdBy, createdAt: key.createdAt.date,
            lastUsedAt: key.lastUsedAt?.date, revokedAt: key.revokedAt?.date)
    }
}

extension APIError {
    static let notJSON = APIError(.unsupportedMediaType, code: "unsupported_media_type", message: "send the body as application/json")
}
