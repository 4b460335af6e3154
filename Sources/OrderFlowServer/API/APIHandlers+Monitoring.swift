import CoreMetrics
import Foundation
import HTTPTypes
import OpenAPIRuntime
import OrderFlowAPI
import OrderFlowDomain
import OrderFlowEngine
import OrderFlowMonitor

extension APIHandlers {
    // MARK: Seed 001's endpoints

    func getRecentOrders(_ input: Operations.GetRecentOrders.Input) async throws -> Operations.GetRecentOrders.Output {
        let minutes = input.query.minutes ?? 10
        let limit = input.query.limit ?? 100
        guard (1...1440).contains(minutes) else { throw APIError.invalid("minutes", rule: "range", "must be 1–1440") }
        guard (1...1000).contains(limit) else { throw APIError.invalid("limit", rule: "range", "must be 1–1000") }
        let recent = try await services.monitoring.recentOrders(
            since: clock.now().adding(seconds: -Double(minutes) * 60), limit: limit, for: try principal)
        let counts = Dictionary(uniqueKeysWithValues: recent.statusCounts.map { ($0.key.name, $0.value) })
        return .ok(
            .init(
                body: .json(
                    .init(
                        total: recent.total, statusCounts: .init(additionalProperties: counts),
                        data: recent.orders.map { order in
                            .init(
                                orderId: order.orderID.rawValue, customerId: order.customerID,
                                customerName: order.customerName, status: order.status.name,
                                statusCode: order.status.rawValue, orderType: order.orderType,
                                totalAmount: order.total.description, updatedAt: order.updatedAt.date,
                                itemName: order.itemName, itemDetail: order.itemDetail)
                        }))))
    }

    func seedMockData(_ input: Operations.SeedMockData.Input) async throws -> Operations.SeedMockData.Output {
        let count = input.query.count ?? 10
        guard (1...1000).contains(count) else { throw APIError.invalid("count", rule: "range", "must be 1–1000") }
        let created = try await services.orders.seedDemonstrationOrders(count: count, by: try caller)
        return .ok(.init(body: .json(.init(created: created.count, orderIds: created.map(\.rawValue)))))
    }

    // MARK: Monitoring

    /// The window a request asks for: `from`/`to`, or the last `minutes` (default 60).
    func window(from: Date?, to: Date?, minutes: Int?) throws -> (Timestamp, Timestamp) {
        let end = to.map(Timestamp.init) ?? clock.now().adding(seconds: 0.000001)
        if let minutes, !(1...10_080).contains(minutes) {
            throw APIError.invalid("minutes", rule: "range", "must be 1–10080")
        }
        let start = from.map(Timestamp.init) ?? end.adding(seconds: -Double(minutes ?? 60) * 60)
        guard start < end else { throw APIError.invalid("from", rule: "range", "must be before to") }
        guard end.microseconds - start.microseconds <= 31 * 86_400 * 1_000_000 else {
            throw APIError.invalid("from", rule: "range", "the range may span at most 31 days")
        }
        return (start, end)
    }

    func getMonitorSummary(_ input: Operations.GetMonitorSummary.Input) async throws
        -> Operations.GetMonitorSummary.Output
    {
        let q = input.query
        let (from, to) = try window(from: q.from, to: q.to, minutes: q.minutes)
        let filter = TransmissionFilter(
            from: from, to: to, channel: try Self.checkedChannel(q.channel), orderType: q.orderType.map(OrderType.init))
        let summary = try await services.monitoring.summary(filter, for: try principal)
        func counts(_ counts: [TransmissionStatus: Int]) -> Components.Schemas.StatusCounts {
            .init(
                pending: counts[.pending] ?? 0, success: counts[.success] ?? 0, successLate: counts[.successLate] ?? 0,
                delayed: counts[.delayed] ?? 0,
                failed: counts[.failed] ?? 0)
        }
        return .ok(
            .init(
                body: .json(
                    .init(
                        from: from.date, to: to.date, total: summary.total, counts: counts(summary.counts),
                        byChannel: summary.byChannel.sorted { $0.key < $1.key }.map {
                            .init(channel: $0.key, counts: counts($0.value))
                        },
                        successRate: summary.successRate, failedRatio: summary.failedRatio,
                        delayedRatio: summary.delayedRatio,
                        latency: .init(p50: summary.latencyP50, p95: summary.latencyP95, p99: summary.latencyP99),
                        series: summary.series.map { .init(minute: $0.start.date, counts: counts($0.counts)) }))))
    }

