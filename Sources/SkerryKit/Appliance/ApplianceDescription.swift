import KernelCore

/// An appliance as its file describes it: name, NICs, and balanced services.
public struct ApplianceDescription: Sendable {
    public struct Backend: Sendable, Equatable {
        public var name: String
        public var address: IPv4Address
        public var port: UInt16
        public var weight = 1
        public var maximumConnections = 0
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
