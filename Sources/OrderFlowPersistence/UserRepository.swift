import Foundation
import OrderFlowDomain
import SQLKit

/// Users, refresh tokens, API keys and instance settings. Secrets arrive here already hashed.
public struct UserRepository: Sendable {
    public let database: Database

    public init(database: Database) { self.database = database }

    // MARK: Users

    /// - Throws: `DomainError.conflict` when the username is taken.
    public func create(_ user: UserRecord) async throws {
        do {
            try await database.transaction { db in
                try await db.insert(into: "users").model(UserRow(user), with: Rows.encoder).run()
            }
        } catch  where ConstraintViolation.isUnique(error) {
            throw DomainError.conflict(code: "username_taken", message: "username '\(user.username)' is taken")
        }
    }

    public func user(id: String) async throws -> UserRecord? {
        try await database.read { db in
            try await db.select().column("*").from("users").where("id", .equal, id).first(
                decoding: UserRow.self, with: Rows.decoder)?.record
        }
    }

    public func user(username: String) async throws -> UserRecord? {
        try await database.read { db in
            try await db.select().column("*").from("users").where("username", .equal, username.lowercased())
                .first(decoding: UserRow.self, with: Rows.decoder)?.record
        }
    }

    public func users() async throws -> [UserRecord] {
        try await database.read { db in
            try await db.select().column("*").from("users").orderBy("username").all(
                decoding: UserRow.self, with: Rows.decoder
            ).map(\.record)
        }
    }

    /// Whether any enabled user holds `role`.
    public func exists(role: Role) async throws -> Bool {
        try await users().contains { $0.roles.contains(role) && !$0.disabled }
    }

    /// Writes every field of `user`, plus `audit` in the same transaction.
    public func update(_ user: UserRecord, audit: AuditEntry? = nil) async throws {
        try await database.transaction { db in
            try await db.update("users").set(model: UserRow(user), with: Rows.encoder).where("id", .equal, user.id)
                .run()
            if let audit { try await AuditRepository.append(audit, into: db) }
        }
    }

    // MARK: Refresh tokens

    public func storeRefreshToken(
        hash: String, family: String, userID: String, issuedAt: Timestamp, expiresAt: Timestamp
    ) async throws {
        try await database.transaction { db in
            try await Self.insertRefreshToken(
                hash: hash, family: family, userID: userID, issuedAt: issuedAt, expiresAt: expiresAt, into: db)
        }
    }

    public enum RotationOutcome: Sendable, Equatable {
        case rotated(userID: String, family: String)
        /// The token was used before, outside the grace period: someone replayed it. Its whole
        /// family is now revoked.
        case reused(userID: String, family: String)
        case invalid
    }

    /// Spends a refresh token and stores its successor in the same family, in one transaction.
    ///
    /// A token spent less than `reuseGrace` seconds ago is spent again (its family gets another
    /// member) instead of counting as a replay: a browser's pages that refresh with the same token
    /// at once must not sign their user out. A replay after that revokes the family.
    public func rotate(
        hash: String, to newHash: String, at now: Timestamp, expiresAt: Timestamp, reuseGrace: Double
    ) async throws -> RotationOutcome {
        try await database.transaction { db in
            guard
                let row = try await db.raw(
                    """
                    SELECT family_id, user_id, expires_at, used_at, revoked_at
                    FROM refresh_tokens WHERE token_hash = \(bind: hash)
                    """
                ).first()?.decode(RefreshTokenRow.self)
            else { return .invalid }
            guard row.revokedAt == nil, row.expiresAt > now.microseconds else { return .invalid }
            let graceStart = now.adding(seconds: -reuseGrace).microseconds
            // Only one of two racing refreshes can flip used_at; the other finds it within the grace.
            let spent =
                try await db.raw(
                    """
                    UPDATE refresh_tokens SET used_at = \(bind: now.microseconds)
                    WHERE token_hash = \(bind: hash) AND revoked_at IS NULL
                        AND (used_at IS NULL OR used_at >= \(bind: graceStart))
                    RETURNING token_hash
                    """
                ).first() != nil
            guard spent else {
                try await Self.revokeFamily(row.familyId, at: now, in: db)
                return .reused(userID: row.userId, family: row.familyId)
            }
            try await Self.insertRefreshToken(
                hash: newHash, family: row.familyId, userID: row.userId, issuedAt: now, expiresAt: expiresAt,
                into: db)
            return .rotated(userID: row.userId, family: row.familyId)
        }
    }

    struct RefreshTokenRow: TableRow {
        static let table = "refresh_tokens"
        var familyId: String
        var userId: String
        var expiresAt: Int64
        var usedAt: Int64?
        var revokedAt: Int64?
    }

