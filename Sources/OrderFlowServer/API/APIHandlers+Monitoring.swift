import CoreMetrics
import Foundation
import HTTPTypes
import OpenAPIRuntime
import OrderFlowAPI
import OrderFlowDomain
import OrderFlowEngine
import OrderFlowMonitor
import OrderFlowPersistence
import OrderFlowRuntime

extension APIHandlers {
    // MARK: Seed 001's endpoints

    func getRecentOrders(_ input: Operations.GetRecentOrders.Input) async throws -> Operations.GetRecentOrders.Output {
        let minutes = input.query.minutes ?? 10
        let limit = input.query.limit ?? 100
        guard (1...1440).contains(minutes) else { throw APIError.invalid("minutes", rule: "range", "must be 1–1440") }
        guard (1...1000).contains(limit) else { throw APIError.invalid("limit", rule: "range", "must be 1–1000") }
        let recent = try await monitor.queries.recentOrders(since: clock.now().adding(seconds: -Double(minutes) * 60), limit: limit)
        let counts = Dictionary(uniqueKeysWithValues: recent.statusCounts.map { ($0.key.name, $0.value) })
        return .ok(.init(body: .json(.init(
            total: recent.total, statusCounts: .init(additionalProperties: counts),
            data: recent.orders.map { order in
                .init(
                    orderId: order.orderID.rawValue, customerId: order.customerID, customerName: order.customerName, status: order.status.name,
                    statusCode: order.status.rawValue, orderType: order.orderType, totalAmount: order.total.description, updatedAt: order.updatedAt.date,
                    itemName: order.itemName, itemDetail: order.itemDetail)
            }))))
    }

    func seedMockData(_ input: Operations.SeedMockData.Input) async throws -> Operations.SeedMockData.Output {
        let count = input.query.count ?? 10
        guard (1...1000).contains(count) else { throw APIError.invalid("count", rule: "range", "must be 1–1000") }
        let locations = try await catalog.locations().map(\.id)
        var query = ProductQuery()
        query.limit = 200
        let products = try await catalog.search(query).products.filter(\.active)
        guard !locations.isEmpty, !products.isEmpty else {
            throw APIError(.conflict, code: "empty_catalog", message: "the catalog has no stores or no products to build orders from")
        }
        let now = clock.now()
        let stamp = Timestamp.rfc3339(now.microseconds, fractionDigits: 0).filter(\.isNumber).prefix(14)
        let batch = String(UInt16.random(in: 0...UInt16.max), radix: 36).uppercased()
        var accepted: [(order: Order, history: StatusChange, jobs: [NewJob])] = []
        var snapshots: [LocationID: CatalogSnapshot] = [:]
        for index in 1...count {
            let product = products[(index - 1) % products.count]
            var draft = OrderDraft(
                orderID: "MOCK-\(stamp)-\(batch)-\(String(format: "%04d", index))", shipFromLocationID: locations[(index - 1) % locations.count].rawValue,
                orderType: .delivery, channel: .app, isForceAllocation: true, paymentMethod: .cod,
                customer: CustomerDraft(id: "CUST-MOCK-\(index % 50)", name: "Mock Customer \(index % 50)", phone: "+6681000\(String(format: "%04d", index % 10_000))"),
                deliveryAddress: AddressDraft(line1: "\(index) Mock Street", city: "Bangkok", postalCode: "10110", country: "TH"),
                lines: [LineDraft(sku: product.sku.rawValue, quantity: 1 + index % 3)])
            try await checkPlacement(&draft)
            let location = LocationID(draft.shipFromLocationID)
            if snapshots[location] == nil {
                snapshots[location] = try await catalog.snapshot(location: location, skus: products.map(\.sku), defaultImageURL: configuration.defaultImageURL)
            }
            let order = try OrderIntake.prepare(draft, catalog: snapshots[location]!, at: now)
            let history = StatusChange(status: order.status, paymentStatus: order.paymentStatus, at: now, reason: "seed-mock-data", actor: actor)
            accepted.append((order, history, [engine.pipeline.firstJob(for: order, at: now)]))
        }
        // One transaction for the batch: a thousand orders in one request stays quick.
        try await orders.createAll(accepted)
        metrics.ordersIngested.increment(by: accepted.count)
        engine.wake()
        return .ok(.init(body: .json(.init(created: accepted.count, orderIds: accepted.map { $0.order.id.rawValue }))))
    }

