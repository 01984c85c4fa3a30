/// One backend of a service: where it is and how much it takes.
public struct BackendConfiguration: Sendable {
    public var name: StaticString
    public var address: IPv4Address
    public var port: UInt16
    public var weight: Int
    /// New connections are refused to it beyond this many active ones (0: no limit).
    public var maximumConnections: Int

    public init(name: StaticString, address: IPv4Address, port: UInt16, weight: Int = 1, maximumConnections: Int = 0) {
        self.name = name
        self.address = address
        self.port = port
        self.weight = weight
        self.maximumConnections = maximumConnections
    }
}

/// Active health checking: a TCP connect to the backend every `interval`;
/// `fall` consecutive failures mark it down, `rise` successes up again.
public struct HealthCheckConfiguration: Sendable {
    public var interval: Interval
    public var timeout: Interval
    public var rise: Int
    public var fall: Int

    public init(interval: Interval = .seconds(2), timeout: Interval = .seconds(1), rise: Int = 2, fall: Int = 3) {
        self.interval = interval
        self.timeout = timeout
        self.rise = rise
        self.fall = fall
    }
}

/// A port on the public NIC balanced over a pool of backends on the private network.
public struct ServiceConfiguration: Sendable {
    public var name: StaticString
    public var port: UInt16
    public var algorithm: BalancingAlgorithm
    public var backends: [BackendConfiguration]
    public var health: HealthCheckConfiguration
    /// New connections beyond this many active ones are refused (0: no limit).
    public var maximumConnections: Int
    /// How long the connection tracker keeps this service's flows in each state.
    public var timeouts: ConnectionTracker.Timeouts

    public init(name: StaticString, port: UInt16, algorithm: BalancingAlgorithm, backends: [BackendConfiguration],
                health: HealthCheckConfiguration = HealthCheckConfiguration(), maximumConnections: Int = 0,
                timeouts: ConnectionTracker.Timeouts = ConnectionTracker.Timeouts()) {
        self.name = name
        self.port = port
        self.algorithm = algorithm
        self.backends = backends
        self.health = health
        self.maximumConnections = maximumConnections
        self.timeouts = timeouts
    }
}
