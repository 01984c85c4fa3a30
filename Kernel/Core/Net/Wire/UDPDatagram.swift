/// A UDP datagram (RFC 768).
public struct UDPDatagram {
    public static let headerLength = 8

    /// Byte offsets of the header fields.
    enum Field {
        static let sourcePort = 0
        static let destinationPort = 2
        static let length = 4
        static let checksum = 6
    }

    /// The datagram as bounded by its length field.
    public let bytes: UnsafeMutableRawBufferPointer

    public init(parsing buffer: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard buffer.count >= UDPDatagram.headerLength else { throw .truncated }
        let length = Int(buffer.u16(Field.length))
        guard length >= UDPDatagram.headerLength else { throw .malformed }
        guard length <= buffer.count else { throw .truncated }
        bytes = buffer.slice(0, length)
    }

    public var sourcePort: UInt16 { bytes.u16(Field.sourcePort) }
    public var destinationPort: UInt16 { bytes.u16(Field.destinationPort) }
    public var length: Int { bytes.count }
    /// Zero when the sender computed none.
    public var checksum: UInt16 { bytes.u16(Field.checksum) }
    public var payload: UnsafeMutableRawBufferPointer { bytes.slice(UDPDatagram.headerLength, bytes.count) }

    /// A zero checksum means the sender did not compute one, which IPv4 allows.
    public func checksumValid(source: IPv4Address, destination: IPv4Address) -> Bool {
        guard checksum != 0 else { return true }
        var sum = InternetChecksum.pseudoHeader(
            source: source, destination: destination, protocol: IPv4Packet.ProtocolNumber.udp, length: length)
        sum.add(bytes)
        return sum.value == 0
    }

    // Setters write one field and leave the checksum to the caller.

    public func setSourcePort(_ port: UInt16) { bytes.setU16(port, at: Field.sourcePort) }
    public func setDestinationPort(_ port: UInt16) { bytes.setU16(port, at: Field.destinationPort) }
    public func setChecksum(_ value: UInt16) { bytes.setU16(value, at: Field.checksum) }

    public func fillChecksum(source: IPv4Address, destination: IPv4Address) {
        setChecksum(0)
        var sum = InternetChecksum.pseudoHeader(
            source: source, destination: destination, protocol: IPv4Packet.ProtocolNumber.udp, length: length)
        sum.add(bytes)
        let value = sum.value
        // An all-zero result is sent as all ones: zero means "no checksum".
        setChecksum(value == 0 ? 0xFFFF : value)
    }

    /// Writes a header for `payloadLength` bytes already in place after it.
    @discardableResult
    public static func emit(
        into bytes: UnsafeMutableRawBufferPointer, sourcePort: UInt16, destinationPort: UInt16, payloadLength: Int,
        source: IPv4Address, destination: IPv4Address
    ) -> UDPDatagram {
        bytes.setU16(sourcePort, at: Field.sourcePort)
        bytes.setU16(destinationPort, at: Field.destinationPort)
        bytes.setU16(UInt16(truncatingIfNeeded: headerLength + payloadLength), at: Field.length)
        let datagram = try! UDPDatagram(parsing: bytes.slice(0, headerLength + payloadLength))
        datagram.fillChecksum(source: source, destination: destination)
        return datagram
    }
}
