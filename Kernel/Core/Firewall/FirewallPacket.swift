/// Which way a packet crosses an interface.
public enum TrafficDirection: UInt8, CaseIterable, Sendable {
    /// Received on the interface.
    case inbound = 0
    /// Sent from the interface: forwarded by the balancer or originated by the appliance.
    case outbound = 1

    public var name: StaticString { self == .inbound ? "in" : "out" }
}

/// A packet's relation to the flows the appliance tracks (the balancer's
/// connection table and the kernel's own TCP endpoints).
public enum ConnectionState: UInt8, CaseIterable, Sendable {
    /// Opens a flow: a TCP SYN, or a datagram or echo request nothing tracks yet.
    case new = 0
    /// Belongs to a tracked flow.
    case established = 1
    /// An ICMP error about a tracked flow.
    case related = 2
    /// Claims a flow that does not exist (a stray ACK or RST, an ICMP error
    /// about nothing), or cannot be parsed far enough to say.
    case invalid = 3

    public var name: StaticString {
        switch self {
        case .new: return "new"
        case .established: return "established"
        case .related: return "related"
        case .invalid: return "invalid"
        }
    }
}

/// What the firewall does with a packet.
public enum FirewallAction: UInt8, Sendable, NamedCase {
    case accept = 0
    case drop = 1
    /// Drop and tell the sender: a TCP RST for TCP, ICMP unreachable
    /// (administratively prohibited) otherwise.
    case reject = 2

    public var name: StaticString {
        switch self {
        case .accept: return "accept"
        case .drop: return "drop"
        case .reject: return "reject"
        }
    }
}

/// The fields a rule can match, extracted once per packet.
///
/// Ports are zero for protocols without ports and `icmpType` is zero for
/// anything but ICMP; rules that test them are restricted to the protocols
/// that have them, so the placeholder values never decide a match.
public struct FirewallPacket: Sendable, Equatable {
    public var direction: TrafficDirection
    public var interface: InterfaceRole
    public var protocolNumber: UInt8
    public var source: UInt32
    public var destination: UInt32
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var icmpType: UInt8
    public var state: ConnectionState
    /// IPv4 total length, for the byte counters.
    public var length: Int

    public init(
        direction: TrafficDirection, interface: InterfaceRole, protocolNumber: UInt8, source: UInt32, destination: UInt32,
        sourcePort: UInt16 = 0, destinationPort: UInt16 = 0, icmpType: UInt8 = 0, state: ConnectionState = .new,
        length: Int = 0
    ) {
        self.direction = direction
        self.interface = interface
        self.protocolNumber = protocolNumber
        self.source = source
        self.destination = destination
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.icmpType = icmpType
        self.state = state
        self.length = length
    }

    /// The default-policy slot the packet falls in.
    @inline(__always)
    public var policyKey: PolicyKey { PolicyKey(direction, interface) }

    /// `policyKey.index`: the generated classifier's first level of dispatch.
    @inline(__always)
    public var policyIndex: Int { PolicyKey.index(direction, interface) }
}
