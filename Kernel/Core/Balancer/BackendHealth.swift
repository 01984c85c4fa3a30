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
    /// How the last active check ended, and the HTTP status it read (0: none).
    public private(set) var lastOutcome = HealthCheckOutcome.pending
    public private(set) var lastStatusCode: UInt16 = 0
    /// What made the last change between UP and DOWN.
    public private(set) var lastChangeCause = HealthObservation.check
    /// When the backend came back UP after having been DOWN since it was
    /// first UP: where slow start counts from. Nil while DOWN, and for the
    /// first UP after boot, which every backend of a service shares.
    public private(set) var recoveredAt: Instant?
    private var hasBeenUp = false
    /// Passive health: connect failures of real traffic since the last
    /// success, counted while UP; kept through a DOWN they caused (the
    /// event reports it), zeroed when the backend comes back UP.
    public private(set) var consecutiveConnectFailures = 0

    public init() {}

    /// Zeroes the failure count; the state and its history stay.
    mutating func resetCounters() { checkFailures = 0 }

    /// Records how one check ended, and the HTTP status it read (0: none);
    /// only `.passed` counts as a success. Returns the new status when it changed.
    public mutating func record(_ outcome: HealthCheckOutcome, statusCode: UInt16 = 0, latency: Interval?, now: Instant,
                                rise: Int, fall: Int) -> Status? {
        lastOutcome = outcome
        lastStatusCode = statusCode
        if outcome == .passed {
            consecutiveSuccesses += 1
            consecutiveFailures = 0
            lastLatency = latency
            if status == .down && consecutiveSuccesses >= rise {
                status = .up
                lastChange = now
                lastChangeCause = .check
                recoveredAt = hasBeenUp ? now : nil
                consecutiveConnectFailures = 0
                hasBeenUp = true
                return .up
            }
        } else {
            countFailedCheck()
            if status == .up && consecutiveFailures >= fall {
                status = .down
                lastChange = now
                lastChangeCause = .check
                recoveredAt = nil
                return .down
            }
        }
        return nil
    }
}

// MARK: Passive health

extension BackendHealth {
    /// Records the connect of one real client connection: a success zeroes
    /// the run of failures; failure number `errorLimit` and each after it
    /// trigger `action` (`errorLimit` 0: nothing is counted). A DOWN
    /// backend's connects change nothing. Returns the new status when it
    /// changed; the change's cause is `.traffic`.
    public mutating func recordConnect(succeeded: Bool, now: Instant, errorLimit: Int, action: PassiveHealthAction,
                                       fall: Int) -> Status? {
        guard errorLimit > 0, status == .up else { return nil }
        guard !succeeded else {
            consecutiveConnectFailures = 0
            return nil
        }
        consecutiveConnectFailures += 1
        guard consecutiveConnectFailures >= errorLimit else { return nil }
        switch action {
        case .markDown:
            goDownFromTraffic(now: now)
            return .down
        case .failCheck:
            // One failed check toward `fall`, as an active check counts it.
            countFailedCheck()
            guard consecutiveFailures >= fall else { return nil }
            goDownFromTraffic(now: now)
            return .down
        }
    }

    /// DOWN now; the active checks need `rise` fresh successes to bring it back.
    private mutating func goDownFromTraffic(now: Instant) {
        status = .down
        lastChange = now
        lastChangeCause = .traffic
        recoveredAt = nil
        consecutiveSuccesses = 0
    }

    private mutating func countFailedCheck() {
        checkFailures += 1
        consecutiveFailures += 1
        consecutiveSuccesses = 0
    }
}
