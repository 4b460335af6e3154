import Foundation
import HTTPTypes
import OpenAPIRuntime
import OrderFlowAPI
import OrderFlowDomain
import OrderFlowEngine
import OrderFlowMonitor
import OrderFlowPersistence

extension APIHandlers {
    // MARK: Rules

    func listAlertRules(_ input: Operations.ListAlertRules.Input) async throws -> Operations.ListAlertRules.Output {
        .ok(.init(body: .json(.init(rules: try await monitor.alerts.rules().map(Self.rule)))))
    }

    func createAlertRule(_ input: Operations.CreateAlertRule.Input) async throws -> Operations.CreateAlertRule.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        let rule = try checkedRule(body, id: nil)
        let now = clock.now()
        let created = try await mapRuleErrors {
            try await monitor.alerts.create(rule, now: now, audit: origin.entry("alertrule.create", targetType: "alert_rule", at: now, details: ["name": rule.name]))
        }
        return .created(.init(body: .json(Self.rule(created))))
    }

    func updateAlertRule(_ input: Operations.UpdateAlertRule.Input) async throws -> Operations.UpdateAlertRule.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        let rule = try checkedRule(body, id: input.path.ruleId)
        let now = clock.now()
        let updated = try await mapRuleErrors {
            try await monitor.alerts.update(rule, now: now, audit: origin.entry("alertrule.update", targetType: "alert_rule", targetID: String(input.path.ruleId), at: now, details: ["name": rule.name]))
        }
        return .ok(.init(body: .json(Self.rule(updated))))
    }

    func deleteAlertRule(_ input: Operations.DeleteAlertRule.Input) async throws -> Operations.DeleteAlertRule.Output {
        let now = clock.now()
        try await mapRuleErrors {
            try await monitor.alerts.delete(input.path.ruleId, by: actor, now: now, audit: origin.entry("alertrule.delete", targetType: "alert_rule", targetID: String(input.path.ruleId), at: now))
        }
        return .noContent(.init())
    }

    private func checkedRule(_ body: Components.Schemas.AlertRuleInput, id: Int64?) throws -> AlertRule {
        let defaults = AlertRule(name: "", kind: .failureRatio, threshold: 0)
        let rule = AlertRule(
            id: id, name: body.name, kind: AlertRuleKind(rawValue: body.kind.rawValue)!, channel: body.channel, threshold: body.threshold,
            windowSeconds: body.windowSeconds ?? defaults.windowSeconds, forSeconds: body.forSeconds ?? defaults.forSeconds,
            severity: body.severity.flatMap { AlertSeverity(rawValue: $0.rawValue) } ?? defaults.severity, minVolume: body.minVolume ?? defaults.minVolume,
            enabled: body.enabled ?? true, description: body.description.flatMap { $0.isEmpty ? nil : $0 })
        var problems = rule.problems()
        if let channel = rule.channel, !engine.settings.channels.contains(where: { $0.name == channel }) {
            problems.append(FieldError(field: "channel", rule: "unknown_channel", message: "'\(channel)' is not a configured channel"))
        }
        if !problems.isEmpty { throw APIError.validation(problems) }
        return rule
    }

    private func mapRuleErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as AlertError {
            switch error {
            case .duplicateRuleName(let name):
                throw APIError(.conflict, code: "duplicate_rule", message: "a rule named '\(name)' exists", fields: [FieldError(field: "name", rule: "unique", message: "is taken")])
            case .ruleNotFound(let id): throw APIError.notFound("alert rule", String(id))
            case .alertNotFound(let id): throw APIError.notFound("alert", String(id))
            case .silenceNotFound(let id): throw APIError.notFound("silence", String(id))
            case .alertNotActive(let id): throw APIError(.conflict, code: "alert_resolved", message: "alert \(id) is resolved already")
            }
        }
    }

    static func rule(_ rule: AlertRule) -> Components.Schemas.AlertRule {
        .init(
            id: rule.id ?? 0, name: rule.name, kind: .init(rawValue: rule.kind.rawValue)!, channel: rule.channel, threshold: rule.threshold,
            windowSeconds: rule.windowSeconds, forSeconds: rule.forSeconds, severity: .init(rawValue: rule.severity.rawValue)!, minVolume: rule.minVolume,
            enabled: rule.enabled, description: rule.description)
    }

    // MARK: Alerts

    func listAlerts(_ input: Operations.ListAlerts.Input) async throws -> Operations.ListAlerts.Output {
        var states: [AlertState] = [.pending, .firing, .acknowledged]
        if let text = input.query.state {
            states = try text.split(separator: ",").map { name in
                guard let state = AlertState(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                    throw APIError.invalid("state", rule: "enum", "'\(name)' is not one of pending, firing, acknowledged, resolved")
                }
                return state
            }
        }
        let page = try await monitor.alerts.alerts(states: states, channel: input.query.channel, beforeID: try Self.cursorID(input.query.cursor), limit: try Self.checkedLimit(input.query.limit))
        return .ok(.init(body: .json(.init(items: page.alerts.map(Self.alert), nextCursor: page.nextBeforeID.map { Base64URL.encode(String($0)) }))))
    }

    func getAlert(_ input: Operations.GetAlert.Input) async throws -> Operations.GetAlert.Output {
        guard let alert = try await monitor.alerts.alert(input.path.alertId) else { throw APIError.notFound("alert", String(input.path.alertId)) }
        let history = try await monitor.alerts.history(of: alert.id)
        let notifications = try await monitor.alerts.notifications(of: alert.id)
        return .ok(.init(body: .json(.init(
            alert: Self.alert(alert),
            history: history.map {
                .init(at: $0.at.date, from: $0.from.flatMap { .init(rawValue: $0.rawValue) }, to: .init(rawValue: $0.to.rawValue)!, actor: $0.actor, comment: $0.comment, value: $0.value)
            },
            notifications: notifications.map {
                .init(notifier: $0.notifier, event: .init(rawValue: $0.event.rawValue)!, state: .init(rawValue: $0.state.rawValue)!, attempts: $0.attempts,
                      sentAt: $0.sentAt?.date, lastError: $0.lastError, fallbackFor: $0.fallbackFor)
            }))))
    }

    func acknowledgeAlert(_ input: Operations.AcknowledgeAlert.Input) async throws -> Operations.AcknowledgeAlert.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        let now = clock.now()
        var errors: [FieldError] = []
        if !Formats.isText(body.comment, maxLength: 500) { errors.append(FieldError(field: "comment", rule: "format", message: "must be 1–500 characters")) }
        if let expires = body.expiresAt, Timestamp(expires) <= now { errors.append(FieldError(field: "expiresAt", rule: "range", message: "must be in the future")) }
        if !errors.isEmpty { throw APIError.validation(errors) }
        let alert = try await mapRuleErrors {
            try await monitor.alerts.acknowledge(
                input.path.alertId, by: actor, comment: body.comment, expiresAt: body.expiresAt.map(Timestamp.init), now: now,
                audit: origin.entry("alert.acknowledge", targetType: "alert", targetID: String(input.path.alertId), at: now, details: ["comment": body.comment]))
        }
        return .ok(.init(body: .json(Self.alert(alert))))
    }

    func resolveAlert(_ input: Operations.ResolveAlert.Input) async throws -> Operations.ResolveAlert.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        let comment = body.comment.flatMap { $0.isEmpty ? nil : $0 }
        if let comment, !Formats.isText(comment, maxLength: 500) { throw APIError.validation([FieldError(field: "comment", rule: "format", message: "must be at most 500 characters")]) }
        let now = clock.now()
        let alert = try await mapRuleErrors {
            try await monitor.alerts.resolve(
                input.path.alertId, by: actor, comment: comment, now: now,
                audit: origin.entry("alert.resolve", targetType: "alert", targetID: String(input.path.alertId), at: now, details: comment.map { ["comment": $0] } ?? [:]))
        }
        return .ok(.init(body: .json(Self.alert(alert))))
    }

    static func alert(_ alert: Alert) -> Components.Schemas.Alert {
        .init(
            id: alert.id, rule: alert.ruleName, kind: .init(rawValue: alert.kind.rawValue)!, channel: alert.channel, severity: .init(rawValue: alert.severity.rawValue)!,
            state: .init(rawValue: alert.state.rawValue)!, summary: alert.summary, value: alert.value, threshold: alert.threshold,
            labels: .init(additionalProperties: alert.labels), pendingSince: alert.pendingSince.date, firedAt: alert.firedAt?.date,
            acknowledgedAt: alert.acknowledgedAt?.date, acknowledgedBy: alert.acknowledgedBy, acknowledgementComment: alert.acknowledgementComment,
            acknowledgementExpiresAt: alert.acknowledgementExpiresAt?.date, resolvedAt: alert.resolvedAt?.date, resolvedBy: alert.resolvedBy, silenced: alert.silenced)
    }

    // MARK: Silences

    func listSilences(_ input: Operations.ListSilences.Input) async throws -> Operations.ListSilences.Output {
        let now = clock.now()
        let silences = try await monitor.alerts.silences(includeExpired: input.query.includeExpired ?? false, now: now)
        return .ok(.init(body: .json(.init(silences: silences.map { Self.silence($0, now: now) }))))
    }

    func createSilence(_ input: Operations.CreateSilence.Input) async throws -> Operations.CreateSilence.Output {
        guard case .json(let body) = input.body else { throw APIError.notJSON }
        let now = clock.now()
        let starts = body.startsAt.map(Timestamp.init) ?? now
        let ends = Timestamp(body.endsAt)
        var errors: [FieldError] = []
        let names: Set<String> = ["alertname", "channel", "severity", "kind"]
        if body.matchers.isEmpty || body.matchers.count > 10 { errors.append(FieldError(field: "matchers", rule: "range", message: "give 1–10 matchers")) }
        for (index, matcher) in body.matchers.enumerated() {
            if !names.contains(matcher.name) { errors.append(FieldError(field: "matchers[\(index)].name", rule: "enum", message: "must be alertname, channel, severity or kind")) }
            if matcher.value.isEmpty || matcher.value.count > 100 { errors.append(FieldError(field: "matchers[\(index)].value", rule: "format", message: "must be 1–100 characters")) }
        }
        if ends <= starts || ends <= now { errors.append(FieldError(field: "endsAt", rule: "range", message: "must be after startsAt and in the future")) }
        if !Formats.isText(body.comment, maxLength: 500) { errors.append(FieldError(field: "comment", rule: "format", message: "must be 1–500 characters")) }
        if !errors.isEmpty { throw APIError.validation(errors) }
        let matchers = body.matchers.map { SilenceMatcher(name: $0.name, value: $0.value) }
        let silence = try await monitor.alerts.createSilence(
            matchers: matchers, startsAt: starts, endsAt: ends, by: actor, comment: body.comment, now: now,
            audit: origin.entry("silence.create", targetType: "silence", at: now, details: ["matchers": matchers.map { "\($0.name)=\($0.value)" }.joined(separator: ","), "comment": body.comment]))
        return .created(.init(body: .json(Self.silence(silence, now: now))))
    }

    func expireSilence(_ input: Operations.ExpireSilence.Input) async throws -> Operations.ExpireSilence.Output {
        let now = clock.now()
        try await mapRuleErrors {
            try await monitor.alerts.expireSilence(input.path.silenceId, now: now, audit: origin.entry("silence.expire", targetType: "silence", targetID: String(input.path.silenceId), at: now))
        }
        return .noContent(.init())
    }

    static func silence(_ silence: Silence, now: Timestamp) -> Components.Schemas.Silence {
        .init(
            id: silence.id, matchers: silence.matchers.map { .init(name: $0.name, value: $0.value) }, startsAt: silence.startsAt.date, endsAt: silence.endsAt.date,
            createdBy: silence.createdBy, comment: silence.comment, createdAt: silence.createdAt.date, active: silence.isActive(at: now))
    }

    // MARK: CSV exports

    func exportOrders(_ input: Operations.ExportOrders.Input) async throws -> Operations.ExportOrders.Output {
        let q = input.query
        let (from, to) = try window(from: q.from, to: q.to, minutes: q.minutes)
        let scope = try await orderScope()
        var rows = [["order_id", "created_at", "updated_at", "store", "order_type", "channel", "payment_method", "payment_status", "status", "status_name",
                     "customer_id", "customer_name", "lines", "order_total"]]
        var query = OrderQuery()
        query.createdFrom = from
        query.createdTo = to
        query.limit = 500
        switch scope {
        case .everything: break
        case .locations(let locations): query.locations = locations
        case .customer(let id): query.customerID = id
        case .nothing: query.locations = []
        }
        while rows.count <= 100_000 {
            let page = try await orders.search(query)
            for (order, lineCount) in page.orders {
                rows.append([
                    order.id.rawValue, order.createdAt.description, order.updatedAt.description, order.shipFromLocationID.rawValue, order.orderType.rawValue,
                    order.channel.rawValue, order.paymentMethod.rawValue, order.paymentStatus.rawValue, String(order.status.rawValue), order.status.name,
                    order.customer.id ?? "", order.customer.name, String(lineCount), order.totals.orderTotal.description,
                ])
            }
            guard let next = page.next else { break }
            query.after = next
        }
        return .ok(.init(body: .csv(HTTPBody(CSV.render(rows)))))
    }

    func exportTransmissions(_ input: Operations.ExportTransmissions.Input) async throws -> Operations.ExportTransmissions.Output {
        let q = input.query
        let (from, to) = try window(from: q.from, to: q.to, minutes: q.minutes)
        var rows = [["id", "created_at", "order_id", "channel", "event_type", "event_id", "status", "attempts", "last_http_status", "last_error", "acknowledged_at", "ack_latency_ms"]]
        var before: Int64?
        repeat {
            let page = try await monitor.queries.transmissions(TransmissionFilter(from: from, to: to, channel: q.channel), beforeID: before, limit: 1_000)
            for item in page.items {
                let t = item.transmission
                rows.append([
                    String(t.id), t.createdAt.description, t.orderID.rawValue, t.channel, t.eventType, t.eventID, t.classification.rawValue, String(t.attempts),
                    t.lastStatusCode.map(String.init) ?? "", t.lastError ?? "", t.acknowledgedAt?.description ?? "",
                    t.ackLatencyMicroseconds.map { String(format: "%.1f", Double($0) / 1000) } ?? "",
                ])
            }
            before = page.nextBeforeID
        } while before != nil && rows.count <= 100_000
        return .ok(.init(body: .csv(HTTPBody(CSV.render(rows)))))
    }
}

/// RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled; CRLF line ends.
enum CSV {
    static func render(_ rows: [[String]]) -> String {
        rows.map { row in
            row.map { field in
                // A leading =, +, - or @ would run as a formula in a spreadsheet: prefixed with '.
                let safe = field.first.map { "=+-@".contains($0) } == true ? "'" + field : field
                return safe.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                    ? "\"" + safe.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : safe
            }.joined(separator: ",")
        }.joined(separator: "\r\n") + "\r\n"
    }
}
