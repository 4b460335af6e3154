import OrderFlowDomain

/// Every route and what it requires: a permission, or nothing (public). A route missing from this
/// table is refused for everyone, and the authorization test fails on it.
public enum RoutePolicy {
    public enum Requirement: Sendable, Equatable {
        case publicRoute
        case permission(Permission)
    }

    /// (method, path template as in the API document) → requirement.
    public static let routes: [String: Requirement] = [
        "GET /api/v1/health": .publicRoute,
        "POST /api/auth/login": .publicRoute,
        "POST /api/auth/refresh": .publicRoute,
        "POST /api/auth/logout": .publicRoute,
        "POST /api/auth/register": .publicRoute,
        "GET /openapi.yaml": .publicRoute,
        "GET /": .publicRoute,

        // The dashboard (docs/dashboard.md): each page and action requires what its API
        // counterpart does.
        "GET /login": .publicRoute,
        "POST /login": .publicRoute,
        "POST /logout": .publicRoute,
        "GET /assets/app.css": .publicRoute,
        "GET /assets/app.js": .publicRoute,
        "GET /dashboard/operations": .permission(.monitorRead),
        "GET /dashboard/trace": .permission(.monitorRead),
        "GET /dashboard/management": .permission(.monitorRead),
        "GET /dashboard/development": .permission(.deadLettersRead),
        "GET /dashboard/store": .permission(.ordersRead),
        "GET /dashboard/orders/{orderId}": .permission(.ordersRead),
        "POST /dashboard/orders/{orderId}/cancel": .permission(.ordersCancel),
        "POST /dashboard/orders/bulk-cancel": .permission(.ordersCancel),
        "POST /dashboard/orders/{orderId}/fulfilment": .permission(.fulfillmentWrite),
        "POST /dashboard/alerts/{alertId}/acknowledge": .permission(.alertsManage),
        "POST /dashboard/alerts/{alertId}/resolve": .permission(.alertsManage),
        "POST /dashboard/alerts/{alertId}/silence": .permission(.alertsManage),
        "POST /dashboard/transmissions/{transmissionId}/replay": .permission(.deadLettersManage),
        "POST /dashboard/dead-letters/{deadLetterId}/replay": .permission(.deadLettersManage),
        "POST /dashboard/dead-letters/{deadLetterId}/discard": .permission(.deadLettersManage),
        "POST /dashboard/acks/{ackId}/link": .permission(.acksLink),
        "GET /dashboard/invoices": .permission(.invoicesRead),
        "POST /dashboard/invoices/start": .permission(.invoicesControl),
        "POST /dashboard/invoices/stop": .permission(.invoicesControl),
        "GET /metrics": .permission(.metricsRead),

        "POST /api/orders": .permission(.ordersCreate),
        "GET /api/orders/search": .permission(.ordersRead),
        "GET /api/orders/{orderId}": .permission(.ordersRead),
        "POST /api/orders/{orderId}/cancel": .permission(.ordersCancel),
        "PATCH /api/orders/{orderId}/lines/{lineNumber}": .permission(.ordersChange),

        "GET /api/products": .permission(.catalogRead),
        "POST /api/products": .permission(.catalogWrite),
        "GET /api/products/{sku}": .permission(.catalogRead),
        "GET /api/locations": .permission(.catalogRead),
        "POST /api/locations": .permission(.catalogWrite),

        "GET /api/inventory/{sku}": .permission(.inventoryRead),
        "PUT /api/inventory/{sku}/locations/{locationId}": .permission(.inventoryWrite),
        "POST /api/inventory/reserve": .permission(.inventoryReserve),
        "POST /api/inventory/release": .permission(.inventoryReserve),

        "POST /api/fulfillment/ship-events": .permission(.fulfillmentWrite),
        "PUT /api/delivery/status": .permission(.fulfillmentWrite),
        "GET /api/dead-letters": .permission(.deadLettersRead),
        "GET /api/dead-letters/{deadLetterId}": .permission(.deadLettersRead),
        "POST /api/dead-letters/{deadLetterId}/replay": .permission(.deadLettersManage),
        "POST /api/dead-letters/{deadLetterId}/discard": .permission(.deadLettersManage),

        "GET /api/users/me": .permission(.profile),
        "PUT /api/users/me": .permission(.profile),
        "GET /api/users": .permission(.usersManage),
        "POST /api/users": .permission(.usersManage),
        "PATCH /api/users/{userId}": .permission(.usersManage),
        "POST /api/users/{userId}/reset-password": .permission(.usersManage),
        "GET /api/api-keys": .permission(.apiKeysManage),
        "POST /api/api-keys": .permission(.apiKeysManage),
        "DELETE /api/api-keys/{keyId}": .permission(.apiKeysManage),
        "PATCH /api/api-keys/{keyId}": .permission(.apiKeysManage),
        "GET /api/audit": .permission(.auditRead),

        "GET /api/v1/monitor/recent": .permission(.monitorRead),
        "GET /api/v1/stream": .permission(.ordersRead),
        "POST /api/v1/seed-mock-data": .permission(.mockSeed),
        "GET /api/v1/monitor/summary": .permission(.monitorRead),
        "GET /api/v1/monitor/transmissions": .permission(.monitorRead),
        "GET /api/v1/monitor/orders/{orderId}/trace": .permission(.monitorRead),
        "GET /api/v1/monitor/channels": .permission(.monitorRead),
        "POST /api/v1/acks": .permission(.acksWrite),
        "GET /api/v1/acks/inconsistencies": .permission(.monitorRead),
        "POST /api/v1/acks/{ackId}/link": .permission(.acksLink),
        "GET /api/v1/alert-rules": .permission(.monitorRead),
        "POST /api/v1/alert-rules": .permission(.alertRulesManage),
        "PUT /api/v1/alert-rules/{ruleId}": .permission(.alertRulesManage),
        "DELETE /api/v1/alert-rules/{ruleId}": .permission(.alertRulesManage),
        "GET /api/v1/alerts": .permission(.monitorRead),
        "GET /api/v1/invoice-stream": .permission(.invoicesRead),
        "POST /api/v1/invoice-stream/start": .permission(.invoicesControl),
        "POST /api/v1/invoice-stream/stop": .permission(.invoicesControl),
        "GET /api/v1/invoices": .permission(.invoicesRead),
        "GET /api/v1/invoices/stats": .permission(.invoicesRead),
        "GET /api/v1/alerts/{alertId}": .permission(.monitorRead),
        "POST /api/v1/alerts/{alertId}/acknowledge": .permission(.alertsManage),
        "POST /api/v1/alerts/{alertId}/resolve": .permission(.alertsManage),
        "GET /api/v1/silences": .permission(.monitorRead),
        "POST /api/v1/silences": .permission(.alertsManage),
        "DELETE /api/v1/silences/{silenceId}": .permission(.alertsManage),
        "GET /api/v1/exports/orders.csv": .permission(.reportsExport),
        "GET /api/v1/exports/transmissions.csv": .permission(.monitorRead),
    ]

