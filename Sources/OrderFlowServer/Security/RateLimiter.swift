import OrderFlowDomain
import Synchronization

/// Token buckets by key, each with the rate and burst it was last charged with.
public final class RateLimiter: Sendable {
    /// The default limit, for `take(_:)`; a rate of 0 turns that off.
    public let rate: Double
    public let burst: Double
    private let clock: any WallClock
    private struct Bucket {
        var tokens: Double
        var updated: Int64
        var rate: Double
        var burst: Double
    }
    private let buckets = Mutex<[String: Bucket]>([:])

    /// What charging a bucket decided.
    public enum Decision: Sendable, Equatable {
        /// Go ahead, after waiting this long (0: at once) for the token taken in advance.
        case allowed(waitSeconds: Double)
        /// Over the limit: a token is free again in this many seconds.
        case refused(retryAfterSeconds: Double)
    }

    /// `rate` 0 turns `take(_:)` off.
    public init(rate: Double, burst: Double, clock: any WallClock) {
        self.rate = rate
        self.burst = max(burst, 1)
        self.clock = clock
    }

    /// Takes one token for `key` at the default limit; returns nil when allowed, or the seconds
    /// until one is available.
    public func take(_ key: String) -> Double? {
        guard rate > 0 else { return nil }
        switch take(key, limit: RateLimit(requestsPerSecond: rate, burst: burst)) {
        case .allowed: return nil
        case .refused(let seconds): return seconds
        }
    }

    /// Takes one token for `key` at `limit`. With `queueing` above 0 a request over the limit
    /// may take a token that is not there yet, when it will be within that many seconds: the
    /// caller waits that long instead of being refused (a burst is absorbed in turn, up to
    /// `queueing` × the rate requests beyond the burst).
    public func take(_ key: String, limit: RateLimit, queueing: Double = 0) -> Decision {
        let now = clock.now().microseconds
        let rate = limit.requestsPerSecond
        return buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: limit.burst, updated: now, rate: rate, burst: limit.burst)
            bucket.tokens = min(limit.burst, bucket.tokens + Double(now - bucket.updated) / 1_000_000 * rate)
            bucket.updated = now
            bucket.rate = rate
            bucket.burst = limit.burst
            defer {
                buckets[key] = bucket
                if buckets.count > 50_000 { Self.sweep(&buckets, now: now) }
            }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return .allowed(waitSeconds: 0)
            }
            let wait = (1 - bucket.tokens) / rate
            if wait <= queueing {
                bucket.tokens -= 1
                return .allowed(waitSeconds: wait)
            }
            return .refused(retryAfterSeconds: wait)
        }
    }

    /// Drops buckets that have refilled completely: they hold no information.
    private static func sweep(_ buckets: inout [String: Bucket], now: Int64) {
        buckets = buckets.filter {
            $0.value.tokens + Double(now - $0.value.updated) / 1_000_000 * $0.value.rate < $0.value.burst
        }
    }
}

/// Whose budget a request is charged to: a key's or user's own limit, else the highest default of
/// its roles, else `ORDERFLOW_RATE_LIMIT`.
public struct RateLimitPolicy: Sendable {
    /// Requests a second for callers whose roles have no default; 0 turns limits off.
    public var defaultRate: Double
    public var roleRates: [Role: Double]
    /// How long an acknowledgement or carrier event over its budget may wait for a token.
    public var queueSeconds: Double

    public init(defaultRate: Double, roleRates: [Role: Double], queueSeconds: Double) {
        self.defaultRate = defaultRate
        self.roleRates = roleRates
        self.queueSeconds = queueSeconds
    }

    public enum Source: String, Sendable {
        /// The key's or user's own limit.
        case own
        /// The default of one of its roles.
        case role
        /// `ORDERFLOW_RATE_LIMIT`.
        case `default`
    }

    /// The limit `principal` is held to, or nil when limits are off.
    public func limit(for principal: Principal) -> (limit: RateLimit, source: Source)? {
        limit(own: principal.rateLimit, roles: principal.roles)
    }

    public func limit(own: RateLimit?, roles: Set<Role>) -> (limit: RateLimit, source: Source)? {
        guard defaultRate > 0 else { return nil }
        if let own { return (own, .own) }
        if let rate = roles.compactMap({ roleRates[$0] }).max() {
            return (RateLimit(requestsPerSecond: rate), .role)
        }
        return (RateLimit(requestsPerSecond: defaultRate), .default)
    }
}
