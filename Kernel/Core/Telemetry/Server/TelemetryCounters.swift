/// What the telemetry port counts about its clients: slots given, refused
/// and taken back, bounds enforced, and failed admin tokens. Reported in
/// `/metrics` (`skerry_telemetry_events_total`) and on the console.
public enum TelemetryCounter: Int, CounterKey, CaseIterable {
    case clientsAccepted
    /// Turned away because every slot, or the source's share, was taken.
    case clientsRefused
    /// Closed to make room for a new client while still in the handshake or idle.
    case clientsEvicted
    /// Closed for missing the handshake, request or HTTP deadline.
    case deadlinesMissed
    /// Reset for queuing more output than the bound.
    case outputOverflows
    /// Reset for taking none of its output for the stall time.
    case stalls
    /// Admin requests whose token was checked and wrong (or missing).
    case adminTokenFailures
    /// Admin requests refused unchecked while their source was rate-limited.
    case adminRateLimited

    public var name: StaticString {
        switch self {
        case .clientsAccepted: "clients-accepted"
        case .clientsRefused: "clients-refused"
        case .clientsEvicted: "clients-evicted"
        case .deadlinesMissed: "deadlines-missed"
        case .outputOverflows: "output-overflows"
        case .stalls: "stalls"
        case .adminTokenFailures: "admin-token-failures"
        case .adminRateLimited: "admin-rate-limited"
        }
    }
}

/// One count per `TelemetryCounter`.
public typealias TelemetryCounters = CounterSet<TelemetryCounter>
