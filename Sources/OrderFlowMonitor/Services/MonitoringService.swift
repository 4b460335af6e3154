import OrderFlowDomain
import OrderFlowPersistence
import OrderFlowRuntime

/// Transmissions and acknowledgements as callers see them: summaries, the transmission list,
/// an order's trace, channel health, seed 001's recent orders, and the acknowledgements that
/// come back. Every method applies the caller's order scope: a caller scoped to some stores sees,
/// counts and acknowledges the transmissions of their orders only.
public struct MonitoringService: Sendable {
    let monitoring: MonitoringRepository
    let transmissions: TransmissionRepository
    let acknowledgements: AcknowledgementRepository
    let correlator: AcknowledgementCorrelator
    let orders: OrderRepository
    let catalog: CatalogRepository
    /// The downstream channels and their circuits, as the engine runs them.
    let channels: [DownstreamChannel]
    let metrics: MonitorMetrics
    let clock: any WallClock

    init(
        database: Database, correlator: AcknowledgementCorrelator, channels: [DownstreamChannel],
        metrics: MonitorMetrics,
        clock: any WallClock
    ) {
        monitoring = MonitoringRepository(database: database)
        transmissions = TransmissionRepository(database: database)
        acknowledgements = AcknowledgementRepository(database: database)
        self.correlator = correlator
        orders = OrderRepository(database: database)
        catalog = CatalogRepository(database: database, clock: clock)
        self.channels = channels
        self.metrics = metrics
        self.clock = clock
    }

    /// The configured channels' names.
    public var channelNames: [String] { channels.map(\.name) }

    func scoped(_ filter: TransmissionFilter, for principal: Principal) async throws -> TransmissionFilter {
        var filter = filter
        filter.scope = try await catalog.orderScope(of: principal)
        return filter
    }

    // MARK: Transmissions

    /// Counts, ratios, latency percentiles and a per-minute series of the transmissions `filter`
    /// finds within the caller's scope.
    public func summary(_ filter: TransmissionFilter, for principal: Principal) async throws -> MonitoringSummary {
        try await monitoring.summary(try await scoped(filter, for: principal))
    }

    /// Newest first, `limit` at a time; `beforeID` continues a previous page.
    public func transmissions(
        _ filter: TransmissionFilter, beforeID: Int64?, limit: Int, for principal: Principal
    ) async throws -> (items: [TransmissionListItem], nextBeforeID: Int64?) {
        try await monitoring.transmissions(try await scoped(filter, for: principal), beforeID: beforeID, limit: limit)
    }

    /// Every transmission the filter matches within the caller's scope, newest first, a page at a
    /// time (the CSV export).
    public func allTransmissions(_ filter: TransmissionFilter, for principal: Principal) async throws -> Paged<
        TransmissionListItem, Int64
    > {
        let filter = try await scoped(filter, for: principal)
        let monitoring = monitoring
        // Pages by ID, below the last one read (from the top: below the largest ID there can be).
        return Paged(start: Int64.max) { before in
            let page = try await monitoring.transmissions(filter, beforeID: before, limit: 1_000)
            return (page.items, page.nextBeforeID)
        }
    }

    /// Transmissions with errors, grouped by channel, last HTTP status and last error.
    public func errorGroups(_ filter: TransmissionFilter, for principal: Principal) async throws -> (
        groups: [ErrorGroup], total: Int
    ) {
        try await monitoring.errorGroups(try await scoped(filter, for: principal))
    }

    /// Acknowledgement latency percentiles (seconds) in `slices` equal slices of the window.
    public func latencyPercentiles(
        _ filter: TransmissionFilter, slices: Int, at qs: [Double], for principal: Principal
    ) async throws -> [[Double?]] {
        try await monitoring.latencyPercentiles(try await scoped(filter, for: principal), slices: slices, at: qs)
    }