    /// Revokes the family of the token with `hash`; returns its user and family, if the token existed.
    @discardableResult
    public func revokeFamily(ofTokenHash hash: String, at now: Timestamp) async throws -> (
        userID: String, family: String
    )? {
        try await database.transaction { db in
            guard
                let row = try await db.raw(
                    """
                    SELECT family_id, user_id, expires_at, used_at, revoked_at
                    FROM refresh_tokens WHERE token_hash = \(bind: hash)
                    """
                ).first()?.decode(RefreshTokenRow.self)
            else { return nil }
            try await Self.revokeFamily(row.familyId, at: now, in: db)
            return (row.userId, row.familyId)
        }
    }

    /// True once a sign-in's family was revoked (signed out, replayed, or every session of its
    /// user ended): its access tokens are refused too.
    public func isFamilyRevoked(_ family: String) async throws -> Bool {
        try await database.read { db in
            try await db.raw(
                """
                SELECT 1 AS revoked FROM refresh_tokens
                WHERE family_id = \(bind: family) AND revoked_at IS NOT NULL LIMIT 1
                """
            ).first() != nil
        }
    }

    /// Revokes every refresh token of a user (after a password reset or when disabling).
    public func revokeAllTokens(userID: String, at now: Timestamp) async throws {
        try await database.transaction { db in
            try await db.raw(
                "UPDATE refresh_tokens SET revoked_at = \(bind: now.microseconds) WHERE user_id = \(bind: userID) AND revoked_at IS NULL"
            ).run()
        }
    }

    private static func revokeFamily(_ family: String, at now: Timestamp, in db: any SQLDatabase) async throws {
        try await db.raw(
            "UPDATE refresh_tokens SET revoked_at = \(bind: now.microseconds) WHERE family_id = \(bind: family) AND revoked_at IS NULL"
        ).run()
    }

    private static func insertRefreshToken(
        hash: String, family: String, userID: String, issuedAt: Timestamp, expiresAt: Timestamp,
        into db: any SQLDatabase
    ) async throws {
        try await db.raw(
            """
            INSERT INTO refresh_tokens (token_hash, family_id, user_id, issued_at, expires_at)
            VALUES (\(bind: hash), \(bind: family), \(bind: userID), \(bind: issuedAt.microseconds),
                \(bind: expiresAt.microseconds))
            """
        ).run()
    }

    // MARK: API keys

    public func createKey(
        id: String, name: String, hash: String, prefix: String, roles: Set<Role>, storeScope: LocationID?,
        rateLimit: RateLimit? = nil, createdBy: String, at now: Timestamp, audit: AuditEntry
    ) async throws -> APIKeyRecord {
        try await database.transaction { db in
            try await db.raw(
                """
                INSERT INTO api_keys (id, name, key_hash, prefix, roles, store_scope, rate_limit, rate_burst,
                    created_by, created_at)
                VALUES (\(bind: id), \(bind: name), \(bind: hash), \(bind: prefix), \(bind: Self.encode(roles)),
                    \(bind: storeScope?.rawValue), \(bind: rateLimit?.requestsPerSecond), \(bind: rateLimit?.burst),
                    \(bind: createdBy), \(bind: now.microseconds))
                """
            ).run()
            try await AuditRepository.append(audit, into: db)
        }
        return APIKeyRecord(
            id: id, name: name, prefix: prefix, roles: roles, storeScope: storeScope, rateLimit: rateLimit,
            createdBy: createdBy, createdAt: now)
    }

    /// Sets a key's own request budget (nil: its roles' default again).
    /// - Returns: the changed key, or nil if there is no such key.
    public func setKeyRateLimit(id: String, to rateLimit: RateLimit?, audit: AuditEntry) async throws
        -> APIKeyRecord?
    {
        try await database.transaction { db in
            try await db.raw(
                """
                UPDATE api_keys SET rate_limit = \(bind: rateLimit?.requestsPerSecond),
                    rate_burst = \(bind: rateLimit?.burst)
                WHERE id = \(bind: id)
                """
            ).run()
            guard let row = try await db.raw("SELECT * FROM api_keys WHERE id = \(bind: id)").first() else {
                return nil
            }
            try await AuditRepository.append(audit, into: db)
            return try Self.key(row)
        }
    }

    /// The key with this hash, revoked or not.
    public func key(hash: String) async throws -> APIKeyRecord? {
        try await database.read { db in
            try await db.raw("SELECT * FROM api_keys WHERE key_hash = \(bind: hash)").first().map(Self.key)
        }
    }

    public func keys() async throws -> [APIKeyRecord] {
        try await database.read { db in
            try await db.raw("SELECT * FROM api_keys ORDER BY created_at, id").all().map(Self.key)
        }
    }