    func searchTransmissions(_ input: Operations.SearchTransmissions.Input) async throws
        -> Operations.SearchTransmissions.Output
    {
        let q = input.query
        let (from, to) = try window(from: q.from, to: q.to, minutes: q.minutes)
        let filter = TransmissionFilter(
            from: from, to: to, channel: try Self.checkedChannel(q.channel),
            status: q.status.flatMap { TransmissionStatus(rawValue: $0.rawValue) },
            orderType: q.orderType.map(OrderType.init),
            orderID: try Self.checkedLength(q.orderId, "orderId", max: 100).map(OrderID.init))
        let page = try await services.monitoring.transmissions(
            filter, beforeID: try Self.cursorID(q.cursor), limit: try Self.checkedLimit(q.limit), for: try principal)
        return .ok(
            .init(
                body: .json(
                    .init(
                        items: page.items.map { Self.transmission($0.transmission, orderType: $0.orderType) },
                        nextCursor: Self.cursor(page.nextBeforeID)))))
    }

    func getOrderTrace(_ input: Operations.GetOrderTrace.Input) async throws -> Operations.GetOrderTrace.Output {
        let trace = try await services.monitoring.trace(of: OrderID(input.path.orderId), for: try principal)
        let order = trace.order.order
        return .ok(
            .init(
                body: .json(
                    .init(
                        orderId: order.id.rawValue, status: .init(order.status), statusName: order.status.name,
                        history: trace.order.history.map {
                            .init(
                                status: .init($0.status), statusName: $0.status.name,
                                paymentStatus: .init($0.paymentStatus), at: $0.at.date, reason: $0.reason,
                                actor: $0.actor)
                        },
                        events: trace.events.map {
                            .init(eventId: $0.eventID, _type: $0.type, createdAt: $0.createdAt.date)
                        },
                        transmissions: trace.transmissions.map { history in
                            .init(
                                transmission: Self.transmission(history.transmission, orderType: order.orderType),
                                attempts: history.attempts.map {
                                    .init(
                                        attempt: $0.attempt, startedAt: $0.startedAt.date,
                                        durationMs: Double($0.durationMicroseconds) / 1000, httpStatus: $0.httpStatus,
                                        error: $0.error, responseExcerpt: $0.responseExcerpt)
                                })
                        },
                        acknowledgements: trace.acknowledgements.map(Self.acknowledgement)))))
    }

    func listChannelHealth(_ input: Operations.ListChannelHealth.Input) async throws
        -> Operations.ListChannelHealth.Output
    {
        let channels = try await services.monitoring.channelHealth(for: try principal).map {
            health -> Components.Schemas.ChannelHealth in
            .init(
                channel: health.channel, ackMode: health.ackMode == .sync ? .sync : .async,
                ackThresholdSeconds: health.ackThresholdSeconds,
                circuit: .init(rawValue: health.circuit.rawValue) ?? .closed, lastSuccessAt: health.lastSuccessAt?.date,
                lastAttemptAt: health.lastAttemptAt?.date, attempts: health.attempts,
                failedAttempts: health.failedAttempts,
                errorRate: health.errorRate, pending: health.pending, delayed: health.delayed)
        }
        return .ok(.init(body: .json(.init(channels: channels))))
    }

    // MARK: Acknowledgements

