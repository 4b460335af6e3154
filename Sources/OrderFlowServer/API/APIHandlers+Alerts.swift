import Foundation
import HTTPTypes
import OpenAPIRuntime
import OrderFlowAPI
import OrderFlowDomain
import OrderFlowEngine
import OrderFlowMonitor

extension APIHandlers {
    // MARK: Rules

    func listAlertRules(_ input: Operations.ListAlertRules.Input) async throws -> Operations.ListAlertRules.Output {
        .ok(.init(body: .json(.init(rules: try await services.alerts.rules().map(Self.rule)))))
    }

    func createAlertRule(_ input: Operations.CreateAlertRule.Input) async throws -> Operations.CreateAlertRule.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        return .created(
            .init(body: .json(Self.rule(try await services.alerts.create(Self.rule(body, id: nil), by: try caller)))))
    }

    func updateAlertRule(_ input: Operations.UpdateAlertRule.Input) async throws -> Operations.UpdateAlertRule.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        return .ok(
            .init(
                body: .json(
                    Self.rule(try await services.alerts.update(Self.rule(body, id: input.path.ruleId), by: try caller)))
            ))
    }

    func deleteAlertRule(_ input: Operations.DeleteAlertRule.Input) async throws -> Operations.DeleteAlertRule.Output {
        try await services.alerts.deleteRule(input.path.ruleId, by: try caller)
        return .noContent(.init())
    }

    /// The rule a request describes, with the defaults for what it leaves out.
    static func rule(_ body: Components.Schemas.AlertRuleInput, id: Int64?) -> AlertRule {
        let defaults = AlertRule(name: "", kind: .failureRatio, threshold: 0)
        return AlertRule(
            id: id, name: body.name, kind: AlertRuleKind(rawValue: body.kind.rawValue)!, channel: body.channel,
            threshold: body.threshold,
            windowSeconds: body.windowSeconds ?? defaults.windowSeconds,
            forSeconds: body.forSeconds ?? defaults.forSeconds,
            severity: body.severity.flatMap { AlertSeverity(rawValue: $0.rawValue) } ?? defaults.severity,
            minVolume: body.minVolume ?? defaults.minVolume,
            enabled: body.enabled ?? true, description: body.description.flatMap { $0.isEmpty ? nil : $0 })
    }

    static func rule(_ rule: AlertRule) -> Components.Schemas.AlertRule {
        .init(
            id: rule.id ?? 0, name: rule.name, kind: .init(rawValue: rule.kind.rawValue)!, channel: rule.channel,
            threshold: rule.threshold,
            windowSeconds: rule.windowSeconds, forSeconds: rule.forSeconds,
            severity: .init(rawValue: rule.severity.rawValue)!, minVolume: rule.minVolume,
            enabled: rule.enabled, description: rule.description)
    }

    // MARK: Alerts

    func listAlerts(_ input: Operations.ListAlerts.Input) async throws -> Operations.ListAlerts.Output {
        var states: [AlertState] = [.pending, .firing, .acknowledged]
        if let text = try Self.checkedLength(input.query.state, "state", max: 60) {
            states = try text.split(separator: ",").map { name in
                guard let state = AlertState(rawValue: String(name).trimmingSpaces()) else {
                    throw APIError.invalid(
                        "state", rule: "enum", "'\(name)' is not one of pending, firing, acknowledged, resolved")
                }
                return state
            }
        }
        let page = try await services.alerts.alerts(
            states: states, channel: try Self.checkedChannel(input.query.channel),
            beforeID: try Self.cursorID(input.query.cursor),
            limit: try Self.checkedLimit(input.query.limit))
        return .ok(
            .init(body: .json(.init(items: page.alerts.map(Self.alert), nextCursor: Self.cursor(page.nextBeforeID)))))
    }

    func getAlert(_ input: Operations.GetAlert.Input) async throws -> Operations.GetAlert.Output {
        let (alert, history, notifications) = try await services.alerts.alert(input.path.alertId)
        return .ok(
            .init(
                body: .json(
                    .init(
                        alert: Self.alert(alert),
                        history: history.map {
                            .init(
                                at: $0.at.date, from: $0.from.flatMap { .init(rawValue: $0.rawValue) },
                                to: .init(rawValue: $0.to.rawValue)!, actor: $0.actor,
                                comment: $0.comment, value: $0.value)
                        },
                        notifications: notifications.map {
                            .init(
                                notifier: $0.notifier, event: .init(rawValue: $0.event.rawValue)!,
                                state: .init(rawValue: $0.state.rawValue)!, attempts: $0.attempts,
                                sentAt: $0.sentAt?.date, lastError: $0.lastError, fallbackFor: $0.fallbackFor)
                        }))))
    }

    func acknowledgeAlert(_ input: Operations.AcknowledgeAlert.Input) async throws -> Operations.AcknowledgeAlert.Output
    {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        let alert = try await services.alerts.acknowledge(
            input.path.alertId, comment: body.comment, expiresAt: body.expiresAt.map(Timestamp.init), by: try caller)
        return .ok(.init(body: .json(Self.alert(alert))))
    }

    func resolveAlert(_ input: Operations.ResolveAlert.Input) async throws -> Operations.ResolveAlert.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        return .ok(
            .init(
                body: .json(
                    Self.alert(
                        try await services.alerts.resolve(input.path.alertId, comment: body.comment, by: try caller)))))
    }

    static func alert(_ alert: Alert) -> Components.Schemas.Alert {
        .init(
            id: alert.id, rule: alert.ruleName, kind: .init(rawValue: alert.kind.rawValue)!, channel: alert.channel,
            severity: .init(rawValue: alert.severity.rawValue)!, state: .init(rawValue: alert.state.rawValue)!,
            summary: alert.summary,
            value: alert.value, threshold: alert.threshold, labels: .init(additionalProperties: alert.labels),
            pendingSince: alert.pendingSince.date,
            firedAt: alert.firedAt?.date, acknowledgedAt: alert.acknowledgedAt?.date,
            acknowledgedBy: alert.acknowledgedBy,
            acknowledgementComment: alert.acknowledgementComment,
            acknowledgementExpiresAt: alert.acknowledgementExpiresAt?.date,
            resolvedAt: alert.resolvedAt?.date, resolvedBy: alert.resolvedBy, silenced: alert.silenced)
    }

    // MARK: Silences

    func listSilences(_ input: Operations.ListSilences.Input) async throws -> Operations.ListSilences.Output {
        let silences = try await services.alerts.silences(includeExpired: input.query.includeExpired ?? false)
        return .ok(.init(body: .json(.init(silences: silences.map { Self.silence($0.silence, active: $0.active) }))))
    }

    func createSilence(_ input: Operations.CreateSilence.Input) async throws -> Operations.CreateSilence.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        let silence = try await services.alerts.silence(
            body.matchers.map { SilenceMatcher(name: $0.name.rawValue, value: $0.value) },
            from: body.startsAt.map(Timestamp.init),
            until: Timestamp(body.endsAt), comment: body.comment, by: try caller)
        return .created(.init(body: .json(Self.silence(silence, active: silence.isActive(at: clock.now())))))
    }

    func expireSilence(_ input: Operations.ExpireSilence.Input) async throws -> Operations.ExpireSilence.Output {
        try await services.alerts.expireSilence(input.path.silenceId, by: try caller)
        return .noContent(.init())
    }

    static func silence(_ silence: Silence, active: Bool) -> Components.Schemas.Silence {
        .init(
            id: silence.id, matchers: silence.matchers.map { .init(name: .init(rawValue: $0.name)!, value: $0.value) },
            startsAt: silence.startsAt.date,
            endsAt: silence.endsAt.date, createdBy: silence.createdBy, comment: silence.comment,
            createdAt: silence.createdAt.date, active: active)
    }

    // MARK: CSV exports

    func exportOrders(_ input: Operations.ExportOrders.Input) async throws -> Operations.ExportOrders.Output {
        let q = input.query
        let (from, to) = try window(from: q.from, to: q.to, minutes: q.minutes)
        let place = try exportPlace()
        let pages = try await services.orders.created(from: from, to: to, for: try principal)
        let body = CSVBody(
            header: [
                "order_id", "created_at", "updated_at", "store", "order_type", "channel", "payment_method",
                "payment_status", "status", "status_name", "customer_id", "customer_name", "lines", "order_total",
            ],
            pages: pages, place: place
        ) { order, lineCount in
            [
                order.id.rawValue, order.createdAt.description, order.updatedAt.description,
                order.shipFromLocationID.rawValue, order.orderType.rawValue,
                order.channel.rawValue, order.paymentMethod.rawValue, order.paymentStatus.rawValue,
                String(order.status.rawValue), order.status.name,
                order.customer.id ?? "", order.customer.name, String(lineCount), order.totals.orderTotal.description,
            ]
        }
        return .ok(.init(body: .csv(HTTPBody(body, length: .unknown, iterationBehavior: .single))))
    }

    func exportTransmissions(_ input: Operations.ExportTransmissions.Input) async throws
        -> Operations.ExportTransmissions.Output
    {
        let q = input.query
        let (from, to) = try window(from: q.from, to: q.to, minutes: q.minutes)
        let filter = TransmissionFilter(from: from, to: to, channel: try Self.checkedChannel(q.channel))
        let place = try exportPlace()
        let pages = try await services.monitoring.allTransmissions(filter, for: try principal)
        let body = CSVBody(
            header: [
                "id", "created_at", "order_id", "channel", "event_type", "event_id", "status", "attempts",
                "last_http_status", "last_error", "acknowledged_at", "ack_latency_ms",
            ],
            pages: pages, place: place
        ) { item in
            let t = item.transmission
            return [
                String(t.id), t.createdAt.description, t.orderID.rawValue, t.channel, t.eventType, t.eventID,
                t.classification.rawValue, String(t.attempts),
                t.lastStatusCode.map(String.init) ?? "", t.lastError ?? "", t.acknowledgedAt?.description ?? "",
                t.ackLatencyMicroseconds.map { String(format: "%.1f", Double($0) / 1000) } ?? "",
            ]
        }
        return .ok(.init(body: .csv(HTTPBody(body, length: .unknown, iterationBehavior: .single))))
    }

    /// A place among the exports running at once, or 429.
    private func exportPlace() throws -> ExportGate.Place {
        guard let place = exports.enter() else {
            throw APIError(
                .tooManyRequests, code: "exports_busy",
                message: "\(exports.limit) exports are running on this server; try again when one is done",
                headers: [.retryAfter: "10"])
        }
        return place
    }
}
