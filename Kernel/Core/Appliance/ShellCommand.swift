/// The serial console's commands: each one's name, arguments, help line,
/// and whether it changes the appliance. The kernel's shell dispatches and
/// prints its help from this list; the dashboard's read-only console lets
/// through only the commands that change nothing.
public enum ShellCommand: UInt8, Sendable, NamedCase {
    case help, status, heap, nics, netstat, tcp, backends, rules, drain, disable, enable, weight, conns, shutdown

    public var name: StaticString {
        switch self {
        case .help: "help"
        case .status: "status"
        case .heap: "heap"
        case .nics: "nics"
        case .netstat: "netstat"
        case .tcp: "tcp"
        case .backends: "backends"
        case .rules: "rules"
        case .drain: "drain"
        case .disable: "disable"
        case .enable: "enable"
        case .weight: "weight"
        case .conns: "conns"
        case .shutdown: "shutdown"
        }
    }

    /// The arguments it takes, as help shows them; empty when none.
    public var arguments: StaticString {
        switch self {
        case .drain, .disable, .enable: "S/B"
        case .weight: "S/B N"
        default: ""
        }
    }

    /// What it does, in a few words.
    public var summary: StaticString {
        switch self {
        case .help: "this list"
        case .status: "uptime, event loop, NICs, telemetry clients and heap"
        case .heap: "heap statistics"
        case .nics: "per-NIC counters and link state"
        case .netstat: "the network stack's named counters (TCP included)"
        case .tcp: "TCP connections by state, limits, services"
        case .backends: "the balanced services' backends: health, admin state, connections"
        case .rules: "firewall rules: hits, bytes, rate-limited, last hit; default policies"
        case .drain: "send backend B of service S no new connections"
        case .disable: "take backend B of service S out entirely"
        case .enable: "bring backend B of service S back"
        case .weight: "set its weight for new connections (0-1000)"
        case .conns: "the balancer's connection table: counts by state, the first flows"
        case .shutdown: "stop the appliance cleanly"
        }
    }

    /// The admin action it is, for the commands that steer a backend.
    public var adminAction: TelemetryProtocol.AdminAction? {
        switch self {
        case .drain: .drain
        case .disable: .disable
        case .enable: .enable
        case .weight: .weight
        default: nil
        }
    }

    /// Whether it changes the appliance (admin actions, shutdown) rather than only reporting.
    public var changesState: Bool {
        adminAction != nil || self == .shutdown
    }

    /// Width of the name-and-arguments column in help: the longest, `weight S/B N`, and two spaces.
    public static let helpColumn = 14

    /// The help line, without its indent: name and arguments, padded to
    /// `helpColumn` (at least one space), then the summary.
    public func writeHelp<Sink: TextSink>(to sink: inout Sink) {
        sink.write(name)
        var width = name.utf8CodeUnitCount
        if arguments.utf8CodeUnitCount > 0 {
            sink.write(" ")
            sink.write(arguments)
            width += 1 + arguments.utf8CodeUnitCount
        }
        sink.write(spaces: Swift.max(1, Self.helpColumn - width))
        sink.write(summary)
    }
}
