/// A token bucket for segments the stack sends on its own initiative
/// (resets to unknown endpoints and refusals, challenge ACKs), so a flood
/// cannot turn the appliance into a reflector. Integer arithmetic, no
/// allocation: it runs on the per-packet path.
struct TCPRateLimiter {
    private var tokens: UInt64
    private var refilled = Instant.zero

    init(burst: Int) { tokens = UInt64(Swift.max(0, burst)) }

    /// Takes one token if there is one, first adding `rate` per second
    /// elapsed, up to `burst`.
    mutating func take(now: Instant, rate: Int, burst: Int) -> Bool {
        let rate = UInt64(Swift.min(Swift.max(0, rate), 1 << 30))
        let burst = UInt64(Swift.min(Swift.max(0, burst), 1 << 30))
        if rate > 0 {
            let elapsed = now.since(refilled).nanoseconds
            if elapsed >= 1_000_000_000 * burst / rate + 1_000_000_000 {
                // Long enough to refill completely (and keeps the product below from overflowing).
                tokens = burst
                refilled = now
            } else {
                let earned = elapsed * rate / 1_000_000_000
                if earned > 0 {
                    tokens = Swift.min(burst, tokens + earned)
                    // Keep the fraction of a token not yet earned.
                    refilled = refilled + Interval(nanoseconds: earned * 1_000_000_000 / rate)
                }
            }
        }
        tokens = Swift.min(tokens, burst)
        guard tokens > 0 else { return false }
        tokens -= 1
        return true
    }
}
