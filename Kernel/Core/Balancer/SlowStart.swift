/// Slow start: a backend that comes back UP takes a growing share of its
/// weight, in thousandths, from `startPermille` to `fullPermille` over the
/// service's slow-start time.
public enum SlowStart {
    /// The share of its weight a recovering backend starts with: 1/10.
    public static let startPermille = 100
    /// All of its weight.
    public static let fullPermille = 1000
    /// How many distinct shares a ramp takes where a change is costly (a
    /// Maglev table is rebuilt per change): 1/10, 2/10, ... 10/10, each for
    /// a tenth of the ramp.
    public static let steps = 10

    /// The share after `elapsed` of a ramp lasting `duration`, linear:
    /// 100 + ⌊900 × elapsed / duration⌋ thousandths, full from `duration` on.
    public static func permille(elapsed: Interval, over duration: Interval) -> Int {
        guard elapsed < duration else { return fullPermille }
        let span = UInt64(fullPermille - startPermille)
        let grown = duration.nanoseconds <= UInt64.max / span
            ? elapsed.nanoseconds * span / duration.nanoseconds
            : elapsed.nanoseconds / (duration.nanoseconds / span)
        return startPermille + Int(Swift.min(grown, span - 1))
    }

    /// A linear share rounded down to one of the `steps` values
    /// (100, 200, ... 1000), the one for the tenth of the ramp it is in:
    /// step k (0...9) lasts from k/10 to (k+1)/10 of the ramp and takes
    /// (k+1)/10 of the weight.
    public static func stepped(_ permille: Int) -> Int {
        guard permille < fullPermille else { return fullPermille }
        let step = (Swift.max(permille, startPermille) - startPermille) * steps / (fullPermille - startPermille)
        return (step + 1) * fullPermille / steps
    }
}

extension LoadBalancer.Backend {
    /// How long this backend has been ramping: nil when it is not (no slow
    /// start, DOWN, never recovered, or the ramp is over).
    func slowStartElapsed(over slowStart: Interval, now: Instant) -> Interval? {
        guard slowStart > .zero, health.status == .up, let since = health.recoveredAt else { return nil }
        let elapsed = now.since(since)
        return elapsed < slowStart ? elapsed : nil
    }

    /// How far a recovering backend is through its service's slow start, in
    /// percent (0...99); nil when it is not ramping (no slow start, DOWN,
    /// never recovered, or the ramp is over).
    public func slowStartPercent(over slowStart: Interval, now: Instant) -> Int? {
        guard let elapsed = slowStartElapsed(over: slowStart, now: now) else { return nil }
        return Int(elapsed.nanoseconds / (slowStart.nanoseconds / 100 + 1))
    }

    /// The share of its weight this backend takes for new connections, in
    /// thousandths: `SlowStart.permille` while it ramps, 1000 otherwise.
    public func slowStartPermille(over slowStart: Interval, now: Instant) -> Int {
        guard let elapsed = slowStartElapsed(over: slowStart, now: now) else { return SlowStart.fullPermille }
        return SlowStart.permille(elapsed: elapsed, over: slowStart)
    }
}
