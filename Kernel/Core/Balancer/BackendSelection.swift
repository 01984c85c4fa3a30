extension LoadBalancer.Service {
    /// The backend a new connection goes to, or nil when none is eligible.
    /// `excluding` is a bit mask of backend indices already tried for this
    /// connection (bit i: backend i), which are never picked again.
    /// Allocates nothing: the candidate list is filled in place.
    func pickBackend(flowHash: UInt64, excluding tried: UInt64, now: Instant) -> Int? {
        for index in backends.indices {
            let backend = backends[index]
            let excluded = index < 64 && tried & (1 << UInt64(index)) != 0
            candidates[index] = SchedulingCandidate(
                weight: backend.weight, activeConnections: backend.statistics.activeConnections,
                eligible: backend.eligible && !excluded)
        }
        return scheduler.pick(candidates, flowHash: flowHash)
    }
}
