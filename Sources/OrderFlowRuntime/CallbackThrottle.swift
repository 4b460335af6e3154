import OrderFlowDomain
import Synchronization

/// Acknowledgements and carrier events refused with 429 are on their way back: the caller retries
/// after `Retry-After`, and each acknowledgement carries the time it happened. Until they are
/// back, the deadline sweep must not call their transmissions delayed (and fire alerts) for a
/// wait OrderFlow itself caused.
///
/// A refusal opens a throttle episode (or extends the open one) until its `Retry-After` plus
/// `grace` has passed. While an episode is open the sweep turns delayed only transmissions whose
/// deadline passed `grace` before the episode began; the rest wait for the episode to end, and
/// an acknowledgement that arrives meanwhile classifies them by its own time as always.
public final class CallbackThrottle: Sendable {
    private struct Episode {
        var start: Int64
        var until: Int64
    }
    private let episode = Mutex<Episode?>(nil)
    public let graceSeconds: Double

    public init(graceSeconds: Double = 5) {
        self.graceSeconds = graceSeconds
    }

    /// An acknowledgement or carrier event was refused at `now`, to be retried after `retryAfter`.
    public func refused(at now: Timestamp, retryAfter: Double) {
        let until = now.adding(seconds: retryAfter + graceSeconds).microseconds
        episode.withLock { episode in
            if let open = episode, open.until >= now.microseconds {
                episode = Episode(start: open.start, until: max(open.until, until))
            } else {
                episode = Episode(start: now.microseconds, until: until)
            }
        }
    }

    /// The sweep may turn delayed the transmissions whose deadline is before this.
    public func sweepCutoff(now: Timestamp) -> Timestamp {
        episode.withLock { episode in
            guard let open = episode, open.until >= now.microseconds else { return now }
            return Timestamp(microseconds: min(now.microseconds, open.start)).adding(seconds: -graceSeconds)
        }
    }
}
