/// Why a backend went UP or DOWN, as the console, the telemetry stream's
/// status events and the host's event lines say it: which observation moved
/// it, the last check's reason, and how many failures in a row did it.
public struct BackendStatusCause: Sendable, Equatable {
    public var observation: HealthObservation
    /// How the last active check ended, and the HTTP status it read (0: none).
    public var outcome: HealthCheckOutcome
    public var statusCode: UInt16
    /// Behind a DOWN: the failed checks in a row, or the connects that
    /// failed in traffic.
    public var failures: UInt64

    public init(observation: HealthObservation, outcome: HealthCheckOutcome, statusCode: UInt16, failures: UInt64) {
        self.observation = observation
        self.outcome = outcome
        self.statusCode = statusCode
        self.failures = failures
    }

    /// The cause of `backend`'s latest change, read from its health.
    public init(_ backend: LoadBalancer.Backend, in service: LoadBalancer.Service) {
        let health = backend.health
        let failures = health.lastChangeCause == .traffic ? health.consecutiveConnectFailures : health.consecutiveFailures
        self.init(observation: health.lastChangeCause, outcome: health.lastOutcome, statusCode: health.lastStatusCode,
                  failures: UInt64(failures))
    }

    /// What follows a backend's name: ` is UP`, ` is DOWN after 3 failed
    /// checks (refused)`, or ` is DOWN: 3 connects failed in traffic`.
    public func writeChange<Sink: TextSink>(up: Bool, to out: inout Sink) {
        out.write(" is ")
        out.write(up ? BackendHealth.Status.up.name : BackendHealth.Status.down.name)
        guard !up else { return }
        switch observation {
        case .check:
            out.write(" after ")
            out.write(decimal: failures)
            out.write(failures == 1 ? " failed check" : " failed checks")
            if outcome.isFailure {
                out.write(" (")
                outcome.writeReason(statusCode: statusCode, to: &out)
                out.write(")")
            }
        case .traffic:
            out.write(": ")
            out.write(decimal: failures)
            out.write(failures == 1 ? " connect failed in traffic" : " connects failed in traffic")
        }
    }
}
