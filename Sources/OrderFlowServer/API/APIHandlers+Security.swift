import Foundation
import HTTPTypes
import OrderFlowAPI
import OrderFlowDomain

extension APIHandlers {
    /// Where an anonymous request comes from (signing in, registering), for the audit log.
    var origin: AuditOrigin { RequestScope.context?.origin ?? AuditOrigin(actor: "anonymous", actorKind: "anonymous") }

    // MARK: Sign-in

    func login(_ input: Operations.Login.Input) async throws -> Operations.Login.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        let signIn = try await services.security.login(username: body.username, password: body.password, origin: origin)
        return .ok(.init(body: .json(tokenResponse(signIn))))
    }

    func refreshToken(_ input: Operations.RefreshToken.Input) async throws -> Operations.RefreshToken.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        return .ok(
            .init(body: .json(tokenResponse(try await services.security.refresh(body.refreshToken, origin: origin)))))
    }

    func logout(_ input: Operations.Logout.Input) async throws -> Operations.Logout.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        try await services.security.logout(body.refreshToken, origin: origin)
        return .noContent(.init())
    }

    func register(_ input: Operations.Register.Input) async throws -> Operations.Register.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        let user = try await services.users.register(
            username: body.username, password: body.password, displayName: body.displayName, email: body.email,
            from: origin)
        return .created(.init(body: .json(self.user(user))))
    }

    // MARK: Own profile

    func getMe(_ input: Operations.GetMe.Input) async throws -> Operations.GetMe.Output {
        .ok(.init(body: .json(user(try await services.users.profile(of: try caller)))))
    }

    func updateMe(_ input: Operations.UpdateMe.Input) async throws -> Operations.UpdateMe.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        let user = try await services.users.updateProfile(
            displayName: body.displayName, email: body.email.map { Optional($0) }, newPassword: body.newPassword,
            currentPassword: body.currentPassword, by: try caller)
        return .ok(.init(body: .json(self.user(user))))
    }

    // MARK: Users (admin)

    func listUsers(_ input: Operations.ListUsers.Input) async throws -> Operations.ListUsers.Output {
        .ok(.init(body: .json(.init(items: try await services.users.users().map(user)))))
    }

    func createUser(_ input: Operations.CreateUser.Input) async throws -> Operations.CreateUser.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        let (user, password) = try await services.users.createUser(
            username: body.username, displayName: body.displayName, email: body.email, password: body.password,
            roles: Set(body.roles.compactMap { Role(rawValue: $0.rawValue) }), storeScope: body.storeScope,
            regionScope: body.regionScope,
            customerID: body.customerId, by: try caller)
        return .created(.init(body: .json(.init(user: self.user(user), password: password))))
    }

    func updateUser(_ input: Operations.UpdateUser.Input) async throws -> Operations.UpdateUser.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        let changes = UserService.Changes(
            displayName: body.displayName, email: body.email.map { Optional($0) },
            roles: body.roles.map { Set($0.compactMap { Role(rawValue: $0.rawValue) }) },
            storeScope: body.storeScope, regionScope: body.regionScope, customerID: body.customerId,
            disabled: body.disabled, rateLimit: body.rateLimit.map { ($0.requestsPerSecond, $0.burst) })
        return .ok(
            .init(
                body: .json(user(try await services.users.updateUser(input.path.userId, changes, by: try caller))))
        )
    }

    func resetPassword(_ input: Operations.ResetPassword.Input) async throws -> Operations.ResetPassword.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        let generated = try await services.users.resetPassword(of: input.path.userId, to: body.password, by: try caller)
        return .ok(.init(body: .json(.init(password: generated))))
    }

    // MARK: API keys (admin)

    func listAPIKeys(_ input: Operations.ListAPIKeys.Input) async throws -> Operations.ListAPIKeys.Output {
        .ok(.init(body: .json(.init(items: try await services.users.keys().map(key)))))
    }

    func updateAPIKey(_ input: Operations.UpdateAPIKey.Input) async throws -> Operations.UpdateAPIKey.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        let record = try await services.users.updateKey(
            input.path.keyId, rateLimit: (body.rateLimit.requestsPerSecond, body.rateLimit.burst), by: try caller)
        return .ok(.init(body: .json(key(record))))
    }

    func createAPIKey(_ input: Operations.CreateAPIKey.Input) async throws -> Operations.CreateAPIKey.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        let (key, record) = try await services.users.createKey(
            name: body.name, roles: Set(body.roles.compactMap { Role(rawValue: $0.rawValue) }),
            storeScope: body.storeScope, rateLimit: body.rateLimit.map { ($0.requestsPerSecond, $0.burst) },
            by: try caller)
        return .created(.init(body: .json(.init(key: key, apiKey: self.key(record)))))
    }

    func revokeAPIKey(_ input: Operations.RevokeAPIKey.Input) async throws -> Operations.RevokeAPIKey.Output {
        .ok(.init(body: .json(key(try await services.users.revokeKey(input.path.keyId, by: try caller)))))
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
        query.beforeID = try Self.cursorID(q.cursor)
        let page = try await services.users.audit(query)
        return .ok(
            .init(
                body: .json(
                    .init(
                        items: page.entries.map { id, entry in
                            .init(
                                id: id, at: entry.at.date, actor: entry.actor, actorKind: entry.actorKind,
                                action: entry.action,
                                targetType: entry.targetType, targetId: entry.targetID,
                                outcome: entry.outcome == "success" ? .success : .failure,
                                clientAddress: entry.clientAddress, requestId: entry.requestID,
                                details: entry.details.flatMap {
                                    try? JSONDecoder().decode([String: String].self, from: Data($0.utf8))
                                }
                                .map { .init(additionalProperties: $0) })
                        },
                        nextCursor: Self.cursor(page.nextBeforeID)))))
    }

    // MARK: Representations

    func tokenResponse(_ signIn: SecurityService.SignIn) -> Components.Schemas.TokenResponse {
        .init(
            accessToken: signIn.accessToken, tokenType: .bearer, expiresIn: signIn.expiresIn,
            refreshToken: signIn.refreshToken,
            refreshExpiresIn: Int(services.security.settings.refreshTokenSeconds), user: user(signIn.user))
    }

    func user(_ user: UserRecord) -> Components.Schemas.User {
        .init(
            id: user.id, username: user.username, displayName: user.displayName, email: user.email,
            roles: user.roles.sorted().compactMap { .init(rawValue: $0.rawValue) },
            storeScope: user.storeScope?.rawValue,
            regionScope: user.regionScope, customerId: user.customerID, disabled: user.disabled,
            rateLimit: rateLimit(own: user.rateLimit, roles: user.roles),
            createdAt: user.createdAt.date, updatedAt: user.updatedAt.date)
    }

    func key(_ key: APIKeyRecord) -> Components.Schemas.APIKey {
        .init(
            id: key.id, name: key.name, prefix: key.prefix,
            roles: key.roles.sorted().compactMap { .init(rawValue: $0.rawValue) },
            storeScope: key.storeScope?.rawValue, rateLimit: rateLimit(own: key.rateLimit, roles: key.roles),
            createdBy: key.createdBy, createdAt: key.createdAt.date,
            lastUsedAt: key.lastUsedAt?.date, revokedAt: key.revokedAt?.date)
    }

    private func rateLimit(own: RateLimit?, roles: Set<Role>) -> Components.Schemas.EffectiveRateLimit? {
        services.security.settings.rateLimitPolicy.limit(own: own, roles: roles).map {
            .init(
                requestsPerSecond: $0.limit.requestsPerSecond, burst: $0.limit.burst,
                source: .init(rawValue: $0.source.rawValue) ?? ._default)
        }
    }
}

extension APIError {
    static let notJSON = APIError(
        .unsupportedMediaType, code: "unsupported_media_type", message: "send the body as application/json")
}