    // MARK: Monitoring

    /// The window a request asks for: `from`/`to`, or the last `minutes` (default 60).
    func window(from: Date?, to: Date?, minutes: Int?) throws -> (Timestamp, Timestamp) {
        let end = to.map(Timestamp.init) ?? clock.now().adding(seconds: 0.000001)
        if let minutes, !(1...10_080).contains(minutes) { throw APIError.invalid("minutes", rule: "range", "must be 1–10080") }
        let start = from.map(Timestamp.init) ?? end.adding(seconds: -Double(minutes ?? 60) * 60)
        guard start < end else { throw APIError.invalid("from", rule: "range", "must be before to") }
        guard end.microseconds - start.microseconds <= 31 * 86_400 * 1_000_000 else { throw APIError.invalid("from", rule: "range", "the range may span at most 31 days") }
        return (start, end)
    }

    func getMonitorSummary(_ input: Operations.GetMonitorSummary.Input) async throws -> Operations.GetMonitorSummary.Output {
        let q = input.query
        let (from, to) = try window(from: q.from, to: q.to, minutes: q.minutes)
        let summary = try await monitor.queries.summary(TransmissionFilter(from: from, to: to, channel: q.channel, orderType: q.orderType.map(OrderType.init)))
        func counts(_ counts: [TransmissionStatus: Int]) -> Components.Schemas.StatusCounts {
            .init(pending: counts[.pending] ?? 0, success: counts[.success] ?? 0, successLate: counts[.successLate] ?? 0, delayed: counts[.delayed] ?? 0, failed: counts[.failed] ?? 0)
        }
        return .ok(.init(body: .json(.init(
            from: from.date, to: to.date, total: summary.total, counts: counts(summary.counts),
            byChannel: summary.byChannel.sorted { $0.key < $1.key }.map { .init(channel: $0.key, counts: counts($0.value)) },
            successRate: summary.successRate, failedRatio: summary.failedRatio, delayedRatio: summary.delayedRatio,
            latency: .init(p50: summary.latencyP50, p95: summary.latencyP95, p99: summary.latencyP99),
            series: summary.series.map { .init(minute: $0.start.date, counts: counts($0.counts)) }))))
    }

    func searchTransmissions(_ input: Operations.SearchTransmissions.Input) async throws -> Operations.SearchTransmissions.Output {
        let q = input.query
        let (from, to) = try window(from: q.from, to: q.to, minutes: q.minutes)
        let filter = TransmissionFilter(
            from: from, to: to, channel: q.channel, status: q.status.flatMap { TransmissionStatus(rawValue: $0.rawValue) },
            orderType: q.orderType.map(OrderType.init), orderID: q.orderId.map(OrderID.init))
        let page = try await monitor.queries.transmissions(filter, beforeID: try Self.cursorID(q.cursor), limit: try Self.checkedLimit(q.limit))
        return .ok(.init(body: .json(.init(
            items: page.items.map { Self.transmission($0.transmission, orderType: $0.orderType) }, nextCursor: page.nextBeforeID.map { Base64URL.encode(String($0)) }))))
    }

    func getOrderTrace(_ input: Operations.GetOrderTrace.Input) async throws -> Operations.GetOrderTrace.Output {
        guard let stored = try await visibleOrder(OrderID(input.path.orderId)) else { throw APIError.notFound("order", input.path.orderId) }
        let id = stored.order.id
        let transmissions = TransmissionRepository(database: database)
        var items: [Components.Schemas.OrderTrace.TransmissionsPayloadPayload] = []
        for transmission in try await transmissions.of(order: id) {
            let attempts = try await transmissions.attempts(of: transmission.id)
            items.append(.init(
                transmission: Self.transmission(transmission, orderType: stored.order.orderType),
                attempts: attempts.map {
                    .init(attempt: $0.attempt, startedAt: $0.startedAt.date, durationMs: Double($0.durationMicroseconds) / 1000, httpStatus: $0.httpStatus,
                          error: $0.error, responseExcerpt: $0.responseExcerpt)
                }))
        }
        return .ok(.init(body: .json(.init(
            orderId: id.rawValue, status: .init(stored.order.status), statusName: stored.order.status.name,
            history: stored.history.map {
                .init(status: .init($0.status), statusName: $0.status.name, paymentStatus: .init($0.paymentStatus), at: $0.at.date, reason: $0.reason, actor: $0.actor)
            },
            events: try await orders.events(of: id).map { .init(eventId: $0.eventID, _type: $0.type, createdAt: $0.createdAt.date) },
            transmissions: items,
            acknowledgements: try await AcknowledgementRepository(database: database).of(order: id).map(Self.acknowledgement)))))
    }

