#if canImport(KernelCore)
import KernelCore
#endif

/// The messages of the Skerry telemetry stream as the host sees them
/// (docs/telemetry.md). Values are plain numbers in the units named;
/// counters, states and actions are the core's own types.
public enum Telemetry {
    /// The appliance's answer to the client's hello.
    public struct Hello: Encodable, Equatable, Sendable {
        public var version: Int
        public var appliance: String
        public var uptimeMilliseconds: UInt64
        /// The appliance has an admin token, so admin actions are possible.
        public var adminEnabled: Bool

        public init(version: Int, appliance: String, uptimeMilliseconds: UInt64, adminEnabled: Bool) {
            self.version = version
            self.appliance = appliance
            self.uptimeMilliseconds = uptimeMilliseconds
            self.adminEnabled = adminEnabled
        }
    }

    /// Names and configuration, sent once per subscription; snapshots are
    /// values in this order.
    public struct Schema: Encodable, Equatable, Sendable {
        public struct NIC: Encodable, Equatable, Sendable {
            public var role: String
            public var model: String
            public var address: String
        }

        public struct Backend: Encodable, Equatable, Sendable {
            public var name: String
            public var address: String
            public var port: Int
            public var weight: Int
            public var maximumConnections: Int
            /// Takes new connections only while no primary backend is eligible.
            public var backup = false
        }

        public struct Service: Encodable, Equatable, Sendable {
            public var name: String
            public var port: Int
            public var algorithm: String
            public var maximumConnections: Int
            public var backends: [Backend]
            /// Failover settings (protocol version 3; nil from a version 2
            /// appliance): other backends a refused connection tries, how long
            /// a backend has to answer a SYN, and the slow-start ramp.
            public var retries: Int?
            public var connectTimeoutMilliseconds: UInt64?
            public var slowStartMilliseconds: UInt64?
            /// The active health check, as the appliance file writes it:
            /// `tcp`, or `http GET /health expect 200`.
            public var check: String?
        }

        public struct Rule: Encodable, Equatable, Sendable {
            public var name: String
            public var action: FirewallAction
            public var log: Bool
            public var limited: Bool
        }

        public var nics: [NIC] = []
        /// The names of each counter set, in the order snapshots carry its values.
        public var stackCounters = CounterNames<StackCounter>()
        public var tcpCounters = CounterNames<TCPCounter>()
        /// The NIC counters, one set per NIC.
        public var deviceCounters = CounterNames<DeviceCounter>()
        public var hasTelemetry = false
        public var telemetryCounters = CounterNames<TelemetryCounter>()
        public var hasBalancer = false
        public var balancerCounters = CounterNames<BalancerCounter>()
        public var conntrackCounters = CounterNames<ConntrackCounter>()
        /// The names of the traffic statistics each service and backend
        /// carries (version 2's fixed list from a version 2 appliance).
        public var trafficStatistics = CounterNames<TrafficStatistic>(TrafficStatistic.allCases.map { "\($0.name)" })
        public var connectionCapacity = 0
        /// Half-open flows the connection table tracks at most.
        public var halfOpenLimit = 0
        public var services: [Service] = []
        public var hasFirewall = false
        public var rules: [Rule] = []
        /// The default policy's action for in/admin, in/public, in/private, out/admin, out/public, out/private.
        public var policies: [FirewallAction] = []

        public init() {}

        /// Backends of every service, in snapshot order, with their service's name.
        public var backendNames: [(service: String, backend: String)] {
            services.flatMap { service in service.backends.map { (service.name, $0.name) } }
        }

        /// The names of the default-policy rows, in snapshot order.
        public static let policyNames = PolicyKey.allCases.map { "\($0.name)" }
    }

    public struct NICValues: Encodable, Equatable, Sendable {
        public var linkUp = false
        public var counters = DeviceCounters()
    }

    /// What the balancer keeps for a service or a backend.
    /// What the balancer keeps for a service or a backend, by the core's key.
    public typealias TrafficValues = CounterSet<TrafficStatistic>

