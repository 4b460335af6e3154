import Foundation
import HTTPTypes
import HummingbirdBcrypt
import Logging
import NIOPosix
import OrderFlowDomain
import OrderFlowPersistence

/// Sign-in, tokens, users, keys and their audit trail. Passwords are hashed with bcrypt off the
/// request threads; refresh tokens and keys are stored as SHA-256 hashes; no secret is logged.
public struct SecurityService: Sendable {
    let users: UserRepository
    let attempts: SignInAttemptRepository
    let audit: AuditRepository
    let tokens: TokenService
    let authenticator: Authenticator
    let settings: AppConfiguration.SecuritySettings
    let clock: any WallClock
    let logger: Logger

    public init(database: Database, settings: AppConfiguration.SecuritySettings, clock: any WallClock, logger: Logger) {
        users = UserRepository(database: database)
        attempts = SignInAttemptRepository(database: database)
        audit = AuditRepository(database: database)
        tokens = TokenService(accessLifetimeSeconds: settings.accessTokenSeconds, clock: clock)
        authenticator = Authenticator(
            users: users, tokens: tokens, clock: clock, cacheSeconds: settings.sessionCheckSeconds)
        self.settings = settings
        self.clock = clock
        self.logger = logger
        decoyHash = Bcrypt.hash("decoy password that matches nothing", cost: settings.bcryptCost)
    }

    /// Hashes on the blocking thread pool: bcrypt is slow on purpose.
    func hashPassword(_ password: String) async throws -> String {
        let cost = settings.bcryptCost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    func verifyPassword(_ password: String, hash: String) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }

    /// A hash of the accounts' own cost to check against when the user does not exist, so both
    /// cases take as long.
    let decoyHash: String

    // MARK: Sign-in

    public struct SignIn: Sendable {
        public var accessToken: String
        public var expiresIn: Int
        public var refreshToken: String
        public var user: UserRecord
    }

    /// Signs a user in. Every name is treated alike, known or not: the password is checked against
    /// a hash of the same cost, and failures are counted, slowed down and locked the same way.
    /// Failures count per account and client address, so an address that guesses locks that
    /// account for itself only, and an attempt is counted before its password is checked, so
    /// guesses sent at once cannot pass the limit together.
    func login(username: String, password: String, origin: AuditOrigin) async throws -> SignIn {
        let now = clock.now()
        let name = username.trimmingSpaces().lowercased()
        let address = origin.clientAddress ?? "unknown"
        var origin = origin
        origin.actor = name
        let user = try await users.user(username: name)
        func failed(_ reason: String, _ details: [String: String] = [:]) async throws {
            try await audit.append(
                origin.entry(
                    "auth.login_failed", targetType: "user", targetID: user?.id ?? name, outcome: "failure", at: now,
                    details: details.merging(["reason": reason]) { $1 }))
        }
        let attempt: Int
        switch try await attempts.reserve(
            username: name, address: address, at: now, forgetAfter: settings.loginLockSeconds)
        {
        case .locked(let until):
            try await failed("locked")
            throw Self.locked(until: until, now: now)
        case .attempt(let count) where count > settings.loginMaxFailures:
            // Sent together with the guesses that reached the limit: refused unchecked.
            let until = now.adding(seconds: settings.loginLockSeconds)
            try await attempts.lock(username: name, address: address, until: until)
            try await failed("locked")
            throw Self.locked(until: until, now: now)
        case .attempt(let count):
            attempt = count
        }
        let matches = try await verifyPassword(password, hash: user?.passwordHash ?? decoyHash)
        guard let user, matches else {
            try await failed(user == nil ? "unknown user" : "wrong password", ["failures": String(attempt)])
            // Each failure in a row makes the next answer slower.
            let delay = min(2_000, settings.loginFailureDelayMilliseconds * attempt)
            if delay > 0 { try await Task.sleep(for: .milliseconds(delay)) }
            if attempt >= settings.loginMaxFailures {
                let until = now.adding(seconds: settings.loginLockSeconds)
                try await attempts.lock(username: name, address: address, until: until)
                logger.warning(
                    "sign-ins refused after failures",
                    metadata: ["username": "\(name)", "client_address": "\(address)", "failures": "\(attempt)"])
                throw Self.locked(until: until, now: now)
            }
            throw Self.wrongCredentials
        }
        guard !user.disabled else {
            try await failed("disabled")
            throw Authenticator.unauthorized("this account is disabled")
        }
        try await attempts.clear(username: name, address: address)
        let signIn = try await issueTokens(for: user, family: UUID().uuidString.lowercased(), at: now)
        try await audit.append(origin.entry("auth.login", targetType: "user", targetID: user.id, at: now))
        return signIn
    }

