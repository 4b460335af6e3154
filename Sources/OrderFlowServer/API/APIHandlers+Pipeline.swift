import Foundation
import HTTPTypes
import OrderFlowAPI
import OrderFlowDomain
import OrderFlowEngine
import OrderFlowPersistence

extension APIHandlers {
    // MARK: Fulfilment and delivery events

    func postShipEvent(_ input: Operations.PostShipEvent.Input) async throws -> Operations.PostShipEvent.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        let update = try checkedUpdate(eventID: body.eventId, orderID: body.orderId, trackingID: body.trackingId, carrier: body.carrier, reason: nil, occurredAt: body.occurredAt)
        let event = FulfillmentEvents.ShipEvent(rawValue: body._type.rawValue)!
        let scope = try await orderScope()
        let (outcome, stored) = try await engine.fulfillment.apply(ship: event, update, actor: actor) { scope.allows(location: $0.shipFromLocationID, customerID: $0.customer.id) }
        engine.wake()
        return .ok(.init(body: .json(eventResult(update, outcome, stored.order))))
    }

    func putDeliveryStatus(_ input: Operations.PutDeliveryStatus.Input) async throws -> Operations.PutDeliveryStatus.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        let update = try checkedUpdate(eventID: body.eventId, orderID: body.orderId, trackingID: body.trackingId, carrier: body.carrier, reason: body.reason, occurredAt: body.occurredAt)
        let status = FulfillmentEvents.DeliveryStatus(rawValue: body.status.rawValue)!
        let scope = try await orderScope()
        let (outcome, stored) = try await engine.fulfillment.apply(delivery: status, update, actor: actor) { scope.allows(location: $0.shipFromLocationID, customerID: $0.customer.id) }
        engine.wake()
        return .ok(.init(body: .json(eventResult(update, outcome, stored.order))))
    }

    private func checkedUpdate(eventID: String, orderID: String, trackingID: String?, carrier: String?, reason: String?, occurredAt: Date?) throws -> FulfillmentEvents.Update {
        var errors: [FieldError] = []
        if !Formats.isVisibleASCII(eventID, maxLength: 100) { errors.append(FieldError(field: "eventId", rule: "format", message: "must be 1–100 visible ASCII characters")) }
        if let trackingID, !Formats.isVisibleASCII(trackingID, maxLength: 64) { errors.append(FieldError(field: "trackingId", rule: "format", message: "must be 1–64 visible ASCII characters")) }
        if let carrier, !Formats.isText(carrier, maxLength: 40) { errors.append(FieldError(field: "carrier", rule: "format", message: "must be 1–40 characters")) }
        if let reason, !reason.isEmpty, !Formats.isText(reason, maxLength: 500) { errors.append(FieldError(field: "reason", rule: "format", message: "must be plain text (no control characters) of at most 500 characters")) }
        if !errors.isEmpty { throw APIError.validation(errors) }
        return FulfillmentEvents.Update(
            eventID: eventID, orderID: OrderID(orderID), trackingID: trackingID, carrier: carrier, reason: reason?.isEmpty == true ? nil : reason,
            occurredAt: occurredAt.map(Timestamp.init))
    }

    private func eventResult(_ update: FulfillmentEvents.Update, _ outcome: FulfillmentEvents.Outcome, _ order: Order) -> Components.Schemas.EventResult {
        .init(
            eventId: update.eventID, orderId: order.id.rawValue, outcome: .init(rawValue: outcome.rawValue)!, status: .init(order.status),
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
        if let cursor = q.cursor {
            guard let id = Base64URL.decode(cursor).flatMap(Int64.init) else { throw APIError.invalid("cursor", rule: "format", "is not a cursor this API returned") }
            query.beforeID = id
        }
        let page = try await DeadLetterRepository(database: database).search(query)
        return .ok(.init(body: .json(.init(items: page.letters.map(Self.deadLetter), nextCursor: page.nextBeforeID.map { Base64URL.encode(String($0)) }))))
    }

    func getDeadLetter(_ input: Operations.GetDeadLetter.Input) async throws -> Operations.GetDeadLetter.Output {
        guard let letter = try await DeadLetterRepository(database: database).find(input.path.deadLetterId) else { throw APIError.notFound("dead letter", String(input.path.deadLetterId)) }
        return .ok(.init(body: .json(Self.deadLetter(letter))))
    }

    func replayDeadLetter(_ input: Operations.ReplayDeadLetter.Input) async throws -> Operations.ReplayDeadLetter.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        if let payload = body.payload, (try? JSONSerialization.jsonObject(with: Data(payload.utf8))) == nil {
            throw APIError.validation([FieldError(field: "payload", rule: "json", message: "must be a JSON document")])
        }
        let letter = try await resolve(input.path.deadLetterId, .replay(correctedPayload: body.payload), note: body.note, action: "deadletter.replay")
        engine.wake()
        return .ok(.init(body: .json(Self.deadLetter(letter))))
    }

    func discardDeadLetter(_ input: Operations.DiscardDeadLetter.Input) async throws -> Operations.DiscardDeadLetter.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        return .ok(.init(body: .json(Self.deadLetter(try await resolve(input.path.deadLetterId, .discard, note: body.note, action: "deadletter.discard")))))
    }

    private func resolve(_ id: Int64, _ resolution: DeadLetterRepository.Resolution, note: String?, action: String) async throws -> DeadLetter {
        if let note, !note.isEmpty, !Formats.isText(note, maxLength: 500) {
            throw APIError.validation([FieldError(field: "note", rule: "format", message: "must be plain text (no control characters) of at most 500 characters")])
        }
        let now = clock.now()
        var details: [String: String] = [:]
        if let note, !note.isEmpty { details["note"] = note }
        if case .replay(let payload?) = resolution { details["corrected_payload"] = "yes (\(payload.utf8.count) bytes)" }
        return try await DeadLetterRepository(database: database).resolve(
            id, resolution, by: actor, note: note?.isEmpty == true ? nil : note, at: now,
            audit: origin.entry(action, targetType: "dead_letter", targetID: String(id), at: now, details: details))
    }

    static func deadLetter(_ letter: DeadLetter) -> Components.Schemas.DeadLetter {
        .init(
            id: letter.id, source: .init(rawValue: letter.source.rawValue)!, orderId: letter.orderID?.rawValue, channel: letter.channel,
            eventId: letter.eventID, kind: letter.kind, payload: letter.payload, error: letter.error, attempts: letter.attempts,
            state: .init(rawValue: letter.state.rawValue)!, createdAt: letter.createdAt.date, resolvedAt: letter.resolvedAt?.date,
            resolvedBy: letter.resolvedBy, note: letter.note)
    }
}
