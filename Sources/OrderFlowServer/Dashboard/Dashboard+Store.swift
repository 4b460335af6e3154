import Foundation
import Hummingbird
import OrderFlowDomain
import OrderFlowEngine

/// The store board's columns: the order statuses a store team works through, left to right.
enum BoardColumn: String, CaseIterable, Sendable {
    case new, allocated, released, onTheWay = "on-the-way", delivered, cancelled

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

extension Dashboard {
    /// Store operations, tablet first: the pipeline board of the caller's orders by status with
    /// counts, search, and bulk cancellation of orders not yet released.
    func store(_ request: Request, context: AppRequestContext) async throws -> Response {
        let principal = try principal(context)
        let query = request.queryForm
        let text = query["q"]?.trimmingCharacters(in: .whitespaces) ?? ""
        let hours = query["hours"].flatMap { Int($0) } ?? 24
        guard [1, 8, 24, 168].contains(hours) else { throw APIError.invalid("hours", rule: "enum", "1, 8, 24 or 168") }
        guard text.count <= 64 else { throw APIError.invalid("q", rule: "length", "at most 64 characters") }
        let mayCancel = principal.may(.ordersCancel)
        return try await render(request, title: "Store", view: .store, principal: principal, sections: [
            ("board", { try await board(text: text, hours: hours, selectable: mayCancel, for: principal) }),
        ]) { parts in
            let windows = [(1, "last hour"), (8, "last 8 hours"), (24, "last 24 hours"), (168, "last 7 days")].map { value, label -> HTML in
                "<option value=\"\(value)\"\(value == hours ? " selected" : "" as HTML)>\(label)</option>"
            }
            let bulk: HTML = mayCancel ? """
                <div class="card actions"><label for="bulk-reason">Reason</label>
                <input id="bulk-reason" form="bulk" name="reason" placeholder="e.g. customer called to cancel" required maxlength="200">
                <button form="bulk" type="submit" class="danger">Cancel selected orders</button>
                <label><input type="checkbox" data-select-all="orderId"> Select all new and allocated</label></div>
                <form id="bulk" method="post" action="/dashboard/orders/bulk-cancel" data-confirm="Cancel every selected order?"></form>
                """ : .empty
            return """
                \(Self.notice(request))
                <form class="filters card" method="get" action="/dashboard/store" role="search">
                <div><label for="store-q">Find an order or a customer</label><input id="store-q" name="q" value="\(text)" maxlength="64"></div>
                <div><label for="store-hours">Created</label><select id="store-hours" name="hours">\(windows)</select></div>
                <button type="submit" class="primary">Show</button></form>
                \(bulk)
                \(Layout.live("board", topics: "order", label: "Order board", parts["board"]))
                """
        }
    }

    func board(text: String, hours: Int, selectable: Bool, for principal: Principal) async throws -> HTML {
        let since = clock.now().adding(seconds: -Double(hours) * 3_600)
        var columns: [HTML] = []
        for column in BoardColumn.allCases {
            var query = OrderQuery()
            query.statuses = column.statuses
            query.createdFrom = since
            query.text = text.isEmpty ? nil : text
            query.limit = 100
            let page = try await services.orders.search(query, for: principal)
            let orders = page.orders
            let count = page.next == nil ? "\(orders.count)" : "\(orders.count)+"
            let cards = orders.prefix(30).map { entry -> HTML in
                let order = entry.order
                let box: HTML = selectable && (column == .new || column == .allocated)
                    ? "<input type=\"checkbox\" form=\"bulk\" name=\"orderId\" value=\"\(order.id.rawValue)\" aria-label=\"Select \(order.id.rawValue)\">"
                    : .empty
                let cod: HTML = order.paymentMethod == .cod ? " · <span class=\"badge warn\">COD \(order.paymentStatus.rawValue.replacingOccurrences(of: "_", with: " "))</span>" : .empty
                return """
                    <li data-row="o\(order.id.rawValue)-\(order.status.rawValue)">\(box)<a href="/dashboard/orders/\(order.id.rawValue.formURLEncoded)">\
                    <strong>\(order.id.rawValue)</strong><br>\(order.customer.name) · \(Display.money(order.totals.totalCharge))\(cod)<br>\
                    <span class="muted">\(order.shipFromLocationID.rawValue) · \(order.orderType.rawValue) · \(Display.time(order.createdAt))</span></a></li>
                    """
            }
            let more: HTML = orders.count > 30 ? "<p class=\"muted\">and \(orders.count - 30) more: search to narrow.</p>" : .empty
            columns.append("""
                <section class="column card" aria-labelledby="col-\(column.rawValue)"><h2 id="col-\(column.rawValue)"><span>\(column.title)</span>\
                <span class="badge info" data-count="\(column.rawValue)">\(count)</span></h2><ol>\(cards)</ol>\(more)</section>
                """)
        }
        return "<div class=\"board\">\(columns)</div>"
    }

