import Foundation
import OrderFlowDomain
import SQLKit

/// The job queue in the database. Claiming is one atomic statement (`FOR UPDATE SKIP LOCKED` on
/// PostgreSQL; the single writer on SQLite); a job is finished by deleting it in the same
/// transaction as the work it did, and only while its lease is still held, so a job whose lease
/// passed to another worker cannot commit twice.
public struct JobRepository: Sendable {
    public let database: Database

    public init(database: Database) { self.database = database }

    public enum Failure: Error, Equatable {
        /// The lease expired and another worker took the job; this worker's work must not commit.
        case leaseLost(jobID: Int64)
    }

    public func enqueue(_ jobs: [NewJob]) async throws {
        try await database.transaction { db in try await Self.enqueue(jobs, in: db) }
    }

    /// Enqueues inside a caller's transaction, so the job exists if and only if the change that
    /// asked for it committed.
    public static func enqueue(_ jobs: [NewJob], in db: any SQLDatabase) async throws {
        guard !jobs.isEmpty else { return }
        let insert = db.insert(into: "jobs")
            .columns("kind", "order_id", "dedupe_key", "payload", "attempt", "max_attempts", "run_at", "created_at")
            .ignoringConflicts(with: ["dedupe_key"])
        for job in jobs {
            insert.values(
                SQLBind(job.kind), SQLBind(job.orderID?.rawValue), SQLBind(job.dedupeKey), SQLBind(job.payload),
                SQLBind(0),
                SQLBind(job.maxAttempts), SQLBind(job.runAt.microseconds), SQLBind(job.runAt.microseconds))
        }
        try await insert.run()
    }

    /// Leases up to `limit` due jobs to `owner` for `lease` seconds.
    public func claim(owner: String, limit: Int, lease: Double, now: Timestamp) async throws -> [Job] {
        let lock = database.kind == .postgres ? "FOR UPDATE SKIP LOCKED" : ""
        return try await database.transaction { db in
            try await db.raw(
                """
                UPDATE jobs SET lease_owner = \(bind: owner),
                    lease_expires_at = \(bind: now.adding(seconds: lease).microseconds), attempt = attempt + 1
                WHERE id IN (
                    SELECT id FROM jobs
                    WHERE run_at <= \(bind: now.microseconds) AND (lease_expires_at IS NULL OR lease_expires_at <
                        \(bind: now.microseconds))
                    ORDER BY run_at, id LIMIT \(bind: limit) \(unsafeRaw: lock))
                RETURNING id, kind, order_id, dedupe_key, payload, attempt, max_attempts, run_at, lease_owner,
                    lease_expires_at, last_error, created_at
                """
            ).all().map(Self.job).sorted { ($0.runAt, $0.id) < ($1.runAt, $1.id) }
        }
    }

    /// Leases up to `limit` due jobs of one kind — the kind of the oldest due job — to `owner` for
    /// `lease` seconds, in one statement, so a worker runs them as one batch.
    public func claimBatch(owner: String, limit: Int, lease: Double, now: Timestamp) async throws -> [Job] {
        let lock = database.kind == .postgres ? "FOR UPDATE SKIP LOCKED" : ""
        let due: SQLQueryString = """
            run_at <= \(bind: now.microseconds)
                AND (lease_expires_at IS NULL OR lease_expires_at < \(bind: now.microseconds))
            """
        return try await database.transaction { db in
            try await db.raw(
                """
                UPDATE jobs SET lease_owner = \(bind: owner),
                    lease_expires_at = \(bind: now.adding(seconds: lease).microseconds), attempt = attempt + 1
                WHERE id IN (
                    SELECT id FROM jobs
                    WHERE \(due) AND kind = (SELECT kind FROM jobs WHERE \(due) ORDER BY run_at, id LIMIT 1)
                    ORDER BY run_at, id LIMIT \(bind: limit) \(unsafeRaw: lock))
                RETURNING id, kind, order_id, dedupe_key, payload, attempt, max_attempts, run_at, lease_owner,
                    lease_expires_at, last_error, created_at
                """
            ).all().map(Self.job).sorted { ($0.runAt, $0.id) < ($1.runAt, $1.id) }
        }
    }

    /// Extends the leases of several jobs in one statement; returns the IDs of those still held.
    public func renew(_ jobs: [Job], owner: String, until: Timestamp) async throws -> Set<Int64> {
        guard !jobs.isEmpty else { return [] }
        return try await database.transaction { db in
            let rows = try await db.raw(
                """
                UPDATE jobs SET lease_expires_at = \(bind: until.microseconds)
                WHERE lease_owner = \(bind: owner) AND (\(Self.identities(jobs)))
                RETURNING id
                """
            ).all()
            return Set(try rows.map { try $0.decode(column: "id", as: Int64.self) })
        }
    }

