import OrderFlowDomain
import Synchronization

/// Token buckets by key: `rate` tokens a second, holding at most `burst`.
public final class RateLimiter: Sendable {
    public let rate: Double
    public let burst: Double
    private let clock: any WallClock
    private struct Bucket {
        var tokens: Double
        var updated: Int64
    }
    private let buckets = Mutex<[String: Bucket]>([:])

    /// `rate` 0 turns the limiter off.
    public init(rate: Double, burst: Double, clock: any WallClock) {
        self.rate = rate
        self.burst = max(burst, 1)
        self.clock = clock
    }

    /// Takes one token for `key`; returns nil when allowed, or the seconds until one is available.
    public func take(_ key: String) -> Double? {
        guard rate > 0 else { return nil }
        let now = clock.now().microseconds
        return buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: burst, updated: now)
            bucket.tokens = min(burst, bucket.tokens + Double(now - bucket.updated) / 1_000_000 * rate)
            bucket.updated = now
            defer {
                buckets[key] = bucket
                if buckets.count > 50_000 { Self.sweep(&buckets, now: now, rate: rate, burst: burst) }
            }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return (1 - bucket.tokens) / rate
        }
    }

    /// Drops buckets that have refilled completely: they hold no information.
    private static func sweep(_ buckets: inout [String: Bucket], now: Int64, rate: Double, burst: Double) {
        buckets = buckets.filter { $0.value.tokens + Double(now - $0.value.updated) / 1_000_000 * rate < burst }
    }
}
