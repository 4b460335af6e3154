import OrderFlowDomain
import SQLKit

/// Failed sign-ins per account name (known or not) and client address. An attempt is reserved
/// before its password is checked, in one statement, so the limit holds however many guesses
/// arrive at once.
public struct SignInAttemptRepository: Sendable {
    public let database: Database

    public init(database: Database) { self.database = database }

    public enum Reservation: Sendable, Equatable {
        /// Go ahead: this is the `n`th attempt in a row without a success.
        case attempt(Int)
        /// Refused until then; no password is checked.
        case locked(until: Timestamp)
    }

    /// Counts an attempt for `username` from `address` before its password is checked. A count
    /// starts again when its lock has ended or when nothing was tried for `forgetAfter` seconds;
    /// such rows of other names are removed on the way, so guessed names do not pile up.
    public func reserve(
        username: String, address: String, at now: Timestamp, forgetAfter: Double
    ) async throws -> Reservation {
        let stale = now.adding(seconds: -forgetAfter).microseconds
        let row = try await database.transaction { db in
            try await db.raw(
                """
                DELETE FROM sign_in_attempts
                WHERE updated_at < \(bind: stale) AND (locked_until IS NULL OR locked_until <= \(bind: now.microseconds))
                """
            ).run()
            return try await db.raw(
                """
                INSERT INTO sign_in_attempts (username, address, failures, locked_until, updated_at)
                VALUES (\(bind: username), \(bind: address), 1, NULL, \(bind: now.microseconds))
                ON CONFLICT (username, address) DO UPDATE SET
                    failures = CASE WHEN sign_in_attempts.locked_until <= \(bind: now.microseconds) THEN 1
                                    ELSE sign_in_attempts.failures + 1 END,
                    locked_until = CASE WHEN sign_in_attempts.locked_until <= \(bind: now.microseconds) THEN NULL
                                        ELSE sign_in_attempts.locked_until END,
                    updated_at = \(bind: now.microseconds)
                RETURNING failures, locked_until
                """
            ).first()!.decode(AttemptRow.self)
        }
        if let until = row.lockedUntil { return .locked(until: until.time) }
        return .attempt(row.failures)
    }

    /// Refuses `username` from `address` until `until`.
    public func lock(username: String, address: String, until: Timestamp) async throws {
        try await database.transaction { db in
            try await db.raw(
                """
                UPDATE sign_in_attempts SET locked_until = \(bind: until.microseconds)
                WHERE username = \(bind: username) AND address = \(bind: address)
                """
            ).run()
        }
    }

    /// A success (or a new password) forgets the failures: from `address`, or from everywhere.
    public func clear(username: String, address: String? = nil) async throws {
        try await database.transaction { db in
            if let address {
                try await db.raw(
                    "DELETE FROM sign_in_attempts WHERE username = \(bind: username) AND address = \(bind: address)"
                ).run()
            } else {
                try await db.raw("DELETE FROM sign_in_attempts WHERE username = \(bind: username)").run()
            }
        }
    }

    struct AttemptRow: TableRow {
        static let table = "sign_in_attempts"
        var failures: Int
        var lockedUntil: Int64?
    }
}
