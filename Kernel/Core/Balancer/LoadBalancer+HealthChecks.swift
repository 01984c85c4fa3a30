extension LoadBalancer {
    /// Records how a health check of `backend` of `service` ended, with
    /// the HTTP status it read (0: none) and, when it passed, its latency.
    public func recordCheck(service: Service, backend: Backend, outcome: HealthCheckOutcome, statusCode: UInt16 = 0,
                            latency: Interval?, now: Instant) {
        let health = service.configuration.health
        let status = backend.health.record(outcome, statusCode: statusCode, latency: latency, now: now,
                                           rise: health.rise, fall: health.fall)
        if outcome != .passed { onEvent?(.checkFailed(service: service, backend: backend)) }
        if let status { onEvent?(.backendStatusChanged(service: service, backend: backend, status: status)) }
    }
}
