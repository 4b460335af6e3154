import OrderFlowPersistence
import Testing

@Suite("Database locations")
struct DatabaseLocationTests {
    /// TLS is used whenever the server offers it, unless the URL says otherwise.
    @Test func postgresPrefersTLSUnlessTold() throws {
        guard
            case .postgres(let plain) = try DatabaseLocation(parsing: "postgres://orderflow:secret@db.internal/orders")
        else {
            Issue.record("not PostgreSQL")
            return
        }
        #expect(plain.tlsMode == "prefer" && plain.port == 5432 && plain.password == "secret")
        guard
            case .postgres(let told) = try DatabaseLocation(
                parsing: "postgresql://u@h:6432/d?sslmode=disable&max_connections=3")
        else {
            Issue.record("not PostgreSQL")
            return
        }
        #expect(told.tlsMode == "disable" && told.port == 6432 && told.maxConnections == 3)
        #expect(
            "\(try DatabaseLocation(parsing: "postgres://orderflow:secret@db.internal/orders"))".contains("secret")
                == false)
    }
}
