/// What the telemetry port counts about its clients: slots given, refused
/// and taken back, bounds enforced, and failed admin tokens. Reported in
/// `/metrics` (`skerry_telemetry_events_total`) and on the console.
public struct TelemetryCounters: Sendable, Equatable {
    public var clientsAccepted: UInt64 = 0
    /// Turned away because every slot, or the source's share, was taken.
    public var clientsRefused: UInt64 = 0
    /// Closed to make room for a new client while still in the handshake or idle.
    public var clientsEvicted: UInt64 = 0
    /// Closed for missing the handshake, request or HTTP deadline.
    public var deadlinesMissed: UInt64 = 0
    /// Reset for queuing more output than the bound.
    public var outputOverflows: UInt64 = 0
    /// Reset for taking none of its output for the stall time.
    public var stalls: UInt64 = 0
    /// Admin requests whose token was checked and wrong (or missing).
    public var adminTokenFailures: UInt64 = 0
    /// Admin requests refused unchecked while their source was rate-limited.
    public var adminRateLimited: UInt64 = 0

    public init() {}

    /// How many counters `name(_:)` and `value(_:)` index.
    public static let count = 8

    /// Counter `index`'s name, in declaration order.
    public static func name(_ index: Int) -> StaticString {
        switch index {
        case 0: return "clients-accepted"
        case 1: return "clients-refused"
        case 2: return "clients-evicted"
        case 3: return "deadlines-missed"
        case 4: return "output-overflows"
        case 5: return "stalls"
        case 6: return "admin-token-failures"
        case 7: return "admin-rate-limited"
        default: return "unknown"
        }
    }

    /// Counter `index`'s value.
    public func value(_ index: Int) -> UInt64 {
        switch index {
        case 0: return clientsAccepted
        case 1: return clientsRefused
        case 2: return clientsEvicted
        case 3: return deadlinesMissed
        case 4: return outputOverflows
        case 5: return stalls
        case 6: return adminTokenFailures
        case 7: return adminRateLimited
        default: return 0
        }
    }

    /// Calls `body` with each counter's name and value, in declaration order.
    public func forEach(_ body: (StaticString, UInt64) -> Void) {
        for index in 0..<Self.count { body(Self.name(index), value(index)) }
    }
}
