/// A UDP datagram (RFC 768).
public struct UDPDatagram {
    public static let headerLength = 8

    /// The datagram as bounded by its length field.
    public let bytes: UnsafeMutableRawBufferPointer

    public init(parsing buffer: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard buffer.count >= UDPDatagram.headerLength else { throw .truncated }
        let length = Int(buffer.u16(4))
        guard length >= UDPDatagram.headerLength else { throw .malformed }
        guard length <= buffer.count else { throw .truncated }
        bytes = buffer.slice(0, length)
    }

    public var sourcePort: UInt16 { bytes.u16(0) }
    public var destinationPort: UInt16 { bytes.u16(2) }
    public var length: Int { bytes.count }
    public var checksum: UInt16 { bytes.u16(6) }
    public var payload: UnsafeMutableRawBufferPointer { bytes.slice(UDPDatagram.headerLength, bytes.count) }

    /// A zero checksum means the sender did not compute one, which IPv4 allows.
    public func checksumValid(source: IPv4Address, destination: IPv4Address) -> Bool {
        guard checksum != 0 else { return true }
        var sum = InternetChecksum.pseudoHeader(
            source: source, destination: destination, protocol: IPv4Packet.ProtocolNumber.udp, length: length)
        sum.add(bytes)
        return sum.value == 0
    }

    public func fillChecksum(source: IPv4Address, destination: IPv4Address) {
        bytes.setU16(0, at: 6)
        var sum = InternetChecksum.pseudoHeader(
            source: source, destination: destination, protocol: IPv4Packet.ProtocolNumber.udp, length: length)
        sum.add(bytes)
        let value = sum.value
        // An all-zero result is sent as all ones: zero means "no checksum".
        bytes.setU16(value == 0 ? 0xFFFF : value, at: 6)
    }

    /// Writes a header for `payloadLength` bytes already in place after it.
    @discardableResult
    public static func emit(
        into bytes: UnsafeMutableRawBufferPointer, sourcePort: UInt16, destinationPort: UInt16, payloadLength: Int,
        source: IPv4Address, destination: IPv4Address
    ) -> UDPDatagram {
        bytes.setU16(sourcePort, at: 0)
        bytes.setU16(destinationPort, at: 2)
        bytes.setU16(UInt16(truncatingIfNeeded: headerLength + payloadLength), at: 4)
        let datagram = try! UDPDatagram(parsing: bytes.slice(0, headerLength + payloadLength))
        datagram.fillChecksum(source: source, destination: destination)
        return datagram
    }
}
