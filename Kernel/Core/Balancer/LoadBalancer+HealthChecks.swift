extension LoadBalancer {
    /// Records how a health check of `backend` of `service` ended, with
    /// the HTTP status it read (0: none) and, when it passed, its latency.
    /// A failed check of an UP backend is announced (`checkFailed`); of a
    /// DOWN one only counted.
    public func recordCheck(service: Service, backend: Backend, outcome: HealthCheckOutcome, statusCode: UInt16 = 0,
                            latency: Interval?, now: Instant) {
        let health = service.configuration.health
        let wasUp = backend.health.status == .up
        let status = backend.health.record(outcome, statusCode: statusCode, latency: latency, now: now,
                                           rise: health.rise, fall: health.fall)
        // Failures on the way DOWN are news; a DOWN backend failing its checks is not, and one
        // event per interval would push the DOWN line and its reason out of every event list.
        if outcome != .passed && wasUp { onEvent?(.checkFailed(service: service, backend: backend)) }
        if let status { onEvent?(.backendStatusChanged(service: service, backend: backend, status: status)) }
    }
}
