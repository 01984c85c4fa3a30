/// Something the telemetry stream pushes the moment it happens. Services and
/// backends are indices into the schema's lists (-1: none).
public enum TelemetryEvent: Sendable {
    case backendStatus(service: Int, backend: Int, up: Bool, cause: BackendStatusCause)
    case checkFailed(service: Int, backend: Int, consecutive: Int)
    case administrative(service: Int, backend: Int, state: LoadBalancer.AdministrativeState)
    case weight(service: Int, backend: Int, weight: Int)
    /// `count` more hits of `limit` since it was last reported.
    case limitHit(TelemetryProtocol.Limit, count: UInt64)
    case adminAction(TelemetryProtocol.AdminAction, service: Int, backend: Int, weight: Int, peer: IPv4Address,
                     channel: TelemetryProtocol.Channel)
    /// Admin requests from one source refused for their token, sent as a
    /// limit-hit (`unauthorized-admin`) that also carries the source.
    case unauthorizedAdmin(TokenFailureLimiter.Report)

    public var kind: TelemetryProtocol.EventKind {
        switch self {
        case .backendStatus: return .backendStatus
        case .checkFailed: return .checkFailed
        case .administrative: return .administrative
        case .weight: return .weight
        case .limitHit, .unauthorizedAdmin: return .limitHit
        case .adminAction: return .adminAction
        }
    }

    /// The event a balancer event becomes.
    public init(_ event: LoadBalancer.Event, in balancer: LoadBalancer) {
        func indices(_ service: LoadBalancer.Service, _ backend: LoadBalancer.Backend) -> (Int, Int) {
            let serviceIndex = balancer.services.firstIndex { $0 === service } ?? -1
            return (serviceIndex, service.backends.firstIndex { $0 === backend } ?? -1)
        }
        switch event {
        case .backendStatusChanged(let service, let backend, let status):
            let (s, b) = indices(service, backend)
            self = .backendStatus(service: s, backend: b, up: status == .up, cause: BackendStatusCause(backend, in: service))
        case .checkFailed(let service, let backend):
            let (s, b) = indices(service, backend)
            self = .checkFailed(service: s, backend: b, consecutive: backend.health.consecutiveFailures)
        case .administrativeChange(let service, let backend, let state):
            let (s, b) = indices(service, backend)
            self = .administrative(service: s, backend: b, state: state)
        case .weightChange(let service, let backend, let weight):
            let (s, b) = indices(service, backend)
            self = .weight(service: s, backend: b, weight: weight)
        }
    }
}