    func refresh(_ refreshToken: String, origin: AuditOrigin) async throws -> SignIn {
        let now = clock.now()
        let next = TokenService.randomSecret(prefix: "ofr_")
        let outcome = try await users.rotate(
            hash: TokenService.hash(refreshToken), to: TokenService.hash(next), at: now,
            expiresAt: now.adding(seconds: settings.refreshTokenSeconds), reuseGrace: settings.refreshReuseGraceSeconds)
        switch outcome {
        case .rotated(let userID, let family):
            guard let user = try await users.user(id: userID), !user.disabled else {
                try await users.revokeAllTokens(userID: userID, at: now)
                throw Authenticator.unauthorized("this account is disabled")
            }
            let access = try tokens.issue(userID: user.id, passwordChangedAt: user.passwordChangedAt, family: family)
            return SignIn(accessToken: access.token, expiresIn: access.expiresIn, refreshToken: next, user: user)
        case .reused(let userID, let family):
            authenticator.forget(family: family)
            var origin = origin
            origin.actor = userID
            try await audit.append(
                origin.entry("auth.refresh_reused", targetType: "user", targetID: userID, outcome: "failure", at: now))
            logger.warning("refresh token reused; its sign-in is revoked", metadata: ["user_id": "\(userID)"])
            throw Authenticator.unauthorized(
                "this refresh token was already used; every session of that sign-in is now signed out")
        case .invalid:
            throw Authenticator.unauthorized("the refresh token is unknown, expired or revoked")
        }
    }

    /// Ends the sign-in of `refreshToken`: its refresh tokens, its access tokens and its streams.
    func logout(_ refreshToken: String, origin: AuditOrigin) async throws {
        let now = clock.now()
        if let revoked = try await users.revokeFamily(ofTokenHash: TokenService.hash(refreshToken), at: now) {
            authenticator.forget(family: revoked.family)
            var origin = origin
            origin.actor = revoked.userID
            try await audit.append(
                origin.entry("auth.logout", targetType: "user", targetID: revoked.userID, at: now))
        }
    }

    private func issueTokens(for user: UserRecord, family: String, at now: Timestamp) async throws -> SignIn {
        let refresh = TokenService.randomSecret(prefix: "ofr_")
        try await users.storeRefreshToken(
            hash: TokenService.hash(refresh), family: family, userID: user.id, issuedAt: now,
            expiresAt: now.adding(seconds: settings.refreshTokenSeconds))
        let access = try tokens.issue(userID: user.id, passwordChangedAt: user.passwordChangedAt, family: family)
        return SignIn(accessToken: access.token, expiresIn: access.expiresIn, refreshToken: refresh, user: user)
    }

    static let wrongCredentials = Authenticator.unauthorized("wrong username or password")

    static func locked(until: Timestamp, now: Timestamp) -> APIError {
        let seconds = max(1, Int((Double(until.microseconds - now.microseconds) / 1_000_000).rounded(.up)))
        return APIError(
            .tooManyRequests, code: "account_locked", message: "too many failed sign-ins; try again in \(seconds) s",
            headers: [.retryAfter: String(seconds)])
    }

    // MARK: Bootstrap

    /// A database is the demo's or a real one, for good: the demo gives its accounts new passwords
    /// and adds an API key at every start, which must never happen to a real database. The first
    /// start records which it is; a database that has users but no record predates it and is
    /// taken for a real one (`orderflow demo --reset` makes a fresh demo database).
    func claimDatabase(forDemo demo: Bool) async throws {
        let hasUsers = try await !users.users().isEmpty
        let madeBy = try await users.setting(
            "database_made_by", createWith: { !hasUsers && demo ? "demo" : "serve" }, at: clock.now())
        if demo && madeBy != "demo" {
            throw DatabaseNotTheDemos()
        }
    }

    struct DatabaseNotTheDemos: Error, CustomStringConvertible {
        var description: String {
            "this database was not made by orderflow demo, which would reset its accounts' passwords and add an API key; "
                + "run orderflow serve on it, or orderflow demo --reset (or another --database) for a demo database of its own"
        }
    }

    /// Resolves the token signing key: configured, or created once and kept in the database.
    func configureSigningKey() async throws {
        if let secret = settings.jwtSecret {
            tokens.configure(secret: secret)
            return
        }
        let secret = try await users.setting(
            "jwt_signing_key", createWith: { TokenService.randomSecret(prefix: "") }, at: clock.now())
        tokens.configure(secret: secret)
    }

    /// Creates the first administrator when none exists, with the configured password or a
    /// generated one, which `announce` prints once.
    func ensureAdministrator(announce: @Sendable (String) -> Void) async throws {
        guard try await !users.exists(role: .admin) else { return }
        let generated = settings.adminPassword == nil
        let password = settings.adminPassword ?? TokenService.randomPassword()
        let now = clock.now()
        let username = try await users.user(username: "admin") == nil ? "admin" : "admin-\(Int.random(in: 1000...9999))"
        let user = UserRecord(
            username: username, displayName: "Administrator", email: nil,
            passwordHash: try await hashPassword(password),
            roles: [.admin], passwordChangedAt: now, createdAt: now, updatedAt: now)
        try await users.create(user)
        try await audit.append(
            AuditEntry(
                at: now, actor: "system", actorKind: "system", action: "user.create", targetType: "user",
                targetID: user.id, details: ["username": username, "roles": "admin"]))
        announce(
            generated
                ? "First start: created the administrator '\(username)' with the password\n\n    \(password)\n\nIt is shown once. Sign in with POST /api/auth/login and change it with PUT /api/users/me."
                : "First start: created the administrator '\(username)' with the password from ORDERFLOW_ADMIN_PASSWORD."
        )
    }
}
