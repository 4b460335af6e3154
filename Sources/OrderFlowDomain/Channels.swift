import Foundation

/// A downstream system that receives order events as signed HTTP webhooks.
public struct ChannelSettings: Sendable, Codable, Hashable {
    public enum AckMode: String, Sendable, Codable {
        /// A 2xx answer is the acknowledgement.
        case sync
        /// A 2xx means "received"; the acknowledgement comes later by callback.
        case async
    }

    public var name: String
    public var url: String
    /// Event types, exact or by prefix (`order.*`).
    public var events: [String]
    public var timeoutSeconds: Double
    public var maxAttempts: Int
    public var backoffSeconds: Double
    public var maxBackoffSeconds: Double
    /// Signs each body with HMAC-SHA256; unsigned when absent.
    public var secret: String?
    public var ackMode: AckMode
    public var ackThresholdSeconds: Double
    /// Consecutive failures that open the circuit, and how long it stays open before a probe.
    public var circuitFailures: Int
    public var circuitCooldownSeconds: Double
    /// Requests in flight at once (different orders; one order's events go one by one).
    public var concurrency: Int
    /// Events sent in one request: 1 sends each event as its own request (a JSON object); more
    /// sends up to this many, of different orders, as one JSON array, signed once.
    public var batchSize: Int

    public init(
        name: String, url: String, events: [String] = ["order.*"], timeoutSeconds: Double = 10, maxAttempts: Int = 10,
        backoffSeconds: Double = 1, maxBackoffSeconds: Double = 60, secret: String? = nil, ackMode: AckMode = .sync,
        ackThresholdSeconds: Double = 30, circuitFailures: Int = 5, circuitCooldownSeconds: Double = 15,
        concurrency: Int = 32, batchSize: Int = 1
    ) {
        self.name = name
        self.url = url
        self.events = events
        self.timeoutSeconds = timeoutSeconds
        self.maxAttempts = maxAttempts
        self.backoffSeconds = backoffSeconds
        self.maxBackoffSeconds = maxBackoffSeconds
        self.secret = secret
        self.ackMode = ackMode
        self.ackThresholdSeconds = ackThresholdSeconds
        self.circuitFailures = circuitFailures
        self.circuitCooldownSeconds = circuitCooldownSeconds
        self.concurrency = concurrency
        self.batchSize = batchSize
    }

    enum CodingKeys: String, CodingKey {
        case name, url, events, timeoutSeconds, maxAttempts, backoffSeconds, maxBackoffSeconds, secret, ackMode,
            ackThresholdSeconds,
            circuitFailures, circuitCooldownSeconds, concurrency, batchSize
    }

