import Foundation
import OrderFlowDomain
import OrderFlowPersistence
import Synchronization

/// The demo's sign-ins: one account per role and an integration key, with fresh secrets at every
/// start, printed so a person can try each view at once.
enum DemoAccounts {
    static let accounts:
        [(username: String, name: String, roles: Set<Role>, store: String?, region: String?, customer: String?)] = [
            ("admin", "Administrator", [.admin], nil, nil, nil),
            ("ops", "Operations desk", [.operations], nil, nil, nil),
            ("dev", "On-call developer", [.developer], nil, nil, nil),
            ("manager", "Management", [.management], nil, nil, nil),
            ("store.sukhumvit", "Sukhumvit 24 store manager", [.storeManager], "QC-BKK-001", nil, nil),
            ("region.bkk", "Bangkok regional coordinator", [.regionalCoordinator], nil, "BKK", nil),
            ("customer.somchai", "Somchai Jaidee", [.customer], nil, nil, "CUST-1001"),
        ]
    static let keyName = "demo integration"

    /// - Returns: the new API key, for the demo's simulators.
    static func refresh(security: SecurityService, announce: @Sendable (String) -> Void) async throws -> String {
        let now = security.clock.now()
        var lines: [String] = []
        for account in accounts {
            let password =
                account.username == "admin"
                ? (security.settings.adminPassword ?? TokenService.randomPassword()) : TokenService.randomPassword()
            let hash = try await security.hashPassword(password)
            if var user = try await security.users.user(username: account.username) {
                user.passwordHash = hash
                user.passwordChangedAt = user.passwordChangedAt.later(now)
                user.disabled = false
                user.updatedAt = now
                try await security.users.update(user)
                try await security.attempts.clear(username: user.username)
            } else {
                try await security.users.create(
                    UserRecord(
                        username: account.username, displayName: account.name, email: nil, passwordHash: hash,
                        roles: account.roles,
                        storeScope: account.store.map(LocationID.init), regionScope: account.region,
                        customerID: account.customer,
                        passwordChangedAt: now, createdAt: now, updatedAt: now))
            }
            let role = account.roles.map(\.rawValue).sorted().joined(separator: ",")
            let scope = account.store ?? account.region ?? account.customer ?? ""
            lines.append(
                "  \(account.username.padding(toLength: 18, withPad: " ", startingAt: 0)) \(password)   \(role)\(scope.isEmpty ? "" : " (\(scope))")"
            )
        }
        // One live demo key at a time.
        let audit = AuditEntry(at: now, actor: "demo", actorKind: "system", action: "apikey.rotate_demo")
        for key in try await security.users.keys() where key.name == keyName && key.revokedAt == nil {
            _ = try await security.users.revokeKey(id: key.id, at: now, audit: audit)
        }
        let key = TokenService.randomSecret(prefix: APIKeys.prefix)
        _ = try await security.users.createKey(
            id: UUID().uuidString.lowercased(), name: keyName, hash: TokenService.hash(key),
            prefix: String(key.prefix(8)),
            roles: [.integration, .operations], storeScope: nil, createdBy: "demo", at: now, audit: audit)
        announce(
            """
            Demo sign-ins (new passwords at every start; POST /api/auth/login):
            \(lines.joined(separator: "\n"))
            Demo API key (integration, operations; send as x-api-key):
              \(key)
            """)
        return key
    }
}

/// The demo's API key, handed from start-up to the simulators that call OrderFlow.
public final class DemoKey: Sendable {
    private let value = Mutex<String?>(nil)
    public init() {}
    public func set(_ key: String) { value.withLock { $0 = key } }
    public var key: String? { value.withLock { $0 } }
}
