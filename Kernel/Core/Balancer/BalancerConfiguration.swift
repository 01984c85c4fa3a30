/// One backend of a service: where it is and how much it takes.
public struct BackendConfiguration: Sendable {
    public var name: StaticString
    public var address: IPv4Address
    public var port: UInt16
    public var weight: Int
    /// New connections are refused to it beyond this many active ones (0: no limit).
    public var maximumConnections: Int
    /// Takes new connections only while no primary (non-backup) backend of
    /// its service is eligible.
    public var backup: Bool

    public init(name: StaticString, address: IPv4Address, port: UInt16, weight: Int = 1, maximumConnections: Int = 0,
                backup: Bool = false) {
        self.name = name
        self.address = address
        self.port = port
        self.weight = weight
        self.maximumConnections = maximumConnections
        self.backup = backup
    }
}

/// What an active health check asks of a backend.
public enum HealthCheckKind: Sendable {
    /// A TCP connect that reaches ESTABLISHED.
    case tcp
    /// An HTTP/1.0 request whose response status lies in the expected range.
    case http(HTTPHealthCheck)
}

/// `health-check http GET /path expect 200` (or `expect 200-399`).
public struct HTTPHealthCheck: Sendable {
    public var method: StaticString
    public var path: StaticString
    public var expectedStatus: ClosedRange<Int>

    public init(method: StaticString = "GET", path: StaticString = "/", expectedStatus: ClosedRange<Int> = 200...399) {
        self.method = method
        self.path = path
        self.expectedStatus = expectedStatus
    }
}

/// What passive health does once `errorLimit` consecutive connect
/// failures have been seen in real traffic.
public enum PassiveHealthAction: Sendable, Equatable, CaseIterable {
    /// The backend goes DOWN at once; active checks bring it back (rise).
    case markDown
    /// Each failure at or past the limit counts as one failed check (fall).
    case failCheck

    /// The name the appliance file uses.
    public var name: StaticString {
        switch self {
        case .markDown: "mark-down"
        case .failCheck: "fail-check"
        }
    }
}

/// Active health checking every `interval`: `fall` consecutive failures
/// mark a backend down, `rise` successes up again. Passive health watches
/// the connects of real traffic: `errorLimit` consecutive failures (0: off)
/// trigger `onError`.
public struct HealthCheckConfiguration: Sendable {
    public var kind: HealthCheckKind
    public var interval: Interval
    public var timeout: Interval
    public var rise: Int
    public var fall: Int
    public var errorLimit: Int
    public var onError: PassiveHealthAction

    public init(kind: HealthCheckKind = .tcp, interval: Interval = .seconds(2), timeout: Interval = .seconds(1), rise: Int = 2,
                fall: Int = 3, errorLimit: Int = 3, onError: PassiveHealthAction = .markDown) {
        self.kind = kind
        self.interval = interval
        self.timeout = timeout
        self.rise = rise
        self.fall = fall
        self.errorLimit = errorLimit
        self.onError = onError
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
    /// How many other backends a new connection is sent to when its
    /// backend refuses it or does not answer its SYN (0: no redispatch).
    public var retries: Int
    /// How long a backend has to answer a forwarded SYN before the
    /// connection is redispatched.
    public var connectTimeout: Interval
    /// How long a backend that comes back UP takes to ramp from 1/10 of
    /// its weight to all of it (zero: at once).
    public var slowStart: Interval

    public init(name: StaticString, port: UInt16, algorithm: BalancingAlgorithm, backends: [BackendConfiguration],
                health: HealthCheckConfiguration = HealthCheckConfiguration(), maximumConnections: Int = 0,
                timeouts: ConnectionTracker.Timeouts = ConnectionTracker.Timeouts(), retries: Int = 2,
                connectTimeout: Interval = .seconds(1), slowStart: Interval = .zero) {
        self.name = name
        self.port = port
        self.algorithm = algorithm
        self.backends = backends
        self.health = health
        self.maximumConnections = maximumConnections
        self.timeouts = timeouts
        self.retries = retries
        self.connectTimeout = connectTimeout
        self.slowStart = slowStart
    }
}