    /// Every field but `name` and `url` may be left out.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = ChannelSettings(name: "", url: "")
        self.init(
            name: try c.decode(String.self, forKey: .name), url: try c.decode(String.self, forKey: .url),
            events: try c.decodeIfPresent([String].self, forKey: .events) ?? defaults.events,
            timeoutSeconds: try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds) ?? defaults.timeoutSeconds,
            maxAttempts: try c.decodeIfPresent(Int.self, forKey: .maxAttempts) ?? defaults.maxAttempts,
            backoffSeconds: try c.decodeIfPresent(Double.self, forKey: .backoffSeconds) ?? defaults.backoffSeconds,
            maxBackoffSeconds: try c.decodeIfPresent(Double.self, forKey: .maxBackoffSeconds)
                ?? defaults.maxBackoffSeconds,
            secret: try c.decodeIfPresent(String.self, forKey: .secret),
            ackMode: try c.decodeIfPresent(AckMode.self, forKey: .ackMode) ?? defaults.ackMode,
            ackThresholdSeconds: try c.decodeIfPresent(Double.self, forKey: .ackThresholdSeconds)
                ?? defaults.ackThresholdSeconds,
            circuitFailures: try c.decodeIfPresent(Int.self, forKey: .circuitFailures) ?? defaults.circuitFailures,
            circuitCooldownSeconds: try c.decodeIfPresent(Double.self, forKey: .circuitCooldownSeconds)
                ?? defaults.circuitCooldownSeconds,
            concurrency: try c.decodeIfPresent(Int.self, forKey: .concurrency) ?? defaults.concurrency,
            batchSize: try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? defaults.batchSize)
    }

    /// Parses and checks a JSON array of channels; every problem is reported.
    public static func parse(_ json: String) throws -> [ChannelSettings] {
        let channels: [ChannelSettings]
        do {
            channels = try JSONDecoder().decode([ChannelSettings].self, from: Data(json.utf8))
        } catch {
            throw SettingsError(problems: ["channels are not a JSON array of {name, url, …}: \(error)"])
        }
        var problems: [String] = []
        var names: Set<String> = []
        for channel in channels {
            if !Formats.isCode(channel.name, maxLength: 40, caseSensitive: true) {
                problems.append("channel name '\(channel.name)' must be 1–40 letters, digits, '-' or '_'")
            }
            if !names.insert(channel.name).inserted { problems.append("channel '\(channel.name)' appears twice") }
            if !Formats.isHTTPURL(channel.url) { problems.append("channel '\(channel.name)': url must be http(s)") }
            if channel.events.isEmpty {
                problems.append("channel '\(channel.name)': events must name at least one event type")
            }
            if channel.maxAttempts < 1 || channel.timeoutSeconds <= 0 || channel.circuitFailures < 1
                || channel.concurrency < 1
            {
                problems.append(
                    "channel '\(channel.name)': maxAttempts, timeoutSeconds, circuitFailures and concurrency must be positive"
                )
            }
            if !(1...500).contains(channel.batchSize) {
                problems.append("channel '\(channel.name)': batchSize must be 1 to 500")
            }
        }
        if !problems.isEmpty { throw SettingsError(problems: problems) }
        return channels
    }
}

/// Which events a channel takes, and how long it has to acknowledge them.
public struct ChannelSubscription: Sendable, Hashable {
    public var channel: String
    /// Event types, exact (`order.released`) or by prefix (`order.*`, `*`).
    public var eventTypes: [String]
    public var ackThresholdSeconds: Double

    public init(channel: String, eventTypes: [String], ackThresholdSeconds: Double) {
        self.channel = channel
        self.eventTypes = eventTypes
        self.ackThresholdSeconds = ackThresholdSeconds
    }

    public func takes(_ eventType: String) -> Bool {
        eventTypes.contains { pattern in
            pattern == "*" || pattern == eventType
                || (pattern.hasSuffix(".*") && eventType.hasPrefix(String(pattern.dropLast(1))))
        }
    }
}

/// A channel's circuit: closed while it works, open (deliveries paused) after repeated
/// failures, half-open while one probe tests it.
public enum CircuitState: String, Sendable, CaseIterable {
    case closed, open
    case halfOpen = "half_open"
}

/// How a downstream channel is doing: its circuit, its delivery attempts of the last minutes and
/// what waits for its acknowledgement.
public struct ChannelHealth: Sendable, Hashable {
    public var channel: String
    public var ackMode: ChannelSettings.AckMode
    public var ackThresholdSeconds: Double
    public var circuit: CircuitState
    public var lastSuccessAt: Timestamp?
    public var lastAttemptAt: Timestamp?
    public var attempts: Int
    public var failedAttempts: Int
    public var pending: Int
    public var delayed: Int

    public init(
        channel: String, ackMode: ChannelSettings.AckMode, ackThresholdSeconds: Double, circuit: CircuitState,
        lastSuccessAt: Timestamp?,
        lastAttemptAt: Timestamp?, attempts: Int, failedAttempts: Int, pending: Int, delayed: Int
    ) {
        self.channel = channel
        self.ackMode = ackMode
        self.ackThresholdSeconds = ackThresholdSeconds
        self.circuit = circuit
        self.lastSuccessAt = lastSuccessAt
        self.lastAttemptAt = lastAttemptAt
        self.attempts = attempts
        self.failedAttempts = failedAttempts
        self.pending = pending
        self.delayed = delayed
    }

    /// Failed attempts over attempts; nil without attempts.
    public var errorRate: Double? { attempts > 0 ? Double(failedAttempts) / Double(attempts) : nil }
}
