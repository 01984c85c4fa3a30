extension LoadBalancer.Backend {
    /// How far a recovering backend is through its service's slow start, in
    /// percent (0...99); nil when it is not ramping (no slow start, DOWN,
    /// never recovered, or the ramp is over).
    public func slowStartPercent(over slowStart: Interval, now: Instant) -> Int? {
        guard slowStart > .zero, health.status == .up, let since = health.recoveredAt else { return nil }
        let elapsed = now.since(since)
        guard elapsed < slowStart else { return nil }
        return Int(elapsed.nanoseconds / (slowStart.nanoseconds / 100 + 1))
    }
}
