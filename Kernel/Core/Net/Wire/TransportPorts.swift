/// The two ports that open both a TCP and a UDP header (RFC 9293, RFC
/// 768): all a reader needs to name a flow, and what an ICMP error's quote
/// is sure to hold of the datagram it is about.
public struct TransportPorts {
    public static let length = 4

    public let bytes: UnsafeMutableRawBufferPointer

    public init(parsing bytes: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard bytes.count >= TransportPorts.length else { throw .truncated }
        self.bytes = bytes
    }

    // The same offsets in both protocols' headers.
    public var source: UInt16 { bytes.u16(TCPSegment.Field.sourcePort) }
    public var destination: UInt16 { bytes.u16(TCPSegment.Field.destinationPort) }
}