    /// One order: lines, totals, payment and COD state, history, and the quick actions the
    /// caller may take on it.
    func orderDetail(_ request: Request, context: AppRequestContext) async throws -> Response {
        let principal = try principal(context)
        let id = try context.parameters.require("orderId")
        let stored = try await services.orders.order(OrderID(id), for: principal)
        return try await render(request, title: "Order \(id)", view: .store, principal: principal, sections: [
            ("order", { orderCard(stored, principal: principal) }),
        ]) { parts in
            "\(Self.notice(request))\(Layout.live("order", topics: "order", label: "Order \(stored.order.id.rawValue)", parts["order"]))"
        }
    }

    func orderCard(_ stored: StoredOrder, principal: Principal) -> HTML {
        let order = stored.order
        let lines = order.lines.map { line -> HTML in
            """
            <tr><td>\(line.number)</td><td>\(line.sku.rawValue)</td><td>\(line.shortDescription ?? "")</td><td>\(line.quantity)</td>
            <td>\(Display.money(line.unitPrice))</td><td>\(Display.money(line.amounts.discount))</td><td>\(Display.money(line.amounts.net))</td></tr>
            """
        }
        var actions: [HTML] = []
        if principal.may(.ordersCancel), order.status.canMove(to: .cancelled) {
            actions.append("""
                <form method="post" action="/dashboard/orders/\(order.id.rawValue.formURLEncoded)/cancel" data-confirm="Cancel order \(order.id.rawValue)?">
                <label for="cancel-reason">Reason</label><input id="cancel-reason" name="reason" required maxlength="200">
                <button type="submit" class="danger">Cancel order</button></form>
                """)
        }
        if principal.may(.fulfillmentWrite), order.status.rawValue >= OrderStatus.released.rawValue, order.status != .cancelled, order.status != .delivered {
            let steps = ["picked", "packed", "shipped", "out_for_delivery", "delivered", "failed"].map { step -> HTML in
                "<option value=\"\(step)\">\(step.replacingOccurrences(of: "_", with: " "))</option>"
            }
            actions.append("""
                <form method="post" action="/dashboard/orders/\(order.id.rawValue.formURLEncoded)/fulfilment" data-confirm="Record this for order \(order.id.rawValue)?">
                <label for="step">Record</label><select id="step" name="step">\(steps)</select>
                <button type="submit" class="primary">Record</button></form>
                """)
        }
        return """
            <div class="card" id="order"><h2>\(order.id.rawValue) \(Display.orderBadge(order.status))</h2>
            <dl class="facts"><dt>Store</dt><dd>\(order.shipFromLocationID.rawValue)</dd><dt>Customer</dt><dd>\(order.customer.name)\(Display.part(" · ", order.customer.phone))</dd>
            <dt>Deliver to</dt><dd>\(order.deliveryAddress.map { "\($0.line1), \($0.city) \($0.postalCode)" } ?? "collects in store")</dd>
            <dt>Type</dt><dd>\(order.orderType.rawValue) · \(order.channel.rawValue)</dd>
            <dt>Payment</dt><dd>\(order.paymentMethod.rawValue) · <span id="payment-status">\(order.paymentStatus.rawValue.replacingOccurrences(of: "_", with: " "))</span></dd>
            <dt>Tracking</dt><dd>\(order.trackingID ?? "–")\(Display.part(" · ", order.carrier))</dd></dl>
            <div class="actions">\(actions)</div>
            <p><a href="/dashboard/trace?q=\(order.id.rawValue.formURLEncoded)">Trace its transmissions</a></p></div>
            <div class="card"><h2>Lines</h2><div class="scroll"><table><thead><tr><th scope="col">#</th><th scope="col">SKU</th><th scope="col">Item</th>
            <th scope="col">Qty</th><th scope="col">Unit price</th><th scope="col">Discount</th><th scope="col">Net</th></tr></thead><tbody>\(lines)</tbody></table></div>
            <dl class="facts"><dt>Subtotal</dt><dd>\(Display.money(order.totals.subTotal))</dd><dt>Discounts</dt><dd>\(Display.money(order.totals.totalDiscount))</dd>
            <dt>Fees</dt><dd>\(Display.money(order.totals.totalFees))</dd><dt>Taxes</dt><dd>\(Display.money(order.totals.totalTaxes))</dd>
            <dt>Total</dt><dd><strong>\(Display.money(order.totals.totalCharge))</strong></dd></dl></div>
            <div class="card"><h2>History</h2>\(Display.history(stored.history))</div>
            """
    }

