import OrderFlowDomain
import OrderFlowEngine

/// The store board's columns: the order statuses a store team works through, left to right.
enum BoardColumn: String, CaseIterable, Sendable {
    case new, allocated, released
    case onTheWay = "on-the-way"
    case delivered, cancelled

    var title: String {
        switch self {
        case .new: "New"
        case .allocated: "Allocated"
        case .released: "Released · picking"
        case .onTheWay: "On the way"
        case .delivered: "Delivered"
        case .cancelled: "Cancelled"
        }
    }

    var statuses: [OrderStatus] {
        switch self {
        case .new: [.open]
        case .allocated: [.allocated]
        case .released: [.released, .picking, .picked, .packed]
        case .onTheWay: [.fulfilled, .shipped, .inTransit, .outForDelivery, .deliveryFailed]
        case .delivered: [.delivered]
        case .cancelled: [.cancelled]
        }
    }
}

/// What the store pages show: the board of the caller's orders, and one order in detail.
enum StoreModel {
    /// The caller's orders created in the last `hours`, matching `text`, column by column.
    struct Board: Sendable {
        struct Column: Sendable {
            let column: BoardColumn
            /// The first 100, as one search returns them.
            let orders: [Order]
            /// More orders than these are in the column.
            let hasMore: Bool
        }

        let columns: [Column]
        /// The caller may cancel orders, so new and allocated ones can be selected for it.
        let selectable: Bool

        static func load(
            text: String, hours: Int, from services: AppServices, now: Timestamp, for principal: Principal
        ) async throws -> Self {
            let since = now.adding(seconds: -Double(hours) * 3_600)
            var columns: [Column] = []
            for column in BoardColumn.allCases {
                var query = OrderQuery()
                query.statuses = column.statuses
                query.createdFrom = since
                query.text = text.isEmpty ? nil : text
                query.limit = 100
                let page = try await services.orders.search(query, for: principal)
                columns.append(Column(column: column, orders: page.orders.map(\.order), hasMore: page.next != nil))
            }
            return Self(columns: columns, selectable: principal.may(.ordersCancel))
        }
    }

    /// One order with its history, and the quick actions the caller may take on it now.
    struct OrderDetail: Sendable {
        let stored: StoredOrder
        let mayCancel: Bool
        let mayRecordFulfilment: Bool

        static func load(_ id: OrderID, from services: AppServices, for principal: Principal) async throws -> Self {
            let stored = try await services.orders.order(id, for: principal)
            let status = stored.order.status
            return Self(
                stored: stored,
                mayCancel: principal.may(.ordersCancel) && status.canMove(to: .cancelled),
                mayRecordFulfilment: principal.may(.fulfillmentWrite)
                    && status.rawValue >= OrderStatus.released.rawValue && status != .cancelled && status != .delivered)
        }
    }
}
