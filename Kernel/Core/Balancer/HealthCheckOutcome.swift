/// How a backend's last active health check ended: what the console,
/// telemetry, the dashboard and `skerry stats` show as the check's reason.
public enum HealthCheckOutcome: UInt8, Sendable, Equatable, CaseIterable {
    /// No check has finished yet.
    case pending
    case passed
    /// The backend reset the connection (or an ICMP error refused it).
    case refused
    /// No answer within the check's timeout.
    case timeout
    /// An HTTP response whose status is outside the expected range
    /// (`BackendHealth.lastStatusCode` holds it).
    case badStatus
    /// Bytes that are not an HTTP response status line, or a connection
    /// closed before one arrived.
    case malformed
    /// The appliance had no connection slot to check with.
    case noConnection

    public var name: StaticString {
        switch self {
        case .pending: "pending"
        case .passed: "ok"
        case .refused: "refused"
        case .timeout: "timeout"
        case .badStatus: "bad status"
        case .malformed: "malformed response"
        case .noConnection: "no connection"
        }
    }
}

/// What moved a backend between UP and DOWN.
public enum HealthObservation: UInt8, Sendable, Equatable, CaseIterable {
    /// The active health checks (rise/fall).
    case check
    /// Connect failures of real client traffic (passive health).
    case traffic

    public var name: StaticString {
        switch self {
        case .check: "check"
        case .traffic: "traffic"
        }
    }
}