    public struct BackendValues: Encodable, Equatable, Sendable {
        public var up = false
        public var administrative = LoadBalancer.AdministrativeState.enabled
        public var weight: UInt64 = 0
        public var traffic = TrafficValues()
        public var checkFailures: UInt64 = 0
        public var consecutiveFailures: UInt64 = 0
        /// The last successful check's latency; nil before one.
        public var checkLatencyMicroseconds: UInt64?
        /// Time since its health last changed.
        public var stateAgeMilliseconds: UInt64 = 0
        /// How the last check ended and the HTTP status it read (0: none);
        /// nil from a version 2 appliance, or an outcome this client does not know.
        public var checkOutcome: HealthCheckOutcome?
        public var checkStatusCode: UInt16 = 0
        /// What last moved it UP or DOWN (nil: not reported).
        public var statusCause: HealthObservation?
        /// How far through its slow start, 0-99; nil when not ramping.
        public var slowStartPercent: Int?

        public init() {}

        /// The last check's reason (`ok`, `refused`, `bad status 503`), or nil when not reported.
        public var checkReason: String? {
            guard let checkOutcome else { return nil }
            var text = ByteText()
            checkOutcome.writeReason(statusCode: checkStatusCode, to: &text)
            return String(decoding: text.bytes, as: UTF8.self)
        }
    }

    public struct ConnectionTable: Encodable, Equatable, Sendable {
        /// Flows tracked, and those of them whose handshake has not completed.
        public var entries: UInt64 = 0
        public var halfOpen: UInt64 = 0
        public var counters = ConnectionTracker.Counters()
    }

    public struct RuleValues: Encodable, Equatable, Sendable {
        public var packets: UInt64 = 0
        public var bytes: UInt64 = 0
        public var rateLimited: UInt64 = 0
        /// Time since the rule last matched; nil if it never has.
        public var lastHitAgeMilliseconds: UInt64?
    }

    public struct PolicyValues: Encodable, Equatable, Sendable {
        public var packets: UInt64 = 0
        public var bytes: UInt64 = 0
    }

    public struct FirewallValues: Encodable, Equatable, Sendable {
        public var invalidPackets: UInt64 = 0
        public var logsSuppressed: UInt64 = 0
        public var policies: [PolicyValues] = []
        /// The rules this snapshot carries, by index: every rule when
        /// `Snapshot.allRules`, otherwise those hit since the previous snapshot.
        public var rules: [Int: RuleValues] = [:]
    }

    public struct Snapshot: Encodable, Equatable, Sendable {
        public var sequence: UInt64 = 0
        public var allRules = false
        public var uptimeMilliseconds: UInt64 = 0
        public var heapUsed: UInt64 = 0
        public var heapFree: UInt64 = 0
        public var heapPeak: UInt64 = 0
        /// The event loop's time working and waiting since boot.
        public var loopBusyMicroseconds: UInt64 = 0
        public var loopIdleMicroseconds: UInt64 = 0
        public var nics: [NICValues] = []
        public var stackCounters = StackCounters()
        public var tcpCounters = TCPCounters()
        public var tcpOpen: UInt64 = 0
        public var tcpTimeWait: UInt64 = 0
        /// The telemetry port's own counters, where the schema has them.
        public var telemetry: TelemetryCounters?
        public var balancer: LoadBalancer.Counters?
        public var services: [TrafficValues] = []
        /// Every service's backends, in schema order.
        public var backends: [BackendValues] = []
        public var connectionTable: ConnectionTable?
        public var firewall: FirewallValues?

        public init() {}
    }

