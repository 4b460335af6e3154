import Foundation
import OrderFlowDomain

/// The store pages as HTML: functions of `StoreModel`, no I/O.
enum StoreView {
    /// The board page: search, period, the bulk cancel form when the caller may cancel, the board.
    static func page(text: String, hours: Int, mayCancel: Bool, notice: HTML, sections: RenderedSections) -> HTML {
        let windows = [(1, "last hour"), (8, "last 8 hours"), (24, "last 24 hours"), (168, "last 7 days")]
            .map { value, label -> HTML in
                "<option value=\"\(value)\"\(value == hours ? " selected" : "" as HTML)>\(label)</option>"
            }
        let bulk: HTML =
            mayCancel
            ? """
            <div class="card actions"><label for="bulk-reason">Reason</label>
            <input id="bulk-reason" form="bulk" name="reason" placeholder="e.g. customer called to cancel" required \
            maxlength="200">
            <button form="bulk" type="submit" class="danger">Cancel selected orders</button>
            <label class="tick"><input type="checkbox" data-select-all="orderId"> \
            Select all new and allocated</label></div>
            <form id="bulk" method="post" action="/dashboard/orders/bulk-cancel" \
            data-confirm="Cancel every selected order?"></form>
            """ : .empty
        return """
            \(notice)
            <form class="filters card" method="get" action="/dashboard/store" role="search">
            <div><label for="store-q">Find an order or a customer</label>\
            <input id="store-q" name="q" value="\(text)" maxlength="64"></div>
            <div><label for="store-hours">Created</label><select id="store-hours" name="hours">\(windows)</select></div>
            <button type="submit" class="primary">Show</button></form>
            \(bulk)
            \(Layout.live("board", topics: "order", label: "Order board", sections["board"]))
            """
    }

    static func board(_ model: StoreModel.Board) -> HTML {
        let columns = model.columns.map { column -> HTML in
            let orders = column.orders
            let count = column.hasMore ? "\(orders.count)+" : "\(orders.count)"
            let selectable = model.selectable && (column.column == .new || column.column == .allocated)
            let cards = orders.prefix(30).map { card($0, selectable: selectable) }
            let more: HTML =
                orders.count > 30
                ? "<p class=\"muted\">and \(orders.count - 30) more: search to narrow.</p>"
                : .empty
            let name = column.column.rawValue
            return """
                <section class="column card" aria-labelledby="col-\(name)"><h2 id="col-\(name)">\
                <span>\(column.column.title)</span>\
                <span class="badge info" data-count="\(name)">\(count)</span></h2><ol>\(cards)</ol>\(more)</section>
                """
        }
        return "<div class=\"board\">\(columns)</div>"
    }

    /// An order on the board, with a box to select it for bulk cancelling when `selectable`.
    private static func card(_ order: Order, selectable: Bool) -> HTML {
        let box: HTML =
            selectable
            ? """
            <label class="tick"><input type="checkbox" form="bulk" name="orderId" value="\(order.id.rawValue)" \
            aria-label="Select \(order.id.rawValue)"></label>
            """
            : .empty
        let payment = order.paymentStatus.rawValue.replacingOccurrences(of: "_", with: " ")
        let cod: HTML = order.paymentMethod == .cod ? " · <span class=\"badge warn\">COD \(payment)</span>" : .empty
        return """
            <li data-row="o\(order.id.rawValue)-\(order.status.rawValue)">\(box)\
            <a href="/dashboard/orders/\(order.id.rawValue.formURLEncoded)">\
            <strong>\(order.id.rawValue)</strong><br>\
            \(order.customer.name) · \(Display.money(order.totals.totalCharge))\(cod)<br>\
            <span class="muted">\(order.shipFromLocationID.rawValue) · \(order.orderType.rawValue) · \
            \(Display.time(order.createdAt))</span></a></li>
            """
    }

