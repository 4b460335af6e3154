import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OrderFlowDomain
import OrderFlowPersistence
import Synchronization

/// Recognises callers by `Authorization: Bearer <access token>`, `Authorization: Bearer <API key>`
/// or `x-api-key: <API key>`, and signed-in browsers by the dashboard's session cookie.
///
/// The token or key only says who it is; roles, scope and the disabled flag are read from storage
/// (kept for a few seconds per instance), so a change takes effect without waiting for tokens to
/// expire.
public final class Authenticator: RequestAuthenticator {
    let users: UserRepository
    let tokens: TokenService
    let clock: any WallClock
    let cacheSeconds: Double
    private let cache = Mutex<[String: CachedPrincipal]>([:])
    private let revokedFamilies = Mutex<[String: (revoked: Bool, loadedAt: Int64)]>([:])

    private struct CachedPrincipal {
        var principal: Principal?
        /// For users: the password-change time a token must carry. For keys: the key's ID.
        var check: Int64
        var loadedAt: Int64
        var keyID: String?
        var keyTouchedAt: Int64?
    }

    public init(users: UserRepository, tokens: TokenService, clock: any WallClock, cacheSeconds: Double = 5) {
        self.users = users
        self.tokens = tokens
        self.clock = clock
        self.cacheSeconds = cacheSeconds
    }

    public func authenticate(_ request: Request, context: AppRequestContext) async throws -> Principal? {
        // Empty headers count as absent (some clients send every scheme's header, empty or not).
        let key = request.headers[.apiKey]?.trimmingSpaces().nonEmpty
        let authorization = request.headers[.authorization]?.trimmingSpaces().nonEmpty
        guard let authorization else {
            if let key { return try await principal(forKey: key) }
            return try await principal(forSession: request)
        }
        guard authorization.lowercased().hasPrefix("bearer") else {
            throw Self.unauthorized("use Authorization: Bearer <token> or x-api-key: <key>")
        }
        let credential = String(authorization.dropFirst(6)).trimmingSpaces()
        // Every credential presented must be valid, and all must name the same caller.
        let bearer: Principal? =
            credential.isEmpty
            ? nil
            : credential.hasPrefix(APIKeys.prefix)
                ? try await principal(forKey: credential) : try await principal(forAccessToken: credential)
        guard let key else { return bearer }
        let keyed = try await principal(forKey: key)
        if let bearer, bearer != keyed {
            throw Self.unauthorized("Authorization and x-api-key name different callers; send one of them")
        }
        return keyed
    }

    /// The dashboard's session cookie, when a request carries no other credentials. A browser
    /// sends it with whatever request a page makes, so anything but reading must come from a page
    /// of this server (`DashboardSession.isSameOrigin`).
    func principal(forSession request: Request) async throws -> Principal? {
        guard let token = DashboardSession.accessToken(request) else { return nil }
        if request.method != .get && request.method != .head && !DashboardSession.isSameOrigin(request) {
            throw APIError(
                .forbidden, code: "cross_site",
                message: "a signed-in browser may change things only from OrderFlow's own pages")
        }
        return try await principal(forAccessToken: token)
    }

    func principal(forAccessToken token: String) async throws -> Principal {
        let claims: TokenService.Claims
        do {
            claims = try tokens.verify(token)
        } catch .expired {
            throw Self.unauthorized("the access token has expired; refresh it")
        } catch {
            throw Self.unauthorized("the access token is not valid")
        }
        let entry = try await cached("user:\(claims.sub)") {
            guard let user = try await self.users.user(id: claims.sub) else {
                return CachedPrincipal(principal: nil, check: 0, loadedAt: 0)
            }
            return CachedPrincipal(
                principal: user.disabled ? nil : user.principal, check: user.passwordChangedAt.microseconds, loadedAt: 0
            )
        }
        guard let principal = entry.principal, entry.check == claims.pwd else {
            throw Self.unauthorized("the access token is no longer valid")
        }
        guard try await !isRevoked(family: claims.fam) else {
            throw Self.unauthorized("this sign-in has ended; sign in again")
        }
        return principal
    }

    /// Whether a sign-in was ended (read at most every `cacheSeconds`; once ended, for good).
    private func isRevoked(family: String) async throws -> Bool {
        let now = clock.now().microseconds
        if let known = revokedFamilies.withLock({ $0[family] }),
            known.revoked || Double(now - known.loadedAt) < cacheSeconds * 1_000_000
        {
            return known.revoked
        }
        let revoked = try await users.isFamilyRevoked(family)
        revokedFamilies.withLock { families in
            if families.count > 10_000 { families = families.filter { $0.value.revoked } }
            if families.count > 10_000 { families.removeAll() }
            families[family] = (revoked, now)
        }
        return revoked
    }

    /// Ends a sign-in here at once (other instances notice within `cacheSeconds`).
    public func forget(family: String) {
        revokedFamilies.withLock { $0[family] = (true, clock.now().microseconds) }
    }

    func principal(forKey key: String) async throws -> Principal {
        let hash = TokenService.hash(key)
        let entry = try await cached("key:\(hash)") {
            guard let record = try await self.users.key(hash: hash), record.revokedAt == nil else {
                return CachedPrincipal(principal: nil, check: 0, loadedAt: 0)
            }
            return CachedPrincipal(
                principal: record.principal, check: 0, loadedAt: 0, keyID: record.id,
                keyTouchedAt: record.lastUsedAt?.microseconds)
        }
        guard let principal = entry.principal else { throw Self.unauthorized("the API key is unknown or revoked") }
        try await touch(hash: hash, entry: entry)
        return principal
    }

    /// Records a key's last use, at most once a minute per key and instance.
    private func touch(hash: String, entry: CachedPrincipal) async throws {
        guard let id = entry.keyID else { return }
        let now = clock.now().microseconds
        if let touched = entry.keyTouchedAt, now - touched < 60_000_000 { return }
        cache.withLock { $0["key:\(hash)"]?.keyTouchedAt = now }
        try await users.touchKey(id: id, at: Timestamp(microseconds: now))
    }

    private func cached(_ key: String, load: @Sendable () async throws -> CachedPrincipal) async throws
        -> CachedPrincipal
    {
        let now = clock.now().microseconds
        if let entry = cache.withLock({ $0[key] }), Double(now - entry.loadedAt) < cacheSeconds * 1_000_000 {
            return entry
        }
        var entry = try await load()
        entry.loadedAt = now
        cache.withLock { cache in
            if cache.count > 10_000 { cache.removeAll() }
            cache[key] = entry
        }
        return entry
    }

    /// Forgets what this instance knows about a user or a key, after it changed here; other
    /// instances notice within `cacheSeconds`.
    public func invalidate(userID: String? = nil, keyID: String? = nil) {
        cache.withLock { cache in
            if let userID { cache["user:\(userID)"] = nil }
            if let keyID { cache = cache.filter { $0.value.keyID != keyID } }
        }
    }

    static func unauthorized(_ message: String) -> APIError {
        APIError(
            .unauthorized, code: "unauthorized", message: message,
            headers: [.wwwAuthenticate: #"Bearer realm="orderflow""#])
    }
}

enum APIKeys {
    static let prefix = "ofk_"
}

extension HTTPField.Name {
    static let apiKey = HTTPField.Name("x-api-key")!
}
