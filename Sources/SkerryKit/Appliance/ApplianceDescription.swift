import KernelCore

/// An appliance as its file describes it: name, NICs, and balanced services.
public struct ApplianceDescription: Sendable {
    public struct Backend: Sendable, Equatable {
        public var name: String
        public var address: IPv4Address
        public var port: UInt16
        public var weight = 1
        public var maximumConnections = 0
        /// Takes new connections only while no primary backend is eligible.
        public var backup = false
    }

    /// `health-check http METHOD PATH expect STATUS`: the file's words,
    /// which the generated source writes as the kernel's `HTTPHealthCheck`.
    public struct HTTPCheck: Sendable, Equatable {
        public var method: String
        public var path: String
        public var expectedStatus = KernelDefaults.http.expectedStatus
    }

    public struct Service: Sendable {
        public var name: String
        public var port: UInt16 = 0
        public var algorithm = BalancingAlgorithm.roundRobin
        public var maximumConnections = 0
        public var healthInterval = Interval.seconds(2)
        public var healthTimeout = Interval.seconds(1)
        public var rise = 2
        public var fall = 3
        public var backends: [Backend] = []
        public var timeouts = ConnectionTracker.Timeouts()
        /// The HTTP request the active checks send; nil: a TCP connect.
        public var httpCheck: HTTPCheck?
        /// Consecutive connect failures of real traffic that trigger `onError` (0: passive health off).
        public var errorLimit = KernelDefaults.health.errorLimit
        public var onError = KernelDefaults.health.onError
        /// Other backends a refused or unanswered connection is sent to.
        public var retries = KernelDefaults.service.retries
        /// How long a backend has to answer a forwarded SYN.
        public var connectTimeout = KernelDefaults.service.connectTimeout
        /// The ramp of a backend that comes back UP (zero: none).
        public var slowStart = KernelDefaults.service.slowStart
        /// Where the file gives the port, for diagnostics about it.
        public var portLocation: ConfigLocation?
    }

    public var name = ""
    public var interfaces: [InterfaceConfiguration] = InterfaceRole.allCases.map { InterfaceConfiguration.standard($0) }
    public var services: [Service] = []
    /// The firewall's rule file (resolved against the appliance file's directory), if any.
    public var firewallRules: String?
    /// The TCP port on the admin NIC serving metrics and admin actions.
    public var telemetryPort: UInt16 = 9100
    /// The token admin actions must present; without one they are refused.
    public var adminToken: String?
    /// The file it came from.
    public var source: String = ""

    /// The most backends a service has: the balancer marks the backends a
    /// connection has tried in a 64-bit mask.
    public static let maximumBackends = UInt64.bitWidth

    /// Ports the admin NIC's test services hold.
    static let adminServicePorts: [UInt16: String] = [7: "echo", 9: "discard", 19: "chargen"]
}

extension ApplianceDescription {
    /// The MACs the file pins (`nic ROLE … mac MAC`), by role: the kernel
    /// gives those roles by MAC, so a VM's NICs must carry them.
    public var pinnedMACs: [InterfaceRole: MACAddress] {
        var macs: [InterfaceRole: MACAddress] = [:]
        for interface in interfaces { macs[interface.role] = interface.hardware }
        return macs
    }
}

/// The kernel's own defaults, which settings the file leaves out take: the
/// defaults are stated once, in the kernel's configuration types.
public enum KernelDefaults {
    public static let service = ServiceConfiguration(name: "", port: 0, algorithm: .roundRobin, backends: [])
    public static let health = HealthCheckConfiguration()
    public static let http = HTTPHealthCheck()
}
