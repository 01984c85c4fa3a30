extension LoadBalancer {
    /// Passive health ("observe layer 4"): the outcome of a real client
    /// connection's connect to `backend` (succeeded: its SYN-ACK arrived;
    /// failed: refused, ICMP unreachable or no answer in time). Consecutive
    /// failures reaching the service's `health.errorLimit` apply
    /// `health.onError`; a status change is announced like a check's, with
    /// `lastChangeCause` `.traffic`. The active checks bring the backend back.
    public func observeConnect(service: Service, backend: Backend, succeeded: Bool, now: Instant) {
        let health = service.configuration.health
        guard let status = backend.health.recordConnect(
            succeeded: succeeded, now: now, errorLimit: health.errorLimit, action: health.onError, fall: health.fall)
        else { return }
        onEvent?(.backendStatusChanged(service: service, backend: backend, status: status))
    }
}
