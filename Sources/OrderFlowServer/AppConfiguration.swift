import Foundation
import Logging
import OrderFlowStore

/// Everything OrderFlow is told at start-up. Built from flags, then `ORDERFLOW_*` environment
/// variables, then a config file (the same keys, `KEY=value` per line), then defaults.
public struct AppConfiguration: Sendable {
    public var host: String = "127.0.0.1"
    public var port: Int = 8080
    public var database: DatabaseLocation = .sqlite(path: "orderflow.sqlite")
    public var databaseOptions = DatabaseOptions()
    public var logLevel: Logger.Level = .info
    public var logFormat: LogFormat = .json
    /// Largest request body accepted, in bytes.
    public var maxBodyBytes: Int = 1 << 20
    /// Image for order lines whose product has none (story 2.2).
    public var defaultImageURL: String?
    /// Seeds the demo catalog and stock when the database has none.
    public var seedDemoCatalog = false
    public var version = "0.1.0"

    public enum LogFormat: String, Sendable { case json, text }

    public init() {}

    /// Every setting: its key (environment variable name), default and meaning, for `--help` and the README.
    public static let settings: [(key: String, defaultValue: String, meaning: String)] = [
        ("ORDERFLOW_HOST", "127.0.0.1", "address to listen on"),
        ("ORDERFLOW_PORT", "8080", "port to listen on"),
        ("ORDERFLOW_DATABASE", "sqlite:orderflow.sqlite", "sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DB[?sslmode=require&max_connections=10]"),
        ("ORDERFLOW_LOG_LEVEL", "info", "trace, debug, info, notice, warning, error, critical"),
        ("ORDERFLOW_LOG_FORMAT", "json (serve), text (demo)", "json: one JSON object per line; text: human-readable"),
        ("ORDERFLOW_MAX_BODY_BYTES", "1048576", "largest request body accepted"),
        ("ORDERFLOW_DEFAULT_IMAGE_URL", "(none)", "image for order lines whose product has none"),
        ("ORDERFLOW_SQLITE_SYNCHRONOUS", "full", "full (survives power loss) or normal (survives a crash of the process)"),
    ]

    public struct Invalid: Error, CustomStringConvertible {
        public var problems: [String]
        public var description: String { "invalid configuration:\n" + problems.map { "  - \($0)" }.joined(separator: "\n") }
    }

    /// Reads settings from `overrides` (flags), the environment and `file`, on top of `base`.
    /// Every bad value is reported at once.
    public static func load(base: AppConfiguration = .init(), overrides: [String: String], environment: [String: String], file: String?) throws -> AppConfiguration {
        var problems: [String] = []
        var values: [String: String] = [:]
        if let file {
            do {
                values.merge(try parseFile(file), uniquingKeysWith: { $1 })
            } catch {
                problems.append("config file \(file): \(error)")
            }
        }
        values.merge(environment.filter { $0.key.hasPrefix("ORDERFLOW_") }, uniquingKeysWith: { $1 })
        values.merge(overrides, uniquingKeysWith: { $1 })

        var config = base
        let known = Set(settings.map(\.key))
        for key in values.keys.sorted() where !known.contains(key) && key.hasPrefix("ORDERFLOW_") && !ignoredKeys.contains(key) {
            problems.append("\(key) is not a setting (known: \(settings.map(\.key).joined(separator: ", ")))")
        }
        if let host = values["ORDERFLOW_HOST"] { config.host = host }
        if let text = values["ORDERFLOW_PORT"] {
            if let port = Int(text), (0...65535).contains(port) { config.port = port } else { problems.append("ORDERFLOW_PORT must be 0–65535, not '\(text)'") }
        }
        if let text = values["ORDERFLOW_DATABASE"] {
            do { config.database = try DatabaseLocation(parsing: text) } catch { problems.append("ORDERFLOW_DATABASE: \(error)") }
        }
        if let text = values["ORDERFLOW_LOG_LEVEL"] {
            if let level = Logger.Level(rawValue: text.lowercased()) { config.logLevel = level } else { problems.append("ORDERFLOW_LOG_LEVEL must be one of trace, debug, info, notice, warning, error, critical") }
        }
        if let text = values["ORDERFLOW_LOG_FORMAT"] {
            if let format = LogFormat(rawValue: text.lowercased()) { config.logFormat = format } else { problems.append("ORDERFLOW_LOG_FORMAT must be json or text") }
        }
        if let text = values["ORDERFLOW_MAX_BODY_BYTES"] {
            if let bytes = Int(text), bytes >= 1024 { config.maxBodyBytes = bytes } else { problems.append("ORDERFLOW_MAX_BODY_BYTES must be a number of bytes ≥ 1024") }
        }
        if let text = values["ORDERFLOW_DEFAULT_IMAGE_URL"] { config.defaultImageURL = text.isEmpty ? nil : text }
        if let text = values["ORDERFLOW_SQLITE_SYNCHRONOUS"] {
            if ["full", "normal"].contains(text.lowercased()) { config.databaseOptions.sqliteSynchronous = text.lowercased() } else { problems.append("ORDERFLOW_SQLITE_SYNCHRONOUS must be full or normal") }
        }
        if !problems.isEmpty { throw Invalid(problems: problems) }
        return config
    }

    /// Variables read elsewhere (tests, scripts) that share the prefix.
    static let ignoredKeys: Set<String> = ["ORDERFLOW_TEST_POSTGRES_URL", "ORDERFLOW_BINARY"]

    /// `KEY=value` lines; blank lines and `#` comments are skipped; values may be quoted.
    static func parseFile(_ path: String) throws -> [String: String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var values: [String: String] = [:]
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigFileError(message: "line \(number + 1) is not KEY=value")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            values[key] = value
        }
        return values
    }

    struct ConfigFileError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}
