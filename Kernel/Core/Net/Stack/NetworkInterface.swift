/// One NIC with its role, address and neighbour table.
public final class NetworkInterface {
    public let configuration: InterfaceConfiguration
    public let device: any NetworkDevice
    public var arp = ARPCache()
    /// The gateway's hardware address once it has answered.
    public internal(set) var gatewayHardware: MACAddress?
    var lastGatewayProbe = Instant.zero

    public init(configuration: InterfaceConfiguration, device: any NetworkDevice) {
        self.configuration = configuration
        self.device = device
    }

    public var role: InterfaceRole { configuration.role }
    public var address: IPv4Address { configuration.address.address }
    public var mac: MACAddress { device.macAddress }
}

/// Things worth telling the operator about.
public enum NetworkEvent {
    /// The interface's gateway answered ARP.
    case gatewayResolved(InterfaceRole, IPv4Address, MACAddress)
}

/// A received UDP datagram, as a service sees it.
public struct UDPReceived {
    public var interface: InterfaceRole
    public var source: IPv4Address
    public var sourcePort: UInt16
    public var destination: IPv4Address
    public var destinationPort: UInt16
    public var payload: UnsafeMutableRawBufferPointer
}