    func cancel(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try context.parameters.require("orderId")
        return try await act(request, context, fallback: "/dashboard/orders/\(id.formURLEncoded)") { form, caller in
            _ = try await services.orders.cancel(OrderID(id), reason: form["reason"] ?? "", by: caller)
            return "Order \(id) cancelled."
        }
    }

    /// Cancels each selected order on its own: one that cannot be cancelled (released meanwhile)
    /// is reported and does not stop the others.
    func bulkCancel(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await Form.read(request, context: context)
        let ids = Array(Set(form.all("orderId"))).sorted()
        guard !ids.isEmpty else { throw APIError.invalid("orderId", rule: "required", "select at least one order") }
        guard ids.count <= 100 else { throw APIError.invalid("orderId", rule: "range", "at most 100 orders at a time") }
        let reason = form["reason"] ?? ""
        let caller = try context.caller
        var cancelled = 0
        var refused: [String] = []
        for id in ids {
            do {
                _ = try await services.orders.cancel(OrderID(id), reason: reason, by: caller)
                cancelled += 1
            } catch {
                // A bad reason is the same for every order: say so once, as the page's error.
                guard let refusal = APIError.from(error), refusal.status != .unprocessableContent, refusal.status != .badRequest else { throw error }
                refused.append("\(id) (\(refusal.message))")
            }
        }
        let notice = "\(cancelled) cancelled" + (refused.isEmpty ? "." : "; not cancelled: " + refused.joined(separator: ", "))
        return redirectBack(request, fallback: DashboardView.store.path, notice: notice)
    }

    /// Records a fulfilment step the way the fulfilment centre or carrier would report it.
    func fulfilment(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try context.parameters.require("orderId")
        return try await act(request, context, fallback: "/dashboard/orders/\(id.formURLEncoded)") { form, caller in
            let step = form["step"] ?? ""
            let update = FulfillmentEvents.Update(eventID: "dashboard-\(UUID().uuidString.lowercased())", orderID: OrderID(id))
            if let ship = FulfillmentEvents.ShipEvent(rawValue: step) {
                _ = try await services.orders.record(ship: ship, update, by: caller)
            } else if let delivery = FulfillmentEvents.DeliveryStatus(rawValue: step) {
                _ = try await services.orders.record(delivery: delivery, update, by: caller)
            } else {
                throw APIError.invalid("step", rule: "enum", "a fulfilment step (picking, picked, packing, packed, shipped) or a delivery status (in_transit, out_for_delivery, delivered, failed, rescheduled)")
            }
            return "Recorded \(step.replacingOccurrences(of: "_", with: " ")) for \(id)."
        }
    }
}
