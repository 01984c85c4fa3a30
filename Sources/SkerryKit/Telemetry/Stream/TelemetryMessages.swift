#if canImport(KernelCore)
import KernelCore
#endif

/// The messages of the Skerry telemetry stream as the host sees them
/// (docs/telemetry.md). Values are plain numbers in the units named.
public enum Telemetry {
    /// The appliance's answer to the client's hello.
    public struct Hello: Codable, Equatable, Sendable {
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
    public struct Schema: Codable, Equatable, Sendable {
        public struct NIC: Codable, Equatable, Sendable {
            public var role: String
            public var model: String
            public var address: String
        }

        public struct Backend: Codable, Equatable, Sendable {
            public var name: String
            public var address: String
            public var port: Int
            public var weight: Int
            public var maximumConnections: Int
        }

        public struct Service: Codable, Equatable, Sendable {
            public var name: String
            public var port: Int
            public var algorithm: String
            public var maximumConnections: Int
            public var backends: [Backend]
        }

        public struct Rule: Codable, Equatable, Sendable {
            public var name: String
            public var action: String
            public var log: Bool
            public var limited: Bool
        }

        public var nics: [NIC] = []
        public var stackCounters: [String] = []
        public var tcpCounters: [String] = []
        public var hasBalancer = false
        public var connectionCapacity = 0
        public var services: [Service] = []
        public var hasFirewall = false
        public var rules: [Rule] = []
        /// The default policy's action for in/admin, in/public, in/private, out/admin, out/public, out/private.
        public var policies: [String] = []

        public init() {}

        /// Backends of every service, in snapshot order, with their service's name.
        public var backendNames: [(service: String, backend: String)] {
            services.flatMap { service in service.backends.map { (service.name, $0.name) } }
        }

        /// The names of the default-policy rows, in snapshot order.
        public static let policyNames = ["in admin", "in public", "in private", "out admin", "out public", "out private"]
    }

    public struct NICValues: Codable, Equatable, Sendable {
        public var linkUp = false
        public var rxPackets: UInt64 = 0
        public var rxBytes: UInt64 = 0
        public var txPackets: UInt64 = 0
        public var txBytes: UInt64 = 0
        public var rxDropsNoBuffer: UInt64 = 0
        public var rxDropsBadFrame: UInt64 = 0
        public var txDropsRingFull: UInt64 = 0
        public var errors: UInt64 = 0
    }

    /// What the balancer keeps for a service or a backend.
    public struct TrafficValues: Codable, Equatable, Sendable {
        public var activeConnections: UInt64 = 0
        public var maximumConnectionsSeen: UInt64 = 0
        public var totalConnections: UInt64 = 0
        public var refusedConnections: UInt64 = 0
        public var failedConnects: UInt64 = 0
        /// New connections per second over the appliance's last full second.
        public var connectionRate: UInt64 = 0
        public var packetsToBackend: UInt64 = 0
        public var bytesToBackend: UInt64 = 0
        public var packetsToClient: UInt64 = 0
        public var bytesToClient: UInt64 = 0
    }

    public struct BackendValues: Codable, Equatable, Sendable {
        public var up = false
        /// enabled, draining or disabled.
        public var administrative = "enabled"
        public var weight: UInt64 = 0
        public var traffic = TrafficValues()
        public var checkFailures: UInt64 = 0
        public var consecutiveFailures: UInt64 = 0
        /// The last successful check's latency; nil before one.
        public var checkLatencyMicroseconds: UInt64?
        /// Time since its health last changed.
        public var stateAgeMilliseconds: UInt64 = 0
    }

    public struct BalancerCounters: Codable, Equatable, Sendable {
        public var invalidPackets: UInt64 = 0
        public var noBackend: UInt64 = 0
        public var serviceLimit: UInt64 = 0
        public var ttlExpired: UInt64 = 0
        public var unknownReplies: UInt64 = 0
    }

    public struct ConnectionTable: Codable, Equatable, Sendable {
        public var entries: UInt64 = 0
        public var created: UInt64 = 0
        public var tableFull: UInt64 = 0
        public var snatPortsExhausted: UInt64 = 0
        public var expired: UInt64 = 0
    }

    public struct RuleValues: Codable, Equatable, Sendable {
        public var packets: UInt64 = 0
        public var bytes: UInt64 = 0
        public var rateLimited: UInt64 = 0
        /// Time since the rule last matched; nil if it never has.
        public var lastHitAgeMilliseconds: UInt64?
    }

    public struct PolicyValues: Codable, Equatable, Sendable {
        public var packets: UInt64 = 0
        public var bytes: UInt64 = 0
    }

    public struct FirewallValues: Codable, Equatable, Sendable {
        public var invalidPackets: UInt64 = 0
        public var logsSuppressed: UInt64 = 0
        public var policies: [PolicyValues] = []
        /// The rules this snapshot carries, by index: every rule when
        /// `Snapshot.allRules`, otherwise those hit since the previous snapshot.
        public var rules: [Int: RuleValues] = [:]
    }

    public struct Snapshot: Codable, Equatable, Sendable {
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
        public var stackCounters: [UInt64] = []
        public var tcpCounters: [UInt64] = []
        public var tcpOpen: UInt64 = 0
        public var tcpTimeWait: UInt64 = 0
        public var balancer: BalancerCounters?
        public var services: [TrafficValues] = []
        /// Every service's backends, in schema order.
        public var backends: [BackendValues] = []
        public var connectionTable: ConnectionTable?
        public var firewall: FirewallValues?

        public init() {}
    }

    /// Something the appliance reported as it happened.
    public struct Event: Codable, Equatable, Sendable {
        public enum Kind: Codable, Equatable, Sendable {
            case backendStatus(service: Int, backend: Int, up: Bool)
            case checkFailed(service: Int, backend: Int, consecutive: UInt64)
            case administrative(service: Int, backend: Int, state: String)
            case weight(service: Int, backend: Int, weight: UInt64)
            /// `count` hits since the last report. The `unauthorized-admin`
            /// limit also names its `source` and its hits in the current minute.
            case limitHit(limit: String, count: UInt64, source: String? = nil, lastMinute: UInt64? = nil)
            /// `service`/`backend` are nil for reset-counters.
            case adminAction(action: String, service: Int?, backend: Int?, weight: UInt64, peer: String, channel: String)
            /// A kind this client does not know (from a newer appliance).
            case unknown(kind: UInt64)
        }

        public var uptimeMilliseconds: UInt64
        public var kind: Kind
    }

    /// The answer to an admin request.
    public struct AdminResult: Codable, Equatable, Sendable {
        public enum Code: Int, Codable, Sendable {
            case ok = 0, unauthorized = 1, actionsOff = 2, notFound = 3, badRequest = 4
        }

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

