import Foundation
import Logging
import OrderFlowDomain
import OrderFlowEngine
import OrderFlowMonitor
import OrderFlowPersistence
import OrderFlowRuntime

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
    public var security = SecuritySettings()
    public var engine = EngineSettings()
    public var monitor = MonitorSettings()
    /// Lets anyone who may create orders call POST /api/v1/seed-mock-data (the demo).
    public var demoSeeding = false

    public enum LogFormat: String, Sendable { case json, text }

    /// Authentication, limits and hardening.
    public struct SecuritySettings: Sendable {
        /// Signs access tokens; when unset, a random key is created once and kept in the database.
        public var jwtSecret: String?
        public var accessTokenSeconds: Double = 8 * 3600
        public var refreshTokenSeconds: Double = 30 * 24 * 3600
        /// A refresh token spent this recently may be spent again (pages refreshing at once);
        /// later, a second use is a replay and signs the sign-in out everywhere.
        public var refreshReuseGraceSeconds: Double = 10
        /// How long an instance trusts what it read about a user, key or sign-in, and how often
        /// an open stream checks that its caller is still signed in: the longest a revocation
        /// made elsewhere takes to reach a request here (a stream: twice as long).
        public var sessionCheckSeconds: Double = 5
        /// Open streams (`GET /api/v1/stream`) per user or key, and in all on one instance.
        public var streamsPerCaller = 5
        public var streamsInAll = 500
        /// CSV exports running at once on one instance.
        public var exportsAtOnce = 2
        /// A connection that sends nothing for this long, with no response under way, is closed
        /// (also one that never finishes sending its request's head).
        public var idleTimeoutSeconds: Double = 60
        /// Lets anyone create a `customer` account through POST /api/auth/register.
        public var allowRegistration = false
        /// The first administrator's password; generated and printed when unset.
        public var adminPassword: String?
        public var bcryptCost: UInt8 = 12
        /// Requests a second per signed-in user or key without a limit of its own or of its roles
        /// (burst: twice as many); 0 turns every per-caller limit off.
        public var rateLimit: Double = 200
        /// Requests a second by role, for keys and users without a limit of their own (the
        /// highest of a caller's roles); roles not named take `rateLimit`.
        public var roleRateLimits: [Role: Double] = [.integration: 1_000]
        /// How long an acknowledgement or carrier event over its caller's budget waits for a
        /// token before it is refused.
        public var rateLimitQueueSeconds: Double = 2
        /// Requests a second per client address for anonymous requests.
        public var anonymousRateLimit: Double = 20
        public var loginMaxFailures = 5
        public var loginLockSeconds: Double = 15 * 60
        /// Added before answering a failed sign-in, times the number of recent failures (capped at 2 s).
        public var loginFailureDelayMilliseconds = 250
        public var corsOrigins: Set<String> = []
        public var tlsCertificatePath: String?
        public var tlsKeyPath: String?
        public var trustForwardedFor = false
        /// The demo creates an account per role and an integration key, with fresh secrets each start.
        public var demoAccounts = false

        public init() {}

        /// Whose budget a request is charged to, from the rate settings above.
        public var rateLimitPolicy: RateLimitPolicy {
            RateLimitPolicy(defaultRate: rateLimit, roleRates: roleRateLimits, queueSeconds: rateLimitQueueSeconds)
        }
    }

    public init() {}

    /// Every setting: its key (environment variable name), default and meaning, for `--help` and the README.
    public static let settings: [(key: String, defaultValue: String, meaning: String)] = [
        ("ORDERFLOW_HOST", "127.0.0.1", "address to listen on"),
        ("ORDERFLOW_PORT", "8080", "port to listen on"),
        (
            "ORDERFLOW_DATABASE", "sqlite:orderflow.sqlite",
            "sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DB[?sslmode=require&max_connections=10]"
        ),
        ("ORDERFLOW_LOG_LEVEL", "info", "trace, debug, info, notice, warning, error, critical"),
        ("ORDERFLOW_LOG_FORMAT", "json (serve), text (demo)", "json: one JSON object per line; text: human-readable"),
        ("ORDERFLOW_MAX_BODY_BYTES", "1048576", "largest request body accepted"),
        ("ORDERFLOW_DEFAULT_IMAGE_URL", "(none)", "image for order lines whose product has none"),
        (
            "ORDERFLOW_SQLITE_SYNCHRONOUS", "full",
            "full (survives power loss) or normal (survives a crash of the process)"
        ),
        (
            "ORDERFLOW_GROUP_COMMIT_MAX_BATCH", "64",
            "most new orders written in one transaction when requests arrive together (1: one each)"
        ),
        ("ORDERFLOW_GROUP_COMMIT_LANES", "4", "PostgreSQL: intake transactions in flight at once (SQLite: always 1)"),
        (
            "ORDERFLOW_JWT_SECRET", "(generated, kept in the database)",
            "key that signs access tokens, at least 32 characters; set it in production"
        ),
        ("ORDERFLOW_ACCESS_TOKEN_SECONDS", "28800", "lifetime of access tokens"),
        ("ORDERFLOW_REFRESH_TOKEN_SECONDS", "2592000", "lifetime of refresh tokens"),
        (
            "ORDERFLOW_REFRESH_REUSE_GRACE_SECONDS", "10",
            "a refresh token spent this recently may be spent again (pages refreshing at once); later, reuse signs out"
        ),
        (
            "ORDERFLOW_SESSION_CHECK_SECONDS", "5",
            "how long an instance trusts what it read about a user, key or sign-in; open streams check this often"
        ),
        ("ORDERFLOW_STREAMS_PER_CALLER", "5", "open event streams per user or key (429 beyond)"),
        ("ORDERFLOW_STREAMS_IN_ALL", "500", "open event streams per instance (429 beyond)"),
        ("ORDERFLOW_EXPORTS_AT_ONCE", "2", "CSV exports running at once per instance (429 beyond)"),
        (
            "ORDERFLOW_IDLE_TIMEOUT_SECONDS", "60",
            "a connection silent this long with no response under way is closed (also an unfinished request head)"
        ),
        ("ORDERFLOW_ALLOW_REGISTRATION", "false", "lets anyone create a customer account"),
        (
            "ORDERFLOW_ADMIN_PASSWORD", "(generated and printed)",
            "password of the first administrator, used only when none exists"
        ),
        ("ORDERFLOW_BCRYPT_COST", "12", "bcrypt work factor for passwords (4–16)"),
        (
            "ORDERFLOW_RATE_LIMIT", "200",
            "requests a second per user or key without a limit of its own or of its roles, bursts of twice that; "
                + "0 turns limits off"
        ),
        (
            "ORDERFLOW_ROLE_RATE_LIMITS", "integration=1000",
            "requests a second by role, as ROLE=RATE,…, for keys and users without a limit of their own"
        ),
        (
            "ORDERFLOW_RATE_LIMIT_QUEUE_SECONDS", "2",
            "how long an acknowledgement or carrier event over its budget waits before a 429 (0–30)"
        ),
        ("ORDERFLOW_ANONYMOUS_RATE_LIMIT", "20", "requests a second per client address without credentials"),
        ("ORDERFLOW_LOGIN_MAX_FAILURES", "5", "failed sign-ins in a row, per name and address, before a lock"),
        ("ORDERFLOW_LOGIN_LOCK_SECONDS", "900", "how long sign-ins of that name from that address stay refused"),
        ("ORDERFLOW_CORS_ORIGINS", "(none)", "comma-separated origins allowed to call the API from a browser"),
        (
            "ORDERFLOW_TLS_CERT", "(none)",
            "PEM certificate chain; with ORDERFLOW_TLS_KEY, serves HTTPS (and sends HSTS)"
        ),
        ("ORDERFLOW_TLS_KEY", "(none)", "PEM private key for ORDERFLOW_TLS_CERT"),
        (
            "ORDERFLOW_TRUST_FORWARDED_FOR", "false",
            "take the client address from the last X-Forwarded-For entry (behind a proxy)"
        ),
        (
            "ORDERFLOW_WORKERS", "8",
            "batches of pipeline jobs run at once per instance; 0: this instance only takes orders in (others on the same PostgreSQL run the pipeline and deliver events)"
        ),
        (
            "ORDERFLOW_JOB_BATCH_SIZE", "64",
            "the most due jobs of one kind a worker claims and runs as one batch, written in one transaction"
        ),
        ("ORDERFLOW_JOB_MAX_ATTEMPTS", "8", "attempts before a job becomes a dead letter"),
        ("ORDERFLOW_JOB_BACKOFF_SECONDS", "1", "first retry delay, doubling per attempt (with jitter) up to 300 s"),
        ("ORDERFLOW_STEP_TIMEOUT_SECONDS", "20", "a pipeline step that runs longer is abandoned and retried"),
        (
            "ORDERFLOW_LEASE_SECONDS", "30",
            "how long a claimed job or transmission is this instance's before another may take it"
        ),
        ("ORDERFLOW_POLL_SECONDS", "0.25", "how often idle pipeline loops look for work (new work wakes them at once)"),
        (
            "ORDERFLOW_LINGER_SECONDS", "0.005",
            "after a claim short of a full batch, how long pipeline loops let work gather"
        ),
        ("ORDERFLOW_CHANNELS", "(none)", "downstream channels as a JSON array (see docs/pipeline.md)"),
        ("ORDERFLOW_CHANNELS_FILE", "(none)", "the same, from a JSON file"),
        ("ORDERFLOW_PAYMENT_URL", "(none)", "card payment provider API (POST /charges, /refunds)"),
        ("ORDERFLOW_PAYMENT_TOKEN", "(none)", "bearer token for the payment provider"),
        ("ORDERFLOW_SMTP_URL", "(none)", "smtp://host:port for customer email"),
        ("ORDERFLOW_SMTP_FROM", "orders@orderflow.invalid", "sender address of customer email"),
        ("ORDERFLOW_SMS_URL", "(none)", "HTTP endpoint for customer SMS"),
        ("ORDERFLOW_SMS_TOKEN", "(none)", "bearer token for the SMS endpoint"),
        ("ORDERFLOW_ALERT_EVALUATION_SECONDS", "5", "how often alert rules are evaluated"),
        (
            "ORDERFLOW_ALERT_RULES", "(built-in rules)",
            "alert rules as a JSON array, seeded at start-up by name (see docs/monitoring.md)"
        ),
        ("ORDERFLOW_ALERT_RULES_FILE", "(none)", "the same, from a JSON file"),
        (
            "ORDERFLOW_ALERT_NOTIFIERS", "(none)",
            "alert notifiers (email, webhook, slack, alertmanager) as a JSON array"
        ),
        ("ORDERFLOW_ALERT_NOTIFIERS_FILE", "(none)", "the same, from a JSON file"),
        ("ORDERFLOW_ALERT_EMAIL_FROM", "alerts@orderflow.invalid", "sender address of alert email"),
        ("ORDERFLOW_PUBLIC_URL", "(none)", "OrderFlow's address as people reach it, for links in alerts"),
        (
            "ORDERFLOW_ACK_AMOUNT_WINDOW_SECONDS", "600",
            "acknowledgements matched by amount: how far from the event they may be"
        ),
        (
            "ORDERFLOW_ORDER_ID_PREFIXES", "ORDER,ORD,OMS,PHX,SO,PO,NO",
            "prefixes other systems put before order IDs (acknowledgement matching)"
        ),
        ("ORDERFLOW_ORDER_ID_SUFFIXES", "ACK,CE,OMS,COMMERCE,V1", "suffixes other systems put after order IDs"),
        (
            "ORDERFLOW_RETENTION", "transmissions=30,acknowledgements=30,alerts=180,dead_letters=90,inbound_events=30",
            "days each kind of history is kept (0: for ever)"
        ),
    ]

    /// Reads settings from `overrides` (flags), the environment and `file`, on top of `base`.
    /// Every bad value is reported at once.
    public static func load(
        base: AppConfiguration = .init(), overrides: [String: String], environment: [String: String], file: String?
    ) throws -> AppConfiguration {
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
        for key in values.keys.sorted()
        where !known.contains(key) && key.hasPrefix("ORDERFLOW_") && !ignoredKeys.contains(key) {
            problems.append("\(key) is not a setting (known: \(settings.map(\.key).joined(separator: ", ")))")
        }
        if let host = values["ORDERFLOW_HOST"] { config.host = host }
        if let text = values["ORDERFLOW_PORT"] {
            if let port = Int(text), (0...65535).contains(port) {
                config.port = port
            } else {
                problems.append("ORDERFLOW_PORT must be 0–65535, not '\(text)'")
            }
        }
        if let text = values["ORDERFLOW_DATABASE"] {
            do { config.database = try DatabaseLocation(parsing: text) } catch {
                problems.append("ORDERFLOW_DATABASE: \(error)")
            }
        }
        if let text = values["ORDERFLOW_LOG_LEVEL"] {
            if let level = Logger.Level(rawValue: text.lowercased()) {
                config.logLevel = level
            } else {
                problems.append(
                    "ORDERFLOW_LOG_LEVEL must be one of trace, debug, info, notice, warning, error, critical")
            }
        }
        if let text = values["ORDERFLOW_LOG_FORMAT"] {
            if let format = LogFormat(rawValue: text.lowercased()) {
                config.logFormat = format
            } else {
                problems.append("ORDERFLOW_LOG_FORMAT must be json or text")
            }
        }
        if let text = values["ORDERFLOW_MAX_BODY_BYTES"] {
            if let bytes = Int(text), bytes >= 1024 {
                config.maxBodyBytes = bytes
            } else {
                problems.append("ORDERFLOW_MAX_BODY_BYTES must be a number of bytes ≥ 1024")
            }
        }
        if let text = values["ORDERFLOW_DEFAULT_IMAGE_URL"] { config.defaultImageURL = text.isEmpty ? nil : text }
        if let text = values["ORDERFLOW_SQLITE_SYNCHRONOUS"] {
            if ["full", "normal"].contains(text.lowercased()) {
                config.databaseOptions.sqliteSynchronous = text.lowercased()
            } else {
                problems.append("ORDERFLOW_SQLITE_SYNCHRONOUS must be full or normal")
            }
        }
        if let text = values["ORDERFLOW_GROUP_COMMIT_MAX_BATCH"] {
            if let size = Int(text), (1...1_000).contains(size) {
                config.databaseOptions.groupCommitMaxBatch = size
            } else {
                problems.append("ORDERFLOW_GROUP_COMMIT_MAX_BATCH must be a number from 1 to 1000")
            }
        }
        if let text = values["ORDERFLOW_GROUP_COMMIT_LANES"] {
            if let lanes = Int(text), (1...64).contains(lanes) {
                config.databaseOptions.groupCommitLanes = lanes
            } else {
                problems.append("ORDERFLOW_GROUP_COMMIT_LANES must be a number from 1 to 64")
            }
        }
        config.security.load(values, into: &problems)
        config.engine.load(values, into: &problems)
        config.monitor.load(values, into: &problems)
        if !problems.isEmpty { throw SettingsError(problems: problems) }
        return config
    }

    /// Whether people reach OrderFlow over HTTPS: it serves TLS itself, or it sits behind a proxy
    /// that does (`ORDERFLOW_PUBLIC_URL` starts with https). Then cookies are `Secure` and
    /// responses carry `Strict-Transport-Security`.
    public var servesHTTPS: Bool {
        security.tlsCertificatePath != nil || monitor.publicURL?.lowercased().hasPrefix("https://") == true
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

extension AppConfiguration.SecuritySettings {
    mutating func load(_ values: [String: String], into problems: inout [String]) {
        func number(_ key: String, _ range: ClosedRange<Double>, _ apply: (Double) -> Void) {
            guard let text = values[key] else { return }
            if let value = Double(text), range.contains(value) {
                apply(value)
            } else {
                problems.append("\(key) must be a number from \(range.lowerBound) to \(range.upperBound)")
            }
        }
        func flag(_ key: String, _ apply: (Bool) -> Void) {
            guard let text = values[key]?.lowercased() else { return }
            if ["true", "1", "yes"].contains(text) {
                apply(true)
            } else if ["false", "0", "no"].contains(text) {
                apply(false)
            } else {
                problems.append("\(key) must be true or false")
            }
        }
        if let secret = values["ORDERFLOW_JWT_SECRET"] {
            if secret.utf8.count >= 32 {
                jwtSecret = secret
            } else {
                problems.append("ORDERFLOW_JWT_SECRET must be at least 32 characters")
            }
        }
        number("ORDERFLOW_ACCESS_TOKEN_SECONDS", 60...604_800) { accessTokenSeconds = $0 }
        number("ORDERFLOW_REFRESH_TOKEN_SECONDS", 300...31_536_000) { refreshTokenSeconds = $0 }
        number("ORDERFLOW_REFRESH_REUSE_GRACE_SECONDS", 0...300) { refreshReuseGraceSeconds = $0 }
        number("ORDERFLOW_SESSION_CHECK_SECONDS", 0.05...300) { sessionCheckSeconds = $0 }
        number("ORDERFLOW_STREAMS_PER_CALLER", 1...1_000) { streamsPerCaller = Int($0) }
        number("ORDERFLOW_STREAMS_IN_ALL", 1...100_000) { streamsInAll = Int($0) }
        number("ORDERFLOW_EXPORTS_AT_ONCE", 1...100) { exportsAtOnce = Int($0) }
        number("ORDERFLOW_IDLE_TIMEOUT_SECONDS", 1...3_600) { idleTimeoutSeconds = $0 }
        flag("ORDERFLOW_ALLOW_REGISTRATION") { allowRegistration = $0 }
        if let password = values["ORDERFLOW_ADMIN_PASSWORD"], !password.isEmpty {
            if (12...72).contains(password.utf8.count) {
                adminPassword = password
            } else {
                problems.append("ORDERFLOW_ADMIN_PASSWORD must be 12–72 bytes")
            }
        }
        number("ORDERFLOW_BCRYPT_COST", 4...16) { bcryptCost = UInt8($0) }
        number("ORDERFLOW_RATE_LIMIT", 0...1_000_000) { rateLimit = $0 }
        number("ORDERFLOW_ANONYMOUS_RATE_LIMIT", 0...1_000_000) { anonymousRateLimit = $0 }
        number("ORDERFLOW_RATE_LIMIT_QUEUE_SECONDS", 0...30) { rateLimitQueueSeconds = $0 }
        if let text = values["ORDERFLOW_ROLE_RATE_LIMITS"] {
            var rates: [Role: Double] = [:]
            for item in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty
            {
                let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, let role = Role(rawValue: parts[0]), let rate = Double(parts[1]),
                    RateLimit.rates.contains(rate)
                else {
                    let roles = Role.allCases.map(\.rawValue).joined(separator: ", ")
                    problems.append(
                        "ORDERFLOW_ROLE_RATE_LIMITS: '\(item)' is not ROLE=RATE "
                            + "(a role of \(roles); a rate of 0.1 to 1000000 a second)")
                    continue
                }
                rates[role] = rate
            }
            roleRateLimits = rates
        }
        number("ORDERFLOW_LOGIN_MAX_FAILURES", 1...100) { loginMaxFailures = Int($0) }
        number("ORDERFLOW_LOGIN_LOCK_SECONDS", 1...86_400) { loginLockSeconds = $0 }
        if let origins = values["ORDERFLOW_CORS_ORIGINS"] {
            corsOrigins = Set(
                origins.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter {
                    !$0.isEmpty
                })
        }
        tlsCertificatePath = values["ORDERFLOW_TLS_CERT"].flatMap { $0.isEmpty ? nil : $0 } ?? tlsCertificatePath
        tlsKeyPath = values["ORDERFLOW_TLS_KEY"].flatMap { $0.isEmpty ? nil : $0 } ?? tlsKeyPath
        if (tlsCertificatePath == nil) != (tlsKeyPath == nil) {
            problems.append("ORDERFLOW_TLS_CERT and ORDERFLOW_TLS_KEY go together")
        }
        for path in [tlsCertificatePath, tlsKeyPath].compactMap({ $0 })
        where !FileManager.default.isReadableFile(atPath: path) {
            problems.append("cannot read \(path)")
        }
        flag("ORDERFLOW_TRUST_FORWARDED_FOR") { trustForwardedFor = $0 }
    }
}

extension EngineSettings {
    mutating func load(_ values: [String: String], into problems: inout [String]) {
        func number(_ key: String, _ range: ClosedRange<Double>, _ apply: (Double) -> Void) {
            guard let text = values[key] else { return }
            if let value = Double(text), range.contains(value) {
                apply(value)
            } else {
                problems.append("\(key) must be a number from \(range.lowerBound) to \(range.upperBound)")
            }
        }
        number("ORDERFLOW_WORKERS", 0...512) { workerConcurrency = Int($0) }
        number("ORDERFLOW_JOB_BATCH_SIZE", 1...1_000) { batchSize = Int($0) }
        number("ORDERFLOW_JOB_MAX_ATTEMPTS", 1...100) { maxAttempts = Int($0) }
        number("ORDERFLOW_JOB_BACKOFF_SECONDS", 0.01...3600) { backoffSeconds = $0 }
        number("ORDERFLOW_STEP_TIMEOUT_SECONDS", 0.1...3600) { stepTimeoutSeconds = $0 }
        number("ORDERFLOW_LEASE_SECONDS", 1...3600) { leaseSeconds = $0 }
        number("ORDERFLOW_POLL_SECONDS", 0.005...60) { pollSeconds = $0 }
        number("ORDERFLOW_LINGER_SECONDS", 0...1) { lingerSeconds = $0 }
        var channelJSON = values["ORDERFLOW_CHANNELS"]
        if let path = values["ORDERFLOW_CHANNELS_FILE"] {
            do { channelJSON = try String(contentsOfFile: path, encoding: .utf8) } catch {
                problems.append("ORDERFLOW_CHANNELS_FILE: cannot read \(path)")
            }
        }
        if let json = channelJSON, !json.trimmingCharacters(in: .whitespaces).isEmpty {
            do { channels = try ChannelSettings.parse(json) } catch { problems.append("channels: \(error)") }
        }
        if let url = values["ORDERFLOW_PAYMENT_URL"], !url.isEmpty {
            payment = PaymentSettings(url: url, token: values["ORDERFLOW_PAYMENT_TOKEN"])
        }
        if let url = values["ORDERFLOW_SMTP_URL"], !url.isEmpty {
            if SMTPClient(url: url, from: "x@y.z") == nil {
                problems.append("ORDERFLOW_SMTP_URL must be smtp://host:port")
            } else {
                notifications.smtpURL = url
            }
        }
        if let from = values["ORDERFLOW_SMTP_FROM"], !from.isEmpty { notifications.smtpFrom = from }
        if let url = values["ORDERFLOW_SMS_URL"], !url.isEmpty { notifications.smsURL = url }
        if let token = values["ORDERFLOW_SMS_TOKEN"], !token.isEmpty { notifications.smsToken = token }
    }
}

extension MonitorSettings {
    mutating func load(_ values: [String: String], into problems: inout [String]) {
        func json(_ key: String) -> String? {
            var text = values[key]
            if let path = values[key + "_FILE"] {
                do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
                    problems.append("\(key)_FILE: cannot read \(path)")
                }
            }
            return text.flatMap { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : $0 }
        }
        if let text = values["ORDERFLOW_ALERT_EVALUATION_SECONDS"] {
            if let value = Double(text), (0.2...3600).contains(value) {
                evaluationSeconds = value
            } else {
                problems.append("ORDERFLOW_ALERT_EVALUATION_SECONDS must be 0.2–3600")
            }
        }
        if let text = json("ORDERFLOW_ALERT_RULES") {
            do { rules = try MonitorSettings.parseRules(text) } catch { problems.append("alert rules: \(error)") }
        }
        if let text = json("ORDERFLOW_ALERT_NOTIFIERS") {
            do { notifiers = try MonitorSettings.parseNotifiers(text) } catch {
                problems.append("alert notifiers: \(error)")
            }
        }
        if let from = values["ORDERFLOW_ALERT_EMAIL_FROM"], !from.isEmpty { emailFrom = from }
        if let url = values["ORDERFLOW_PUBLIC_URL"], !url.isEmpty { publicURL = url }
        if let text = values["ORDERFLOW_ACK_AMOUNT_WINDOW_SECONDS"] {
            if let value = Double(text), (1...86_400).contains(value) {
                correlation.amountWindowSeconds = value
            } else {
                problems.append("ORDERFLOW_ACK_AMOUNT_WINDOW_SECONDS must be 1–86400")
            }
        }
        func tokens(_ key: String) -> [String]? {
            values[key].map {
                $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
        }
        if let prefixes = tokens("ORDERFLOW_ORDER_ID_PREFIXES") {
            correlation.normalizer = OrderReferenceNormalizer(
                prefixes: prefixes, suffixes: correlation.normalizer.suffixes)
        }
        if let suffixes = tokens("ORDERFLOW_ORDER_ID_SUFFIXES") {
            correlation.normalizer = OrderReferenceNormalizer(
                prefixes: correlation.normalizer.prefixes, suffixes: suffixes)
        }
        if let text = values["ORDERFLOW_RETENTION"] {
            do { retention = try RetentionSettings.parse(text) } catch {
                problems.append("ORDERFLOW_RETENTION: \(error)")
            }
        }
    }
}
