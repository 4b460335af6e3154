import Foundation
import OrderFlowDomain
import OrderFlowPersistence
import OrderFlowSimulator
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
    /// The simulated systems' own keys (`Simulator.Caller`), so the key printed for a person is
    /// theirs alone: their traffic and the systems' callbacks do not share a budget.
    static let systemKeyNames: [(caller: Simulator.Caller, name: String)] = [
        (.commerce, "demo commerce engine"), (.carrier, "demo carrier"), (.generator, "demo order generator"),
    ]

    /// - Returns: the new API keys of the simulated systems.
    static func refresh(security: SecurityService, announce: @Sendable (String) -> Void) async throws
        -> [Simulator.Caller: String]
    {
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
        // One live key of each demo name at a time.
        let audit = AuditEntry(at: now, actor: "demo", actorKind: "system", action: "apikey.rotate_demo")
        let names = Set([keyName] + systemKeyNames.map(\.name))
        for key in try await security.users.keys() where names.contains(key.name) && key.revokedAt == nil {
            _ = try await security.users.revokeKey(id: key.id, at: now, audit: audit)
        }
        func create(_ name: String, roles: Set<Role>) async throws -> String {
            let key = TokenService.randomSecret(prefix: APIKeys.prefix)
            _ = try await security.users.createKey(
                id: UUID().uuidString.lowercased(), name: name, hash: TokenService.hash(key),
                prefix: String(key.prefix(8)),
                roles: roles, storeScope: nil, createdBy: "demo", at: now, audit: audit)
            return key
        }
        let key = try await create(keyName, roles: [.integration, .operations])
        var systems: [Simulator.Caller: String] = [:]
        var systemLines: [String] = []
        for (caller, name) in systemKeyNames {
            let systemKey = try await create(name, roles: [.integration])
            systems[caller] = systemKey
            systemLines.append(
                "  \(name.padding(toLength: 22, withPad: " ", startingAt: 0)) integration   \(systemKey.prefix(8))…")
        }
        let policy = security.settings.rateLimitPolicy
        let budget =
            policy.limit(own: nil, roles: [.integration, .operations]).map {
                "\(Int($0.limit.requestsPerSecond)) requests a second, bursts of \(Int($0.limit.burst))"
            } ?? "no rate limit"
        announce(
            """
            Demo sign-ins (new passwords at every start; POST /api/auth/login):
            \(lines.joined(separator: "\n"))
            Demo API key (integration, operations; send as x-api-key; yours alone: \(budget)):
              \(key)
            The simulated systems call OrderFlow with keys of their own (GET /api/api-keys):
            \(systemLines.joined(separator: "\n"))
            """)
        return systems
    }
}

/// The simulated systems' API keys, handed from start-up to the simulators that call OrderFlow.
public final class DemoKey: Sendable {
    private let value = Mutex<[Simulator.Caller: String]>([:])
    public init() {}
    public func set(_ keys: [Simulator.Caller: String]) { value.withLock { $0 = keys } }
    /// The key of one simulated system, once the demo made it.
    public func key(for caller: Simulator.Caller) -> String? { value.withLock { $0[caller] } }
}
