/// The numbers of the Skerry telemetry protocol (docs/telemetry.md,
/// "The telemetry stream"): a client opens the telemetry port on the admin
/// NIC, sends `SKTP` and the versions it speaks, then exchanges frames of
/// `type u8 | length u32 big-endian | payload`.
public enum TelemetryProtocol {
    /// The first bytes a stream client sends: "SKTP". HTTP requests start
    /// with a method name, so one port serves both.
    public static let magic: (UInt8, UInt8, UInt8, UInt8) = (0x53, 0x4B, 0x54, 0x50)
    /// `magic`, lowest version, highest version.
    public static let helloLength = 6
    /// The newest version this appliance speaks, and the oldest: it answers
    /// with the highest version both it and the client speak.
    public static let version: UInt8 = 3
    public static let oldestVersion: UInt8 = 2
    /// The version that added the traffic statistics' names to the schema,
    /// the failover settings and health details, and the status events' cause.
    public static let failoverVersion: UInt8 = 3
    public static let frameHeaderLength = 5
    /// The longest frame a client may send.
    public static let maximumRequestLength = 1024
    /// Snapshot intervals a subscription may ask for, in milliseconds.
    public static let intervals: ClosedRange<UInt64> = 100...60_000

    public enum MessageType: UInt8, Sendable {
        // Appliance to client.
        case hello = 0x01
        case schema = 0x02
        case snapshot = 0x03
        case event = 0x04
        case result = 0x05
        case error = 0x7F
        // Client to appliance.
        case subscribe = 0x10
        case admin = 0x11
    }

    /// Why the appliance closes a stream; sent in an `error` frame.
    public enum ErrorCode: UInt8, Sendable {
        case unsupportedVersion = 1
        case malformed = 2
        case tooLarge = 3
        case unexpected = 4
        /// Every telemetry slot, or the client's source's share, is taken.
        case busy = 5
    }

    /// An operator's action, named as the console, `skerry admin`, smoke
    /// scripts and the dashboard spell it.
    public enum AdminAction: UInt8, Sendable, NamedCase {
        case drain = 1
        case disable = 2
        case enable = 3
        case weight = 4
        case resetCounters = 5

        public var name: StaticString {
            switch self {
            case .drain: "drain"
            case .disable: "disable"
            case .enable: "enable"
            case .weight: "weight"
            case .resetCounters: "reset-counters"
            }
        }

        /// The administrative state a drain, disable or enable sets.
        public var administrativeState: LoadBalancer.AdministrativeState? {
            switch self {
            case .drain: .draining
            case .disable: .disabled
            case .enable: .enabled
            case .weight, .resetCounters: nil
            }
        }
    }

    /// The outcome of an admin request, in a `result` frame.
    public enum ResultCode: UInt8, Sendable {
        case ok = 0
        case unauthorized = 1
        /// The appliance file sets no admin token.
        case actionsOff = 2
        case notFound = 3
        case badRequest = 4
    }

    public enum EventKind: UInt8, Sendable {
        case backendStatus = 1
        case checkFailed = 2
        case administrative = 3
        case weight = 4
        case limitHit = 5
        case adminAction = 6
    }

    /// A limit an `limitHit` event reports.
    public enum Limit: UInt8, CaseIterable, Sendable {
        case connectionTableFull = 1
        case snatPortsExhausted = 2
        case serviceLimit = 3
        case noBackend = 4
        case firewallRateLimit = 5
        case receiveBuffersExhausted = 6
        case transmitRingFull = 7
        case telemetryClientsRefused = 8
        /// Admin requests refused for their token (or unchecked while their source waits).
        case unauthorizedAdmin = 9

        /// Its name in docs and host tools.
        public var name: StaticString {
            switch self {
            case .connectionTableFull: return "connection-table-full"
            case .snatPortsExhausted: return "snat-ports-exhausted"
            case .serviceLimit: return "service-limit"
            case .noBackend: return "no-backend"
            case .firewallRateLimit: return "firewall-rate-limit"
            case .receiveBuffersExhausted: return "receive-buffers-exhausted"
            case .transmitRingFull: return "transmit-ring-full"
            case .telemetryClientsRefused: return "telemetry-clients-refused"
            case .unauthorizedAdmin: return "unauthorized-admin"
            }
        }
    }

    /// How an admin action arrived. The telemetry stream is the only way in;
    /// the number leaves room for others.
    public enum Channel: UInt8, Sendable, NamedCase {
        case stream = 2

        public var name: StaticString {
            switch self {
            case .stream: return "the telemetry stream"
            }
        }
    }

    /// Schema flags.
    public static let hasBalancer: UInt64 = 1
    public static let hasFirewall: UInt64 = 2
    /// The telemetry port's own counters are in the stream.
    public static let hasTelemetry: UInt64 = 4
    /// Hello flag: admin actions are possible (the appliance has a token).
    public static let adminEnabled: UInt64 = 1
    /// Snapshot flag: the rule section lists every rule, not only the ones hit since the last snapshot.
    public static let allRules: UInt64 = 1
}
