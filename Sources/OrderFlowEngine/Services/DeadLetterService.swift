import Foundation
import OrderFlowDomain
import OrderFlowPersistence

/// Work that failed for good: jobs out of attempts and transmissions a channel refused or never
/// took, to inspect, correct and replay, or discard. A scoped caller sees and handles the dead
/// letters of its own orders only.
public struct DeadLetterService: Sendable {
    let letters: DeadLetterRepository
    let catalog: CatalogRepository
    let clock: any WallClock
    /// Replayed work was queued: the worker and relay should run now.
    let wake: @Sendable () -> Void

    init(database: Database, clock: any WallClock, wake: @escaping @Sendable () -> Void) {
        letters = DeadLetterRepository(database: database)
        catalog = CatalogRepository(database: database, clock: clock)
        self.clock = clock
        self.wake = wake
    }

    /// Newest first, within the caller's scope.
    public func search(_ query: DeadLetterQuery, for principal: Principal) async throws -> (
        letters: [DeadLetter], nextBeforeID: Int64?
    ) {
        var query = query
        query.scope = try await catalog.orderScope(of: principal)
        return try await letters.search(query)
    }

    /// The dead letter of a failed transmission that is still open, within the caller's scope.
    public func open(forTransmission id: Int64, for principal: Principal) async throws -> DeadLetter? {
        var query = DeadLetterQuery()
        query.state = .open
        query.source = .transmission
        query.sourceID = id
        query.limit = 1
        return try await search(query, for: principal).letters.first
    }

    public func letter(_ id: Int64, for principal: Principal) async throws -> DeadLetter {
        guard let letter = try await letters.find(id, scope: try await catalog.orderScope(of: principal)) else {
            throw DomainError.notFound(kind: "dead letter", id: String(id))
        }
        return letter
    }

    /// Sends or runs it again, a transmission optionally with a corrected payload (a JSON
    /// document); audited.
    public func replay(_ id: Int64, correctedPayload: String?, note: String?, by caller: Caller) async throws
        -> DeadLetter
    {
        if let payload = correctedPayload, (try? JSONSerialization.jsonObject(with: Data(payload.utf8))) == nil {
            throw DomainError.validationFailed([
                FieldError(field: "payload", rule: "json", message: "must be a JSON document")
            ])
        }
        var details: [String: String] = [:]
        if let payload = correctedPayload { details["corrected_payload"] = "yes (\(payload.utf8.count) bytes)" }
        let letter = try await resolve(
            id, .replay(correctedPayload: correctedPayload), note: note, action: "deadletter.replay", details: details,
            by: caller)
        wake()
        return letter
    }

    /// Drops it for good; audited.
    public func discard(_ id: Int64, note: String?, by caller: Caller) async throws -> DeadLetter {
        try await resolve(id, .discard, note: note, action: "deadletter.discard", details: [:], by: caller)
    }

    private func resolve(
        _ id: Int64, _ resolution: DeadLetterRepository.Resolution, note: String?, action: String,
        details: [String: String], by caller: Caller
    ) async throws -> DeadLetter {
        let note = note.flatMap { $0.isEmpty ? nil : $0 }
        if let note, !Formats.isText(note, maxLength: 500) {
            throw DomainError.validationFailed([
                FieldError(
                    field: "note", rule: "format",
                    message: "must be plain text (no control characters) of at most 500 characters")
            ])
        }
        // Within scope first: one outside it does not exist for this caller.
        _ = try await letter(id, for: caller.principal)
        let now = clock.now()
        var details = details
        if let note { details["note"] = note }
        return try await letters.resolve(
            id, resolution, by: caller.name, note: note, at: now,
            audit: caller.audit(action, targetType: "dead_letter", targetID: String(id), at: now, details: details))
    }
}
