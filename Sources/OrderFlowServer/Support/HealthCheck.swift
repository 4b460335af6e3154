import OrderFlowPersistence
import OrderFlowRuntime

/// Whether the database answers, and how fast (`GET /api/v1/health`).
struct HealthCheck: Sendable {
    let database: Database

    struct Result: Sendable {
        /// SQLite (else PostgreSQL).
        var sqlite: Bool
        var milliseconds: Double
        /// Why the database did not answer (at most 200 characters); nil when it did.
        var failure: String?
    }

    /// A round trip to the database, given up after five seconds.
    func check() async -> Result {
        let start = ContinuousClock.now
        var failure: String?
        do {
            try await withTimeout(.seconds(5)) { try await database.ping() }
        } catch {
            failure = String(String(describing: error).prefix(200))
        }
        let elapsed = ContinuousClock.now - start
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        return Result(sqlite: database.kind == .sqlite, milliseconds: milliseconds, failure: failure)
    }
}