    /// Something the appliance reported as it happened.
    public struct Event: Encodable, Equatable, Sendable {
        public enum Kind: Encodable, Equatable, Sendable {
            /// `cause` is nil from a version 2 appliance.
            case backendStatus(service: Int, backend: Int, up: Bool, cause: BackendStatusCause? = nil)
            case checkFailed(service: Int, backend: Int, consecutive: UInt64)
            case administrative(service: Int, backend: Int, state: LoadBalancer.AdministrativeState)
            case weight(service: Int, backend: Int, weight: UInt64)
            /// `count` hits since the last report. The `unauthorized-admin`
            /// limit also names its `source` and its hits in the current minute.
            case limitHit(limit: String, count: UInt64, source: String? = nil, lastMinute: UInt64? = nil)
            /// `service`/`backend` are nil for reset-counters; `channel` is nil
            /// for one this client does not know.
            case adminAction(action: AdminAction, service: Int?, backend: Int?, weight: UInt64, peer: String,
                             channel: TelemetryProtocol.Channel?)
            /// A kind this client does not know (from a newer appliance).
            case unknown(kind: UInt64)
        }

        public var uptimeMilliseconds: UInt64
        public var kind: Kind

        public init(uptimeMilliseconds: UInt64, kind: Kind) {
            self.uptimeMilliseconds = uptimeMilliseconds
            self.kind = kind
        }
    }

    /// The answer to an admin request.
    public struct AdminResult: Encodable, Equatable, Sendable {
        public typealias Code = TelemetryProtocol.ResultCode

        public var request: UInt64
        public var code: Code
        public var message: String

        public init(request: UInt64, code: Code, message: String) {
            self.request = request
            self.code = code
            self.message = message
        }
    }

    /// The admin frame's actions, numbered as the protocol numbers them.
    public typealias AdminAction = TelemetryProtocol.AdminAction

    public enum Message: Equatable, Sendable {
        case hello(Hello)
        case schema(Schema)
        case snapshot(Snapshot)
        case event(Event)
        case result(AdminResult)
    }
}


/// The names a schema gives one counter set, each with the core's key for
/// it; a name this client does not know (from a newer appliance) has none,
/// and its values are skipped.
public struct CounterNames<Key: CounterKey>: Equatable, Sendable, Encodable {
    public private(set) var names: [String] = []
    public private(set) var keys: [Key?] = []

    public init() {}

    public init(_ names: [String]) {
        for name in names { append(name) }
    }

    mutating func append(_ name: String) {
        names.append(name)
        keys.append(Key(name: name))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(names)
    }
}

/// A JSON key that is a counter's or a case's name.
struct NameKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

// The core's types in JSON (`skerry stats --json`): counter sets as objects
// keyed by counter name, states and actions as their names.
extension CounterSet: Encodable {}
extension HealthCheckOutcome: Encodable {}
extension HealthObservation: Encodable {}
extension BackendStatusCause: Encodable {}
extension LoadBalancer.AdministrativeState: Encodable {}
extension FirewallAction: Encodable {}
extension TelemetryProtocol.AdminAction: Encodable {}
extension TelemetryProtocol.Channel: Encodable {}
extension TelemetryProtocol.ResultCode: Encodable {}

extension CounterSet {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: NameKey.self)
        var failure: (any Error)?
        forEach { key, value in
            guard failure == nil else { return }
            do { try container.encode(value, forKey: NameKey(stringValue: "\(key.name)")) } catch { failure = error }
        }
        if let failure { throw failure }
    }
}

extension LoadBalancer.AdministrativeState {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode("\(label)")
    }
}

extension HealthCheckOutcome {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode("\(name)")
    }
}

extension HealthObservation {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode("\(name)")
    }
}

extension BackendStatusCause {
    enum CodingKeys: String, CodingKey { case observation, outcome, statusCode, failures }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(observation, forKey: .observation)
        try container.encode(outcome, forKey: .outcome)
        try container.encode(statusCode, forKey: .statusCode)
        try container.encode(failures, forKey: .failures)
    }
}

extension FirewallAction {
    public func encode(to encoder: any Encoder) throws { try encodeName(to: encoder) }
}

extension TelemetryProtocol.AdminAction {
    public func encode(to encoder: any Encoder) throws { try encodeName(to: encoder) }
}

extension TelemetryProtocol.Channel {
    public func encode(to encoder: any Encoder) throws { try encodeName(to: encoder) }
}

extension NamedCase {
    func encodeName(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode("\(name)")
    }
}
