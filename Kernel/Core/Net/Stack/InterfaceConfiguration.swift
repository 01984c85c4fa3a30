/// The appliance's three networks.
public enum InterfaceRole: Int, CaseIterable, Sendable {
    case admin = 0
    case `public` = 1
    case `private` = 2

    public var name: StaticString {
        switch self {
        case .admin: return "admin"
        case .public: return "public"
        case .private: return "private"
        }
    }

    public init?(name: [UInt8]) {
        guard let role = InterfaceRole.allCases.first(where: { name.matches($0.name) }) else { return nil }
        self = role
    }
}

/// How one NIC is set up: its role, static address and gateway, and
/// optionally the MAC that identifies it (otherwise PCI order decides).
public struct InterfaceConfiguration: Sendable, Equatable {
    public var role: InterfaceRole
    public var address: IPv4Interface
    public var gateway: IPv4Address?
    public var hardware: MACAddress?

    public init(role: InterfaceRole, address: IPv4Interface, gateway: IPv4Address?, hardware: MACAddress? = nil) {
        self.role = role
        self.address = address
        self.gateway = gateway
        self.hardware = hardware
    }

    /// The defaults match `skerry boot`'s user-mode networks: admin on
    /// 10.0.1.0/24, public on 10.0.2.0/24, private on 10.0.3.0/24, the
    /// appliance at .15 and the gateway at .2 of each.
    public static func standard(_ role: InterfaceRole) -> InterfaceConfiguration {
        let subnet = UInt8(role.rawValue + 1)
        return InterfaceConfiguration(
            role: role, address: IPv4Interface(address: IPv4Address(10, 0, subnet, 15), prefixLength: 24),
            gateway: IPv4Address(10, 0, subnet, 2))
    }

    /// Parses `ADDRESS/PREFIX[,gw=GATEWAY][,mac=MAC]`, the value of the
    /// `admin=`, `public=` and `private=` kernel arguments.
    public init?(role: InterfaceRole, text: [UInt8]) {
        var fields = text.split(separator: 0x2C, omittingEmptySubsequences: false).map { Array($0) }
        guard !fields.isEmpty, let address = IPv4Interface(text: fields.removeFirst()) else { return nil }
        var gateway: IPv4Address?
        var hardware: MACAddress?
        for field in fields {
            guard let equals = field.firstIndex(of: 0x3D) else { return nil }
            let key = Array(field[..<equals])
            let value = Array(field[(equals + 1)...])
            if key.matches("gw") {
                guard let parsed = IPv4Address(text: value), address.contains(parsed) else { return nil }
                gateway = parsed
            } else if key.matches("mac") {
                guard let parsed = MACAddress(text: value) else { return nil }
                hardware = parsed
            } else {
                return nil
            }
        }
        self.init(role: role, address: address, gateway: gateway, hardware: hardware)
    }
}
