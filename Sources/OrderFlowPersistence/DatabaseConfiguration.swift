import Foundation

/// Where the data lives: `sqlite:PATH` (the default, an embedded file) or a PostgreSQL URL.
public enum DatabaseLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresSettings)

    public struct PostgresSettings: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var username: String
        public var password: String?
        public var database: String
        /// `disable`, `prefer` (the default: TLS when the server offers it) or `require` (the URL's
        /// `sslmode`).
        public var tlsMode: String
        public var maxConnections: Int

        public init(
            host: String, port: Int = 5432, username: String, password: String?, database: String,
            tlsMode: String = "prefer", maxConnections: Int = 10
        ) {
            self.host = host
            self.port = port
            self.username = username
            self.password = password
            self.database = database
            self.tlsMode = tlsMode
            self.maxConnections = maxConnections
        }
    }

    public enum ParseError: Error, CustomStringConvertible {
        case unsupported(String)
        case missing(String, in: String)

        public var description: String {
            switch self {
            case .unsupported(let text):
                "database must be sqlite:PATH or postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE, not '\(text)'"
            case .missing(let part, let text): "database URL '\(text)' has no \(part)"
            }
        }
    }

    /// Parses `sqlite:PATH`, `sqlite://PATH` or `postgres[ql]://user:password@host:port/db?sslmode=…&max_connections=…`.
    public init(parsing text: String) throws {
        if text.hasPrefix("sqlite:") {
            var path = String(text.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path = String(path.dropFirst(2)) }
            guard !path.isEmpty else { throw ParseError.missing("path", in: text) }
            self = .sqlite(path: path)
            return
        }
        guard text.hasPrefix("postgres://") || text.hasPrefix("postgresql://"), let url = URLComponents(string: text)
        else {
            throw ParseError.unsupported(Self.redacted(text))
        }
        guard let host = url.host, !host.isEmpty else { throw ParseError.missing("host", in: Self.redacted(text)) }
        guard let user = url.user, !user.isEmpty else { throw ParseError.missing("user", in: Self.redacted(text)) }
        let database = String(url.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else { throw ParseError.missing("database name", in: Self.redacted(text)) }
        let query = Dictionary((url.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        self = .postgres(
            PostgresSettings(
                host: host, port: url.port ?? 5432, username: user.removingPercentEncoding ?? user,
                password: url.password.map { $0.removingPercentEncoding ?? $0 }, database: database,
                tlsMode: query["sslmode"] ?? "prefer", maxConnections: Int(query["max_connections"] ?? "") ?? 10))
    }

    /// The location without its password, safe for logs.
    public var description: String {
        switch self {
        case .sqlite(let path): "sqlite:\(path)"
        case .postgres(let s): "postgres://\(s.username)@\(s.host):\(s.port)/\(s.database)"
        }
    }

    static func redacted(_ text: String) -> String {
        guard var url = URLComponents(string: text), url.password != nil else { return text }
        url.password = "***"
        return url.string ?? "(unparseable)"
    }
}

/// Storage settings beyond the location.
public struct DatabaseOptions: Sendable {
    /// SQLite `synchronous`: `full` survives power loss, `normal` survives a killed process.
    public var sqliteSynchronous: String
    /// SQLite read connections (reads run in parallel with the single writer under WAL).
    public var sqliteReaders: Int

    /// The most new orders one intake transaction writes (group commit; 1 turns it off).
    public var groupCommitMaxBatch: Int
    /// Intake transactions in flight at once on PostgreSQL (SQLite has one writer: always 1).
    public var groupCommitLanes: Int

    public init(
        sqliteSynchronous: String = "full", sqliteReaders: Int = 4, groupCommitMaxBatch: Int = 64,
        groupCommitLanes: Int = 4
    ) {
        self.sqliteSynchronous = sqliteSynchronous
        self.sqliteReaders = sqliteReaders
        self.groupCommitMaxBatch = groupCommitMaxBatch
        self.groupCommitLanes = groupCommitLanes
    }
}