    /// - Returns: the revoked key, or nil if there is no such key.
    public func revokeKey(id: String, at now: Timestamp, audit: AuditEntry) async throws -> APIKeyRecord? {
        try await database.transaction { db in
            try await db.raw(
                "UPDATE api_keys SET revoked_at = \(bind: now.microseconds) WHERE id = \(bind: id) AND revoked_at IS NULL"
            ).run()
            guard let row = try await db.raw("SELECT * FROM api_keys WHERE id = \(bind: id)").first() else {
                return nil
            }
            try await AuditRepository.append(audit, into: db)
            return try Self.key(row)
        }
    }

    public func touchKey(id: String, at now: Timestamp) async throws {
        try await database.transaction { db in
            try await db.raw("UPDATE api_keys SET last_used_at = \(bind: now.microseconds) WHERE id = \(bind: id)")
                .run()
        }
    }

    static func key(_ row: any SQLRow) throws -> APIKeyRecord {
        try row.decode(APIKeyRow.self).record
    }

    // MARK: Settings

    /// The stored value of `name`, created with `make()` the first time; the first writer wins, so
    /// every instance ends up with the same value.
    public func setting(_ name: String, createWith make: @Sendable () -> String, at now: Timestamp) async throws
        -> String
    {
        if let value = try await database.read({ db in
            try await db.raw("SELECT value FROM settings WHERE name = \(bind: name)").first()
        }) {
            return try value.decode(column: "value", as: String.self)
        }
        return try await database.transaction { db in
            try await db.raw(
                """
                INSERT INTO settings (name, value, created_at) VALUES (\(bind: name), \(bind: make()),
                    \(bind: now.microseconds))
                ON CONFLICT (name) DO NOTHING
                """
            ).run()
            return try await db.raw("SELECT value FROM settings WHERE name = \(bind: name)").first()!.decode(
                column: "value", as: String.self)
        }
    }

    static func encode(_ roles: Set<Role>) -> String { roles.map(\.rawValue).sorted().joined(separator: ",") }
    static func decode(_ text: String) -> Set<Role> {
        Set(text.split(separator: ",").compactMap { Role(rawValue: String($0)) })
    }
}

struct UserRow: Codable {
    var id: String
    var username: String
    var displayName: String
    var email: String?
    var passwordHash: String
    var roles: String
    var storeScope: String?
    var regionScope: String?
    var customerId: String?
    var disabled: Bool
    var rateLimit: Double?
    var rateBurst: Double?
    var passwordChangedAt: Int64
    var createdAt: Int64
    var updatedAt: Int64

    init(_ user: UserRecord) {
        id = user.id
        username = user.username
        displayName = user.displayName
        email = user.email
        passwordHash = user.passwordHash
        roles = UserRepository.encode(user.roles)
        storeScope = user.storeScope?.rawValue
        regionScope = user.regionScope
        customerId = user.customerID
        disabled = user.disabled
        rateLimit = user.rateLimit?.requestsPerSecond
        rateBurst = user.rateLimit?.burst
        passwordChangedAt = user.passwordChangedAt.microseconds
        createdAt = user.createdAt.microseconds
        updatedAt = user.updatedAt.microseconds
    }

    var record: UserRecord {
        UserRecord(
            id: id, username: username, displayName: displayName, email: email, passwordHash: passwordHash,
            roles: UserRepository.decode(roles), storeScope: storeScope.map(LocationID.init), regionScope: regionScope,
            customerID: customerId, disabled: disabled,
            rateLimit: rateLimit.map { RateLimit(requestsPerSecond: $0, burst: rateBurst) },
            passwordChangedAt: Timestamp(microseconds: passwordChangedAt),
            createdAt: Timestamp(microseconds: createdAt), updatedAt: Timestamp(microseconds: updatedAt))
    }
}

struct APIKeyRow: TableRow {
    static let table = "api_keys"
    var id: String
    var name: String
    var prefix: String
    var roles: String
    var storeScope: String?
    var rateLimit: Double?
    var rateBurst: Double?
    var createdBy: String
    var createdAt: Int64
    var lastUsedAt: Int64?
    var revokedAt: Int64?

    var record: APIKeyRecord {
        APIKeyRecord(
            id: id, name: name, prefix: prefix, roles: UserRepository.decode(roles),
            storeScope: storeScope.map(LocationID.init),
            rateLimit: rateLimit.map { RateLimit(requestsPerSecond: $0, burst: rateBurst) },
            createdBy: createdBy, createdAt: createdAt.time, lastUsedAt: lastUsedAt.time, revokedAt: revokedAt.time)
    }
}
