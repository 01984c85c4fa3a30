extension LoadBalancer.Service {
    /// The backend a new connection goes to, or nil when none is eligible.
    /// `excluding` is a bit mask of backend indices already tried for this
    /// connection (bit i: backend i), which are never picked again.
    ///
    /// Backups take the connection only when no primary can (every primary
    /// is DOWN, disabled, draining, at its limit, weighted 0 or tried). A
    /// backend ramping after recovery counts with the part of its weight
    /// its slow start gives it (`Backend.slowStartPermille`).
    /// Allocates nothing: the candidate list is filled in place.
    func pickBackend(flowHash: UInt64, excluding tried: UInt64, now: Instant) -> Int? {
        let slowStart = configuration.slowStart
        for index in backends.indices {
            let backend = backends[index]
            candidates[index] = SchedulingCandidate(
                weight: backend.weight, activeConnections: backend.statistics.activeConnections, eligible: backend.eligible,
                excluded: index < 64 && tried & (1 << UInt64(index)) != 0, backup: backend.configuration.backup,
                slowStartPermille: backend.slowStartPermille(over: slowStart, now: now))
        }
        return scheduler.pick(candidates, flowHash: flowHash)
    }
}