    /// The order page around its one section.
    static func orderPage(_ model: StoreModel.OrderDetail, notice: HTML, sections: RenderedSections) -> HTML {
        let label = "Order \(model.stored.order.id.rawValue)"
        return "\(notice)\(Layout.live("order", topics: "order", label: label, sections["order"]))"
    }

    static func order(_ model: StoreModel.OrderDetail) -> HTML {
        let order = model.stored.order
        let id = order.id.rawValue
        let lines = order.lines.map { line -> HTML in
            """
            <tr><td>\(line.number)</td><td>\(line.sku.rawValue)</td><td>\(line.shortDescription ?? "")</td>\
            <td>\(line.quantity)</td>
            <td>\(Display.money(line.unitPrice))</td><td>\(Display.money(line.amounts.discount))</td>\
            <td>\(Display.money(line.amounts.net))</td></tr>
            """
        }
        var actions: [HTML] = []
        if model.mayCancel {
            actions.append(
                """
                <form method="post" action="/dashboard/orders/\(id.formURLEncoded)/cancel" \
                data-confirm="Cancel order \(id)?">
                <label for="cancel-reason">Reason</label>\
                <input id="cancel-reason" name="reason" required maxlength="200">
                <button type="submit" class="danger">Cancel order</button></form>
                """)
        }
        if model.mayRecordFulfilment {
            let steps = ["picked", "packed", "shipped", "out_for_delivery", "delivered", "failed"].map { step -> HTML in
                "<option value=\"\(step)\">\(step.replacingOccurrences(of: "_", with: " "))</option>"
            }
            actions.append(
                """
                <form method="post" action="/dashboard/orders/\(id.formURLEncoded)/fulfilment" \
                data-confirm="Record this for order \(id)?">
                <label for="step">Record</label><select id="step" name="step">\(steps)</select>
                <button type="submit" class="primary">Record</button></form>
                """)
        }
        let address = order.deliveryAddress.map { "\($0.line1), \($0.city) \($0.postalCode)" } ?? "collects in store"
        let payment = order.paymentStatus.rawValue.replacingOccurrences(of: "_", with: " ")
        let totals = order.totals
        return """
            <div class="card" id="order"><h2>\(id) \(Display.orderBadge(order.status))</h2>
            <dl class="facts"><dt>Store</dt><dd>\(order.shipFromLocationID.rawValue)</dd>\
            <dt>Customer</dt><dd>\(order.customer.name)\(Display.part(" · ", order.customer.phone))</dd>
            <dt>Deliver to</dt><dd>\(address)</dd>
            <dt>Type</dt><dd>\(order.orderType.rawValue) · \(order.channel.rawValue)</dd>
            <dt>Payment</dt><dd>\(order.paymentMethod.rawValue) · <span id="payment-status">\(payment)</span></dd>
            <dt>Tracking</dt><dd>\(order.trackingID ?? "–")\(Display.part(" · ", order.carrier))</dd></dl>
            <div class="actions">\(actions)</div>
            <p><a href="/dashboard/trace?q=\(id.formURLEncoded)">Trace its transmissions</a></p></div>
            <div class="card"><h2>Lines</h2><div class="scroll"><table><thead><tr><th scope="col">#</th>\
            <th scope="col">SKU</th><th scope="col">Item</th>
            <th scope="col">Qty</th><th scope="col">Unit price</th><th scope="col">Discount</th>\
            <th scope="col">Net</th></tr></thead><tbody>\(lines)</tbody></table></div>
            <dl class="facts"><dt>Subtotal</dt><dd>\(Display.money(totals.subTotal))</dd>\
            <dt>Discounts</dt><dd>\(Display.money(totals.totalDiscount))</dd>
            <dt>Fees</dt><dd>\(Display.money(totals.totalFees))</dd>\
            <dt>Taxes</dt><dd>\(Display.money(totals.totalTaxes))</dd>
            <dt>Total</dt><dd><strong>\(Display.money(totals.totalCharge))</strong></dd></dl></div>
            <div class="card"><h2>History</h2>\(Display.history(model.stored.history))</div>
            """
    }
}