    func listChannelHealth(_ input: Operations.ListChannelHealth.Input) async throws -> Operations.ListChannelHealth.Output {
        let activity = try await monitor.queries.channelActivity(since: clock.now().adding(seconds: -300))
        let channels = engine.relay.channels.map { channel -> Components.Schemas.ChannelHealth in
            let seen = activity[channel.settings.name]
            let attempts = seen?.attempts ?? 0
            return .init(
                channel: channel.settings.name, ackMode: channel.settings.ackMode == .sync ? .sync : .async,
                ackThresholdSeconds: channel.settings.ackThresholdSeconds,
                circuit: .init(rawValue: channel.breaker.state.rawValue) ?? .closed,
                lastSuccessAt: (seen?.lastSuccessAt ?? channel.breaker.lastSuccess)?.date, lastAttemptAt: seen?.lastAttemptAt?.date,
                attempts: attempts, failedAttempts: seen?.failedAttempts ?? 0,
                errorRate: attempts > 0 ? Double(seen?.failedAttempts ?? 0) / Double(attempts) : nil,
                pending: seen?.pending ?? 0, delayed: seen?.delayed ?? 0)
        }
        return .ok(.init(body: .json(.init(channels: channels))))
    }

    // MARK: Acknowledgements

    func postAcknowledgements(_ input: Operations.PostAcknowledgements.Input) async throws -> Operations.PostAcknowledgements.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        guard (1...500).contains(body.acknowledgements.count) else { throw APIError.invalid("acknowledgements", rule: "range", "send 1–500 at a time") }
        let now = clock.now()
        var errors: [FieldError] = []
        let known = Set(engine.settings.channels.map(\.name))
        let acknowledgements = body.acknowledgements.enumerated().map { index, ack -> IncomingAcknowledgement in
            let at = "acknowledgements[\(index)]"
            if !known.contains(ack.channel) { errors.append(FieldError(field: "\(at).channel", rule: "unknown_channel", message: "'\(ack.channel)' is not a configured channel")) }
            if !Formats.isVisibleASCII(ack.reference, maxLength: 200) { errors.append(FieldError(field: "\(at).reference", rule: "format", message: "must be 1–200 visible ASCII characters")) }
            if let orderID = ack.orderId, orderID.isEmpty || orderID.count > 100 { errors.append(FieldError(field: "\(at).orderId", rule: "format", message: "must be 1–100 characters")) }
            var amount: Money?
            if let text = ack.amount {
                amount = Money(decimal: text)
                if amount == nil || amount!.units < 0 { errors.append(FieldError(field: "\(at).amount", rule: "format", message: "must be a decimal ≥ 0 with at most 4 decimals")) }
            }
            if let occurred = ack.occurredAt, Timestamp(occurred) > now.adding(seconds: 300) {
                errors.append(FieldError(field: "\(at).occurredAt", rule: "range", message: "is more than 5 minutes in the future"))
            }
            return IncomingAcknowledgement(
                channel: ack.channel, reference: ack.reference, status: ack.status == .accepted ? .accepted : .rejected,
                occurredAt: ack.occurredAt.map(Timestamp.init) ?? now, eventID: ack.eventId, orderID: ack.orderId, amount: amount,
                reason: ack.reason.flatMap { $0.isEmpty ? nil : String($0.prefix(500)) })
        }
        if !errors.isEmpty { throw APIError.validation(errors) }
        let records = try await monitor.acknowledgements.record(acknowledgements, scope: .everything, now: now)
        monitor.count(records)
        return .ok(.init(body: .json(.init(results: records.map(Self.acknowledgement)))))
    }

    func listAckInconsistencies(_ input: Operations.ListAckInconsistencies.Input) async throws -> Operations.ListAckInconsistencies.Output {
        let page = try await AcknowledgementRepository(database: database).inconsistencies(
            channel: input.query.channel, beforeID: try Self.cursorID(input.query.cursor), limit: try Self.checkedLimit(input.query.limit))
        return .ok(.init(body: .json(.init(items: page.records.map(Self.acknowledgement), nextCursor: page.nextBeforeID.map { Base64URL.encode(String($0)) }))))
    }

    func linkAcknowledgement(_ input: Operations.LinkAcknowledgement.Input) async throws -> Operations.LinkAcknowledgement.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        if let note = body.note, !note.isEmpty, !Formats.isText(note, maxLength: 500) { throw APIError.validation([FieldError(field: "note", rule: "format", message: "must be at most 500 characters")]) }
        let now = clock.now()
        var details = ["transmission_id": String(body.transmissionId)]
        if let note = body.note, !note.isEmpty { details["note"] = note }
        do {
            let record = try await monitor.acknowledgements.link(
                input.path.ackId, to: body.transmissionId, scope: .everything, by: actor, now: now,
                audit: origin.entry("ack.link", targetType: "acknowledgement", targetID: String(input.path.ackId), at: now, details: details))
            monitor.count([record])
            return .ok(.init(body: .json(Self.acknowledgement(record))))
        } catch let error as AcknowledgementError {
            switch error {
            case .notFound(let id): throw APIError.notFound("acknowledgement", String(id))
            case .transmissionNotFound(let id):
                throw APIError.validation([FieldError(field: "transmissionId", rule: "exists", message: "no transmission \(id)")])
            case .notLinkable(let outcome):
                throw APIError(.conflict, code: "not_linkable", message: "only unmatched, ambiguous or contradicting acknowledgements are linked by hand; this one is \(outcome.rawValue)")
            case .channelMismatch(let ack, let transmission):
                throw APIError.validation([FieldError(field: "transmissionId", rule: "channel", message: "the acknowledgement is from '\(ack)', the transmission went to '\(transmission)'")])
            }
        }
    }

    // MARK: Representations

    static func cursorID(_ cursor: String?) throws -> Int64? {
        guard let cursor else { return nil }
        guard let id = Base64URL.decode(cursor).flatMap(Int64.init) else { throw APIError.invalid("cursor", rule: "format", "is not a cursor this API returned") }
        return id
    }

    static func transmission(_ t: Transmission, orderType: OrderType?) -> Components.Schemas.Transmission {
        .init(
            id: t.id, orderId: t.orderID.rawValue, orderType: orderType.map(Components.Schemas.OrderType.init), channel: t.channel, eventId: t.eventID,
            eventType: t.eventType, status: .init(rawValue: t.classification.rawValue)!, state: .init(rawValue: t.state.rawValue)!, attempts: t.attempts,
            createdAt: t.createdAt.date, deadline: t.ackDeadline.date, sentAt: t.sentAt?.date, acknowledgedAt: t.acknowledgedAt?.date,
            ackLatencyMs: t.ackLatencyMicroseconds.map { Double($0) / 1000 }, lastHttpStatus: t.lastStatusCode, lastError: t.lastError)
    }

    static func acknowledgement(_ r: AcknowledgementRecord) -> Components.Schemas.AckResult {
        .init(
            id: r.id, channel: r.acknowledgement.channel, reference: r.acknowledgement.reference, status: r.acknowledgement.status == .accepted ? .accepted : .rejected,
            occurredAt: r.acknowledgement.occurredAt.date, receivedAt: r.receivedAt.date, eventId: r.acknowledgement.eventID, orderRef: r.acknowledgement.orderID,
            amount: r.acknowledgement.amount?.description, outcome: .init(rawValue: r.outcome.rawValue)!, transmissionId: r.transmissionID,
            orderId: r.orderID?.rawValue, method: r.method.flatMap { .init(rawValue: $0.rawValue) }, confidence: r.confidence,
            classification: r.classification.flatMap { .init(rawValue: $0.rawValue) }, detail: r.detail, linkedBy: r.linkedBy, linkedAt: r.linkedAt?.date)
    }
}