    /// An order's whole way, when the order lies within the caller's scope.
    public func trace(of id: OrderID, for principal: Principal) async throws -> OrderTrace {
        let scope = try await catalog.orderScope(of: principal)
        guard let stored = try await orders.find(id), scope.allows(stored.order) else {
            throw DomainError.notFound(kind: "order", id: id.rawValue)
        }
        var histories: [TransmissionHistory] = []
        for transmission in try await transmissions.of(order: id) {
            histories.append(
                TransmissionHistory(
                    transmission: transmission, attempts: try await transmissions.attempts(of: transmission.id)))
        }
        return OrderTrace(
            order: stored, events: try await orders.events(of: id), transmissions: histories,
            acknowledgements: try await acknowledgements.of(order: id))
    }

    /// Per configured channel: the circuit, the attempts of the last five minutes, the last
    /// success, and what waits for an acknowledgement, counted within the caller's scope.
    public func channelHealth(for principal: Principal) async throws -> [ChannelHealth] {
        let activity = try await monitoring.channelActivity(
            since: clock.now().adding(seconds: -300), scope: try await catalog.orderScope(of: principal))
        return channels.map { channel in
            let seen = activity[channel.name]
            return ChannelHealth(
                channel: channel.name, ackMode: channel.settings.ackMode,
                ackThresholdSeconds: channel.settings.ackThresholdSeconds,
                circuit: channel.breaker.state, lastSuccessAt: seen?.lastSuccessAt ?? channel.breaker.lastSuccess,
                lastAttemptAt: seen?.lastAttemptAt, attempts: seen?.attempts ?? 0,
                failedAttempts: seen?.failedAttempts ?? 0,
                pending: seen?.pending ?? 0, delayed: seen?.delayed ?? 0)
        }
    }

    /// Seed 001's view: orders within the caller's scope updated since `since`, newest first,
    /// with status counts over all of them.
    public func recentOrders(
        since: Timestamp, limit: Int, for principal: Principal
    ) async throws -> (total: Int, statusCounts: [OrderStatus: Int], orders: [RecentOrder]) {
        try await monitoring.recentOrders(
            since: since, scope: try await catalog.orderScope(of: principal), limit: limit)
    }

    // MARK: Acknowledgements

    /// Matches, applies and records acknowledgements from downstream systems; a caller scoped to
    /// some stores acknowledges their transmissions only (others stay unmatched).
    public func record(_ acknowledgements: [IncomingAcknowledgement], by caller: Caller) async throws
        -> [AcknowledgementRecord]
    {
        let records = try await correlator.record(
            acknowledgements, scope: try await catalog.orderScope(of: caller.principal), now: clock.now())
        count(records)
        return records
    }

    /// Acknowledgements a person should look at (unmatched, ambiguous, contradicting), newest
    /// first; a scoped caller sees those matched to its orders only.
    public func inconsistencies(
        channel: String?, beforeID: Int64?, limit: Int, for principal: Principal
    ) async throws -> (records: [AcknowledgementRecord], nextBeforeID: Int64?) {
        try await acknowledgements.inconsistencies(
            channel: channel, scope: try await catalog.orderScope(of: principal), beforeID: beforeID, limit: limit)
    }

    /// Links an acknowledgement to a transmission within the caller's scope by hand; audited.
    public func link(_ id: Int64, to transmissionID: Int64, note: String?, by caller: Caller) async throws
        -> AcknowledgementRecord
    {
        let note = note.flatMap { $0.isEmpty ? nil : $0 }
        if let note, !Formats.isText(note, maxLength: 500) {
            throw DomainError.validationFailed([
                FieldError(field: "note", rule: "format", message: "must be at most 500 characters")
            ])
        }
        let now = clock.now()
        var details = ["transmission_id": String(transmissionID)]
        if let note { details["note"] = note }
        let record = try await correlator.link(
            id, to: transmissionID, scope: try await catalog.orderScope(of: caller.principal), by: caller.name,
            now: now,
            audit: caller.audit(
                "ack.link", targetType: "acknowledgement", targetID: String(id), at: now, details: details))
        count([record])
        return record
    }

    /// Counts what acknowledgements decided.
    func count(_ records: [AcknowledgementRecord]) {
        for record in records where record.outcome == .matched || record.outcome == .linked {
            guard let status = record.classification else { continue }
            metrics.classifications.classified(
                channel: record.acknowledgement.channel, status: status, latencySeconds: record.latencySeconds)
        }
    }
}