    public static func requirement(method: String, path: String) -> Requirement? {
        routes["\(method) \(path)"]
    }

    /// Downstream systems reporting back (acknowledgements, carrier events): charged to a budget
    /// of their caller's apart from its other requests, queued briefly before being refused, and
    /// a refusal holds back the deadline sweep (`CallbackThrottle`).
    public static let callbacks: Set<String> = [
        "POST /api/v1/acks", "POST /api/fulfillment/ship-events", "PUT /api/delivery/status",
    ]

    /// The methods the table has for a request path (`/api/orders/ORD-1`), for the `Allow` header
    /// of a 405; empty when no route has the path. Like the router, a literal segment outranks a
    /// parameter, so `/api/orders/search` is the search route's path, not an order's.
    public static func methods(at requestPath: String) -> [String] {
        let segments = requestPath.split(separator: "/")
        var best: (rank: [Bool], methods: [String])?
        for (template, methods) in methodsByTemplate {
            let parts = template.split(separator: "/")
            guard parts.count == segments.count else { continue }
            let literal = parts.map { !($0.hasPrefix("{") && $0.hasSuffix("}")) }
            guard zip(parts, zip(literal, segments)).allSatisfy({ !$1.0 || $0 == $1.1 }) else { continue }
            if let current = best, !literal.lexicographicallyPrecedes(current.rank, by: { $0 && !$1 }) {
                continue
            }
            best = (literal, methods)
        }
        return best?.methods ?? []
    }

    /// Path template → its methods, in a fixed order.
    private static let methodsByTemplate: [String: [String]] = {
        let order = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        var table: [String: [String]] = [:]
        for route in routes.keys {
            let parts = route.split(separator: " ", maxSplits: 1).map(String.init)
            table[parts[1], default: []].append(parts[0])
        }
        return table.mapValues { methods in methods.sorted { order.firstIndex(of: $0)! < order.firstIndex(of: $1)! } }
    }()

    /// The permission table and the route list as Markdown, for docs/security.md.
    public static func markdown() -> String {
        var text = "| permission | meaning | " + Role.allCases.map(\.rawValue).joined(separator: " | ") + " |\n"
        text += "|---|---|" + Role.allCases.map { _ in "---|" }.joined() + "\n"
        for permission in Permission.allCases {
            text +=
                "| `\(permission.rawValue)` | \(permission.summary) | "
                + Role.allCases.map { $0.permissions.contains(permission) ? "yes" : "" }.joined(separator: " | ")
                + " |\n"
        }
        text += "\n| route | requires |\n|---|---|\n"
        // By path, then method.
        let ordered = routes.sorted {
            ($0.key.split(separator: " ")[1], $0.key) < ($1.key.split(separator: " ")[1], $1.key)
        }
        for (route, requirement) in ordered {
            switch requirement {
            case .publicRoute: text += "| `\(route)` | public |\n"
            case .permission(let permission): text += "| `\(route)` | `\(permission.rawValue)` |\n"
            }
        }
        text += "\n| role | scope |\n|---|---|\n"
        for role in Role.allCases { text += "| `\(role.rawValue)` | \(role.scopeRule) |\n" }
        return text
    }
}
