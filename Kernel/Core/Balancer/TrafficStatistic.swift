/// The figures the balancer keeps for each service and backend
/// (`LoadBalancer.Statistics`), named once: the telemetry stream carries
/// them in this order, and the host reads them by key.
public enum TrafficStatistic: Int, CounterKey, CaseIterable {
    case activeConnections
    case maximumConnectionsSeen
    case totalConnections
    case refusedConnections
    case failedConnects
    /// Connections moved from this backend (or, for a service, moved at
    /// all) to another after a refused or unanswered SYN.
    case redispatched
    /// SYNs a backend answered with a RST or an ICMP unreachable.
    case connectRefused
    /// SYNs a backend left unanswered past the service's connect timeout.
    case connectTimeouts
    case connectionRate
    case packetsToBackend
    case bytesToBackend
    case packetsToClient
    case bytesToClient

    public var name: StaticString {
        switch self {
        case .activeConnections: "active-connections"
        case .maximumConnectionsSeen: "most-connections"
        case .totalConnections: "total-connections"
        case .refusedConnections: "refused-connections"
        case .failedConnects: "failed-connects"
        case .redispatched: "redispatched"
        case .connectRefused: "connect-refused"
        case .connectTimeouts: "connect-timeouts"
        case .connectionRate: "connection-rate"
        case .packetsToBackend: "packets-to-backend"
        case .bytesToBackend: "bytes-to-backend"
        case .packetsToClient: "packets-to-client"
        case .bytesToClient: "bytes-to-client"
        }
    }
}

extension LoadBalancer.Statistics {
    /// The figure `key` names.
    public subscript(key: TrafficStatistic) -> UInt64 {
        switch key {
        case .activeConnections: UInt64(activeConnections)
        case .maximumConnectionsSeen: UInt64(maximumConnectionsSeen)
        case .totalConnections: totalConnections
        case .refusedConnections: refusedConnections
        case .failedConnects: failedConnects
        case .redispatched: redispatched
        case .connectRefused: connectRefused
        case .connectTimeouts: connectTimeouts
        case .connectionRate: connectionRate
        case .packetsToBackend: packetsToBackend
        case .bytesToBackend: bytesToBackend
        case .packetsToClient: packetsToClient
        case .bytesToClient: bytesToClient
        }
    }
}
