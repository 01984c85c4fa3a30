/// The fixed 20 bytes that start every TCP header (RFC 9293), read
/// whatever its data offset says: ports and flags for a reader that
/// classifies a segment (the firewall) before the TCP layer judges the
/// rest. `TCPSegment` is the view of a whole, checked segment.
public struct TCPFixedHeader {
    public let bytes: UnsafeMutableRawBufferPointer

    public init(parsing bytes: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard bytes.count >= TCPSegment.minimumHeaderLength else { throw .truncated }
        self.bytes = bytes
    }

    public var sourcePort: UInt16 { bytes.u16(TCPSegment.Field.sourcePort) }
    public var destinationPort: UInt16 { bytes.u16(TCPSegment.Field.destinationPort) }
    public var flags: TCPSegment.Flags { TCPSegment.Flags(rawValue: bytes[TCPSegment.Field.flags] & 0x3F) }
}
