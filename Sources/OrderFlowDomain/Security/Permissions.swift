/// What a caller may do. Every route declares one of these (or is public); roles grant sets of them.
public enum Permission: String, Sendable, CaseIterable, Comparable {
    case ordersRead = "orders.read"
    case ordersCreate = "orders.create"
    case ordersCancel = "orders.cancel"
    case ordersChange = "orders.change"
    case catalogRead = "catalog.read"
    case catalogWrite = "catalog.write"
    case inventoryRead = "inventory.read"
    case inventoryWrite = "inventory.write"
    case inventoryReserve = "inventory.reserve"
    case fulfillmentWrite = "fulfillment.write"
    case deadLettersRead = "deadletters.read"
    case deadLettersManage = "deadletters.manage"
    case profile = "profile"
    case usersManage = "users.manage"
    case apiKeysManage = "apikeys.manage"
    case auditRead = "audit.read"
    case metricsRead = "metrics.read"
    case monitorRead = "monitor.read"
    case acksWrite = "acks.write"
    case acksLink = "acks.link"
    case alertsManage = "alerts.manage"
    case alertRulesManage = "alertrules.manage"
    case reportsExport = "reports.export"
    case mockSeed = "mock.seed"
    case invoicesRead = "invoices.read"
    case invoicesControl = "invoices.control"

    public static func < (lhs: Permission, rhs: Permission) -> Bool { lhs.rawValue < rhs.rawValue }

    public var summary: String {
        switch self {
        case .ordersRead: "read and search orders (within the caller's scope)"
        case .ordersCreate: "create orders"
        case .ordersCancel: "cancel orders"
        case .ordersChange: "change order lines before release"
        case .catalogRead: "read products and locations"
        case .catalogWrite: "create products and locations"
        case .inventoryRead: "read stock"
        case .inventoryWrite: "set counted stock"
        case .inventoryReserve: "reserve and release stock"
        case .fulfillmentWrite: "post ship events and delivery status"
        case .deadLettersRead: "list and inspect dead letters"
        case .deadLettersManage: "replay and discard dead letters"
        case .profile: "read and change one's own profile and password"
        case .usersManage: "create users, change roles and scope, disable, reset passwords"
        case .apiKeysManage: "create, list and revoke API keys"
        case .auditRead: "read the audit log"
        case .metricsRead: "scrape /metrics"
        case .monitorRead: "read transmission status, summaries, traces, channel health, alerts, rules and silences"
        case .acksWrite: "post acknowledgements from downstream systems"
        case .acksLink: "link unmatched acknowledgements to transmissions by hand"
        case .alertsManage: "acknowledge and resolve alerts, create and end silences"
        case .alertRulesManage: "create, change and delete alert rules"
        case .reportsExport: "export orders as CSV (within the caller's scope)"
        case .mockSeed:
            "create demonstration orders (POST /api/v1/seed-mock-data; in the demo, anyone with orders.create)"
        case .invoicesRead: "see the live invoice stream: its state, invoices, totals and events"
        case .invoicesControl: "START and STOP the invoice stream"
        }
    }
}

/// The roles of seed 000 (operations, development, management), seed 002 (store manager,
/// regional coordinator), machines (integration) and shoppers (customer).
public enum Role: String, Sendable, CaseIterable, Comparable {
    case admin
    case operations
    case developer
    case management
    case storeManager = "store_manager"
    case regionalCoordinator = "regional_coordinator"
    case integration
    case customer

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The permission table: the single source of who may do what (rendered in docs/security.md).
    public var permissions: Set<Permission> {
        switch self {
        case .admin:
            Set(Permission.allCases)
        case .operations:
            [
                .ordersRead, .ordersCreate, .ordersCancel, .ordersChange, .catalogRead, .catalogWrite,
                .inventoryRead, .inventoryWrite, .inventoryReserve, .fulfillmentWrite, .deadLettersRead,
                .deadLettersManage,
                .profile, .metricsRead, .monitorRead, .acksLink, .alertsManage, .reportsExport, .invoicesRead,
                .invoicesControl,
            ]
        case .developer:
            [
                .ordersRead, .catalogRead, .inventoryRead, .deadLettersRead, .deadLettersManage, .profile, .auditRead,
                .metricsRead,
                .monitorRead, .acksLink, .alertsManage, .alertRulesManage, .reportsExport, .invoicesRead,
                .invoicesControl,
            ]
        case .management:
            [.ordersRead, .catalogRead, .inventoryRead, .profile, .monitorRead, .reportsExport, .invoicesRead]
        case .storeManager:
            [
                .ordersRead, .ordersCreate, .ordersCancel, .ordersChange, .catalogRead, .inventoryRead,
                .inventoryWrite, .inventoryReserve, .fulfillmentWrite, .profile, .reportsExport,
            ]
        case .regionalCoordinator:
            [.ordersRead, .ordersCancel, .catalogRead, .inventoryRead, .profile, .reportsExport]
        case .integration:
            [
                .ordersRead, .ordersCreate, .catalogRead, .inventoryRead, .inventoryReserve, .fulfillmentWrite,
                .metricsRead, .acksWrite,
            ]
        case .customer:
            [.ordersRead, .ordersCreate, .ordersCancel, .catalogRead, .profile]
        }
    }

