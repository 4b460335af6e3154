import Foundation

/// Exponential backoff with jitter: `base × 2^(attempt−1)`, capped, then scaled by a random
/// factor in [0.5, 1] so retries of many jobs spread out.
public enum Backoff {
    public static func delay(attempt: Int, base: Double, cap: Double, random: Double = Double.random(in: 0...1))
        -> Double
    {
        let exponent = Double(max(0, min(attempt - 1, 30)))
        let raw = min(cap, base * pow(2, exponent))
        return raw * (0.5 + 0.5 * random)
    }
}
