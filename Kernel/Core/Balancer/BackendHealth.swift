/// The health state machine of one backend: consecutive results against
/// the rise and fall thresholds. Backends start down and must pass `rise`
/// checks before they take traffic.
public struct BackendHealth: Sendable, Equatable {
    public enum Status: Sendable, Equatable {
        case up, down

        public var name: StaticString { self == .up ? "UP" : "DOWN" }
    }

    public private(set) var status = Status.down
    public private(set) var consecutiveSuccesses = 0
    public private(set) var consecutiveFailures = 0
    public private(set) var checkFailures: UInt64 = 0
    public private(set) var lastLatency: Interval?
    public private(set) var lastChange = Instant.zero

    public init() {}

    /// Zeroes the failure count; the state and its history stay.
    mutating func resetCounters() { checkFailures = 0 }

    /// Records one check. Returns the new status when it changed.
    public mutating func record(success: Bool, latency: Interval?, now: Instant, rise: Int, fall: Int) -> Status? {
        if success {
            consecutiveSuccesses += 1
            consecutiveFailures = 0
            lastLatency = latency
            if status == .down && consecutiveSuccesses >= rise {
                status = .up
                lastChange = now
                return .up
            }
        } else {
            checkFailures += 1
            consecutiveFailures += 1
            consecutiveSuccesses = 0
            if status == .up && consecutiveFailures >= fall {
                status = .down
                lastChange = now
                return .down
            }
        }
        return nil
    }
}
