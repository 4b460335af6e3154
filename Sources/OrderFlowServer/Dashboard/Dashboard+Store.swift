import Foundation
import Hummingbird
import OrderFlowDomain
import OrderFlowEngine

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
        return try await render(
            request, title: "Store", view: .store, principal: principal,
            sections: [
                (
                    "board",
                    {
                        StoreView.board(
                            try await .load(text: text, hours: hours, from: services, now: clock.now(), for: principal))
                    }
                )
            ]
        ) { sections in
            StoreView.page(
                text: text, hours: hours, mayCancel: principal.may(.ordersCancel), notice: Self.notice(request),
                sections: sections)
        }
    }

    /// One order: lines, totals, payment and COD state, history, and the quick actions the
    /// caller may take on it.
    func orderDetail(_ request: Request, context: AppRequestContext) async throws -> Response {
        let principal = try principal(context)
        let id = try context.parameters.require("orderId")
        let detail = try await StoreModel.OrderDetail.load(OrderID(id), from: services, for: principal)
        return try await render(
            request, title: "Order \(id)", view: .store, principal: principal,
            sections: [
                ("order", { StoreView.order(detail) })
            ]
        ) { sections in
            StoreView.orderPage(detail, notice: Self.notice(request), sections: sections)
        }
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
                guard let refusal = APIError.from(error), refusal.status != .unprocessableContent,
                    refusal.status != .badRequest
                else { throw error }
                refused.append("\(id) (\(refusal.message))")
            }
        }
        let notice =
            "\(cancelled) cancelled"
            + (refused.isEmpty ? "." : "; not cancelled: " + refused.joined(separator: ", "))
        return redirectBack(request, fallback: DashboardView.store.path, notice: notice)
    }

    /// Records a fulfilment step the way the fulfilment centre or carrier would report it.
    func fulfilment(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try context.parameters.require("orderId")
        return try await act(request, context, fallback: "/dashboard/orders/\(id.formURLEncoded)") { form, caller in
            let step = form["step"] ?? ""
            let update = FulfillmentEvents.Update(
                eventID: "dashboard-\(UUID().uuidString.lowercased())", orderID: OrderID(id))
            if let ship = FulfillmentEvents.ShipEvent(rawValue: step) {
                _ = try await services.orders.record(ship: ship, update, by: caller)
            } else if let delivery = FulfillmentEvents.DeliveryStatus(rawValue: step) {
                _ = try await services.orders.record(delivery: delivery, update, by: caller)
            } else {
                throw APIError.invalid(
                    "step", rule: "enum",
                    "a fulfilment step (picking, picked, packing, packed, shipped) or a delivery status "
                        + "(in_transit, out_for_delivery, delivered, failed, rescheduled)")
            }
            return "Recorded \(step.replacingOccurrences(of: "_", with: " ")) for \(id)."
        }
    }
}