    /// The jobs of `jobs` whose leases `owner` still holds, locked until the caller's transaction
    /// ends (on PostgreSQL `FOR UPDATE`, so no other worker can take them over meanwhile; SQLite's
    /// writer lock already keeps every other writer out). A job missing from the answer was taken
    /// over: its work must not be written.
    public static func held(_ jobs: [Job], owner: String, in db: any SQLDatabase) async throws -> Set<Int64> {
        guard !jobs.isEmpty else { return [] }
        let lock = db.dialect.name == "postgresql" ? " FOR UPDATE" : ""
        let rows = try await db.raw(
            """
            SELECT id FROM jobs WHERE lease_owner = \(bind: owner) AND (\(identities(jobs)))\(unsafeRaw: lock)
            """
        ).all()
        return Set(try rows.map { try $0.decode(column: "id", as: Int64.self) })
    }

    /// Deletes finished jobs, held by `held`, in one statement inside the transaction of their work.
    public static func complete(_ jobs: [Job], owner: String, in db: any SQLDatabase) async throws {
        guard !jobs.isEmpty else { return }
        try await db.raw("DELETE FROM jobs WHERE lease_owner = \(bind: owner) AND (\(identities(jobs)))").run()
    }

    /// `(id = … AND attempt = …) OR …`: each job as it was claimed, not as a later claim made it.
    private static func identities(_ jobs: [Job]) -> SQLQueryString {
        jobs.map { "(id = \(bind: $0.id) AND attempt = \(bind: $0.attempt))" as SQLQueryString }.joined(
            separator: " OR ")
    }

    /// Deletes a finished job inside the transaction of its work.
    /// - Throws: `Failure.leaseLost` when the lease is no longer this worker's: roll back.
    public static func complete(_ job: Job, owner: String, in db: any SQLDatabase) async throws {
        let deleted = try await db.raw(
            """
            DELETE FROM jobs WHERE id = \(bind: job.id) AND lease_owner = \(bind: owner) AND attempt =
                \(bind: job.attempt) RETURNING id
            """
        ).first()
        if deleted == nil { throw Failure.leaseLost(jobID: job.id) }
    }

    /// Gives the job back to the queue to run again at `runAt`, remembering why it failed.
    public func retry(_ job: Job, owner: String, error: String, runAt: Timestamp) async throws {
        try await database.transaction { db in
            try await db.raw(
                """
                UPDATE jobs SET lease_owner = NULL, lease_expires_at = NULL, run_at = \(bind: runAt.microseconds),
                    last_error = \(bind: String(error.prefix(2_000)))
                WHERE id = \(bind: job.id) AND lease_owner = \(bind: owner) AND attempt = \(bind: job.attempt)
                """
            ).run()
        }
    }

    /// Moves a job that used up its attempts to the dead letters, in one transaction.
    public func deadLetter(_ job: Job, owner: String, error: String, at now: Timestamp) async throws {
        try await database.transaction { db in
            try await Self.complete(job, owner: owner, in: db)
            try await DeadLetterRepository.insert(
                DeadLetter.New(
                    source: .job, sourceID: job.id, orderID: job.orderID, channel: nil, eventID: nil, kind: job.kind,
                    payload: job.payload, error: error, attempts: job.attempt),
                at: now, in: db)
        }
    }

    /// How many jobs wait and how long the oldest due one has waited (for metrics).
    public func depth(now: Timestamp) async throws -> (count: Int, oldestDueSeconds: Double) {
        try await database.read { db in
            let row = try await db.raw(
                "SELECT COUNT(*) AS n, MIN(run_at) AS oldest FROM jobs WHERE run_at <= \(bind: now.microseconds)"
            ).first()
            let count = try row?.decode(column: "n", as: Int.self) ?? 0
            let oldest = try row?.decode(column: "oldest", as: Int64?.self)
            return (count, oldest.map { Double(now.microseconds - $0) / 1_000_000 } ?? 0)
        }
    }

    /// Jobs of one order (for traces and tests).
    public func jobs(of order: OrderID) async throws -> [Job] {
        try await database.read { db in
            try await db.raw(
                """
                SELECT id, kind, order_id, dedupe_key, payload, attempt, max_attempts, run_at, lease_owner,
                    lease_expires_at, last_error, created_at
                FROM jobs WHERE order_id = \(bind: order.rawValue) ORDER BY id
                """
            ).all().map(Self.job)
        }
    }

    public func count() async throws -> Int {
        try await database.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM jobs").first()!.decode(column: "n", as: Int.self)
        }
    }

    static func job(_ row: any SQLRow) throws -> Job {
        try row.decode(JobRow.self).job
    }
}

struct JobRow: TableRow {
    static let table = "jobs"
    var id: Int64
    var kind: String
    var orderId: String?
    var dedupeKey: String?
    var payload: String
    var attempt: Int
    var maxAttempts: Int
    var runAt: Int64
    var leaseOwner: String?
    var leaseExpiresAt: Int64?
    var lastError: String?
    var createdAt: Int64

    var job: Job {
        Job(
            id: id, kind: kind, orderID: orderId.map(OrderID.init), dedupeKey: dedupeKey, payload: payload,
            attempt: attempt,
            maxAttempts: maxAttempts, runAt: runAt.time, leaseOwner: leaseOwner, leaseExpiresAt: leaseExpiresAt.time,
            lastError: lastError,
            createdAt: createdAt.time)
    }
}
