import Foundation
import HTTPTypes
import OrderFlowAPI
import OrderFlowDomain
import OrderFlowEngine

extension APIHandlers {
    // MARK: Fulfilment and delivery events

    func postShipEvent(_ input: Operations.PostShipEvent.Input) async throws -> Operations.PostShipEvent.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        let update = try checkedUpdate(
            eventID: body.eventId, orderID: body.orderId, trackingID: body.trackingId, carrier: body.carrier,
            reason: nil, occurredAt: body.occurredAt)
        let event = FulfillmentEvents.ShipEvent(rawValue: body._type.rawValue)!
        let (outcome, stored) = try await services.orders.record(ship: event, update, by: try caller)
        return .ok(.init(body: .json(eventResult(update, outcome, stored.order))))
    }

    func putDeliveryStatus(_ input: Operations.PutDeliveryStatus.Input) async throws
        -> Operations.PutDeliveryStatus.Output
    {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        let update = try checkedUpdate(
            eventID: body.eventId, orderID: body.orderId, trackingID: body.trackingId, carrier: body.carrier,
            reason: body.reason,
            occurredAt: body.occurredAt)
        let status = FulfillmentEvents.DeliveryStatus(rawValue: body.status.rawValue)!
        let (outcome, stored) = try await services.orders.record(delivery: status, update, by: try caller)
        return .ok(.init(body: .json(eventResult(update, outcome, stored.order))))
    }

    private func checkedUpdate(
        eventID: String, orderID: String, trackingID: String?, carrier: String?, reason: String?, occurredAt: Date?
    ) throws -> FulfillmentEvents.Update {
        var errors: [FieldError] = []
        if !Formats.isVisibleASCII(eventID, maxLength: 100) {
            errors.append(
                FieldError(field: "eventId", rule: "format", message: "must be 1–100 visible ASCII characters"))
        }
        if let trackingID, !Formats.isVisibleASCII(trackingID, maxLength: 64) {
            errors.append(
                FieldError(field: "trackingId", rule: "format", message: "must be 1–64 visible ASCII characters"))
        }
        if let carrier, !Formats.isText(carrier, maxLength: 40) {
            errors.append(FieldError(field: "carrier", rule: "format", message: "must be 1–40 characters"))
        }
        if let reason, !reason.isEmpty, !Formats.isText(reason, maxLength: 500) {
            errors.append(
                FieldError(
                    field: "reason", rule: "format",
                    message: "must be plain text (no control characters) of at most 500 characters"))
        }
        if !errors.isEmpty { throw APIError.validation(errors) }
        return FulfillmentEvents.Update(
            eventID: eventID, orderID: OrderID(orderID), trackingID: trackingID, carrier: carrier,
            reason: reason?.isEmpty == true ? nil : reason,
            occurredAt: occurredAt.map(Timestamp.init))
    }

    private func eventResult(_ update: FulfillmentEvents.Update, _ outcome: FulfillmentEvents.Outcome, _ order: Order)
        -> Components.Schemas.EventResult
    {
        .init(
            eventId: update.eventID, orderId: order.id.rawValue, outcome: .init(rawValue: outcome.rawValue)!,
            status: .init(order.status),
            statusName: order.status.name, paymentStatus: .init(order.paymentStatus))
    }

    // MARK: Dead letters

    func listDeadLetters(_ input: Operations.ListDeadLetters.Input) async throws -> Operations.ListDeadLetters.Output {
        let q = input.query
        var query = DeadLetterQuery()
        query.state = q.state.flatMap { DeadLetter.State(rawValue: $0.rawValue) }
        query.source = q.source.flatMap { DeadLetter.Source(rawValue: $0.rawValue) }
        query.channel = q.channel
        query.orderID = q.orderId.map(OrderID.init)
        query.from = q.from.map(Timestamp.init)
        query.to = q.to.map(Timestamp.init)
        query.limit = try Self.checkedLimit(q.limit)
        query.beforeID = try Self.cursorID(q.cursor)
        let page = try await services.deadLetters.search(query, for: try principal)
        return .ok(
            .init(
                body: .json(.init(items: page.letters.map(Self.deadLetter), nextCursor: Self.cursor(page.nextBeforeID)))
            ))
    }

    func getDeadLetter(_ input: Operations.GetDeadLetter.Input) async throws -> Operations.GetDeadLetter.Output {
        .ok(
            .init(
                body: .json(
                    Self.deadLetter(try await services.deadLetters.letter(input.path.deadLetterId, for: try principal)))
            ))
    }

    func replayDeadLetter(_ input: Operations.ReplayDeadLetter.Input) async throws -> Operations.ReplayDeadLetter.Output
    {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        let letter = try await services.deadLetters.replay(
            input.path.deadLetterId, correctedPayload: body.payload, note: body.note, by: try caller)
        return .ok(.init(body: .json(Self.deadLetter(letter))))
    }

    func discardDeadLetter(_ input: Operations.DiscardDeadLetter.Input) async throws
        -> Operations.DiscardDeadLetter.Output
    {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        return .ok(
            .init(
                body: .json(
                    Self.deadLetter(
                        try await services.deadLetters.discard(input.path.deadLetterId, note: body.note, by: try caller)
                    ))))
    }

    static func deadLetter(_ letter: DeadLetter) -> Components.Schemas.DeadLetter {
        .init(
            id: letter.id, source: .init(rawValue: letter.source.rawValue)!, orderId: letter.orderID?.rawValue,
            channel: letter.channel,
            eventId: letter.eventID, kind: letter.kind, payload: letter.payload, error: letter.error,
            attempts: letter.attempts,
            state: .init(rawValue: letter.state.rawValue)!, createdAt: letter.createdAt.date,
            resolvedAt: letter.resolvedAt?.date,
            resolvedBy: letter.resolvedBy, note: letter.note)
    }
}