    func postAcknowledgements(_ input: Operations.PostAcknowledgements.Input) async throws
        -> Operations.PostAcknowledgements.Output
    {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        guard (1...500).contains(body.acknowledgements.count) else {
            throw APIError.invalid("acknowledgements", rule: "range", "send 1–500 at a time")
        }
        let now = clock.now()
        var errors: [FieldError] = []
        let known = Set(services.monitoring.channelNames)
        let acknowledgements = body.acknowledgements.enumerated().map { index, ack -> IncomingAcknowledgement in
            let at = "acknowledgements[\(index)]"
            if !known.contains(ack.channel) {
                errors.append(
                    FieldError(
                        field: "\(at).channel", rule: "unknown_channel",
                        message: "'\(ack.channel)' is not a configured channel"))
            }
            if !Formats.isVisibleASCII(ack.reference, maxLength: 200) {
                errors.append(
                    FieldError(
                        field: "\(at).reference", rule: "format", message: "must be 1–200 visible ASCII characters"))
            }
            if let orderID = ack.orderId, orderID.isEmpty || !Formats.isAtMost(orderID, 100) {
                errors.append(FieldError(field: "\(at).orderId", rule: "format", message: "must be 1–100 characters"))
            }
            if let eventID = ack.eventId, !Formats.isAtMost(eventID, 100) {
                errors.append(
                    FieldError(field: "\(at).eventId", rule: "format", message: "must be at most 100 characters"))
            }
            if let reason = ack.reason, !Formats.isAtMost(reason, 500) {
                errors.append(
                    FieldError(field: "\(at).reason", rule: "format", message: "must be at most 500 characters"))
            }
            var amount: Money?
            if let text = ack.amount {
                amount = Money(decimal: text)
                if amount == nil || amount!.units < 0 {
                    errors.append(
                        FieldError(
                            field: "\(at).amount", rule: "format",
                            message: "must be a decimal ≥ 0 with at most 4 decimals"))
                }
            }
            if let occurred = ack.occurredAt, Timestamp(occurred) > now.adding(seconds: 300) {
                errors.append(
                    FieldError(
                        field: "\(at).occurredAt", rule: "range", message: "is more than 5 minutes in the future"))
            }
            return IncomingAcknowledgement(
                channel: ack.channel, reference: ack.reference, status: ack.status == .accepted ? .accepted : .rejected,
                occurredAt: ack.occurredAt.map(Timestamp.init) ?? now, eventID: ack.eventId, orderID: ack.orderId,
                amount: amount,
                reason: ack.reason.flatMap { $0.isEmpty ? nil : $0 })
        }
        if !errors.isEmpty { throw APIError.validation(errors) }
        let records = try await services.monitoring.record(acknowledgements, by: try caller)
        return .ok(.init(body: .json(.init(results: records.map(Self.acknowledgement)))))
    }

    func listAckInconsistencies(_ input: Operations.ListAckInconsistencies.Input) async throws
        -> Operations.ListAckInconsistencies.Output
    {
        let page = try await services.monitoring.inconsistencies(
            channel: try Self.checkedChannel(input.query.channel), beforeID: try Self.cursorID(input.query.cursor),
            limit: try Self.checkedLimit(input.query.limit),
            for: try principal)
        return .ok(
            .init(
                body: .json(
                    .init(items: page.records.map(Self.acknowledgement), nextCursor: Self.cursor(page.nextBeforeID)))))
    }

    func linkAcknowledgement(_ input: Operations.LinkAcknowledgement.Input) async throws
        -> Operations.LinkAcknowledgement.Output
    {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        let record = try await services.monitoring.link(
            input.path.ackId, to: body.transmissionId, note: body.note, by: try caller)
        return .ok(.init(body: .json(Self.acknowledgement(record))))
    }

    // MARK: Representations

    static func transmission(_ t: Transmission, orderType: OrderType?) -> Components.Schemas.Transmission {
        .init(
            id: t.id, orderId: t.orderID.rawValue, orderType: orderType.map(Components.Schemas.OrderType.init),
            channel: t.channel, eventId: t.eventID,
            eventType: t.eventType, status: .init(rawValue: t.classification.rawValue)!,
            state: .init(rawValue: t.state.rawValue)!, attempts: t.attempts,
            createdAt: t.createdAt.date, deadline: t.ackDeadline.date, sentAt: t.sentAt?.date,
            acknowledgedAt: t.acknowledgedAt?.date,
            ackLatencyMs: t.ackLatencyMicroseconds.map { Double($0) / 1000 }, lastHttpStatus: t.lastStatusCode,
            lastError: t.lastError)
    }

    static func acknowledgement(_ r: AcknowledgementRecord) -> Components.Schemas.AckResult {
        .init(
            id: r.id, channel: r.acknowledgement.channel, reference: r.acknowledgement.reference,
            status: r.acknowledgement.status == .accepted ? .accepted : .rejected,
            occurredAt: r.acknowledgement.occurredAt.date,
            receivedAt: r.receivedAt.date, eventId: r.acknowledgement.eventID, orderRef: r.acknowledgement.orderID,
            amount: r.acknowledgement.amount?.description, outcome: .init(rawValue: r.outcome.rawValue)!,
            transmissionId: r.transmissionID,
            orderId: r.orderID?.rawValue, method: r.method.flatMap { .init(rawValue: $0.rawValue) },
            confidence: r.confidence,
            classification: r.classification.flatMap { .init(rawValue: $0.rawValue) }, detail: r.detail,
            linkedBy: r.linkedBy, linkedAt: r.linkedAt?.date)
    }
}