    /// What the role's scope means, for docs and errors.
    public var scopeRule: String {
        switch self {
        case .storeManager: "own store only (the user's store scope)"
        case .regionalCoordinator: "stores of the user's region only"
        case .customer: "own orders only (the user's customer ID)"
        case .integration: "all stores, or one store when the key has a store scope"
        default: "all stores"
        }
    }
}

/// Who is calling: a signed-in user or an API key, with what they may do and see.
public struct Principal: Sendable, Hashable {
    public enum Kind: String, Sendable {
        case user
        case apiKey = "api_key"
    }

    public var id: String
    public var name: String
    public var kind: Kind
    public var roles: Set<Role>
    /// Restricts orders and stock to one store.
    public var storeScope: LocationID?
    /// Restricts orders and stock to the stores of one region.
    public var regionScope: String?
    /// A customer sees and places only orders under this customer ID.
    public var customerID: String?
    /// The caller's own request budget; nil takes its roles' default.
    public var rateLimit: RateLimit?

    public init(
        id: String, name: String, kind: Kind, roles: Set<Role>, storeScope: LocationID? = nil,
        regionScope: String? = nil, customerID: String? = nil, rateLimit: RateLimit? = nil
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.roles = roles
        self.storeScope = storeScope
        self.regionScope = regionScope
        self.customerID = customerID
        self.rateLimit = rateLimit
    }

    public var permissions: Set<Permission> { roles.reduce(into: []) { $0.formUnion($1.permissions) } }

    public func may(_ permission: Permission) -> Bool { permissions.contains(permission) }

    /// Which orders and stock this principal may see, given where each store is.
    ///
    /// The narrowest scope wins: a customer ID, then a store, then a region. Admins are never
    /// narrowed.
    public func orderScope(regionOf: (String) -> [LocationID]) -> OrderScope {
        if roles.contains(.admin) { return .everything }
        if roles.contains(.customer), let customerID { return .customer(customerID) }
        if roles.contains(.customer) { return .nothing }
        if let storeScope { return .locations([storeScope]) }
        if let regionScope { return .locations(regionOf(regionScope)) }
        if roles.contains(.storeManager) || roles.contains(.regionalCoordinator) { return .nothing }
        return .everything
    }
}

/// The part of the order book a principal may see.
public enum OrderScope: Sendable, Hashable {
    case everything
    case locations([LocationID])
    case customer(String)
    /// A scoped role without its scope set: sees nothing rather than everything.
    case nothing

    /// Whether the order lies within the scope.
    public func allows(_ order: Order) -> Bool {
        allows(location: order.shipFromLocationID, customerID: order.customer.id)
    }

    public func allows(location: LocationID, customerID: String?) -> Bool {
        switch self {
        case .everything: true
        case .locations(let locations): locations.contains(location)
        case .customer(let id): customerID == id
        case .nothing: false
        }
    }
}

/// A caller's request budget, a token bucket: `requestsPerSecond` on average, up to `burst` at
/// once (twice the rate unless given).
public struct RateLimit: Sendable, Hashable {
    public var requestsPerSecond: Double
    public var burst: Double

    /// The rates a key or user may be given.
    public static let rates: ClosedRange<Double> = 0.1...1_000_000

    public init(requestsPerSecond: Double, burst: Double? = nil) {
        self.requestsPerSecond = requestsPerSecond
        self.burst = max(1, burst ?? requestsPerSecond * 2)
    }
}
