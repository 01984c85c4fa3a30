/// An IPv4 header and its payload (RFC 791).
///
/// Parsing checks the structure (version, header length, total length
/// against the buffer). The checksum, options and fragmentation are
/// reported, not judged: deciding what to drop is the stack's policy.
public struct IPv4Packet {
    public static let minimumHeaderLength = 20

    public enum ProtocolNumber {
        public static let icmp: UInt8 = 1
        public static let tcp: UInt8 = 6
        public static let udp: UInt8 = 17
    }

    /// The packet as bounded by its total-length field (link padding removed).
    public let bytes: UnsafeMutableRawBufferPointer

    public init(parsing buffer: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard buffer.count >= IPv4Packet.minimumHeaderLength else { throw .truncated }
        let versionAndLength = buffer[0]
        guard versionAndLength >> 4 == 4 else { throw .malformed }
        let headerLength = Int(versionAndLength & 0x0F) * 4
        guard headerLength >= IPv4Packet.minimumHeaderLength else { throw .malformed }
        let totalLength = Int(buffer.u16(2))
        guard totalLength >= headerLength else { throw .malformed }
        guard totalLength <= buffer.count else { throw .truncated }
        bytes = buffer.slice(0, totalLength)
    }

    public var headerLength: Int { Int(bytes[0] & 0x0F) * 4 }
    public var totalLength: Int { bytes.count }
    public var typeOfService: UInt8 { bytes[1] }
    public var identification: UInt16 { bytes.u16(4) }
    public var dontFragment: Bool { bytes[6] & 0x40 != 0 }
    public var moreFragments: Bool { bytes[6] & 0x20 != 0 }
    public var fragmentOffset: Int { Int(bytes.u16(6) & 0x1FFF) * 8 }
    /// Part of a fragmented datagram (any fragment, first or not).
    public var isFragment: Bool { moreFragments || fragmentOffset != 0 }
    public var timeToLive: UInt8 { bytes[8] }
    public var protocolNumber: UInt8 { bytes[9] }
    public var headerChecksum: UInt16 { bytes.u16(10) }
    public var source: IPv4Address { IPv4Address(value: bytes.u32(12)) }
    public var destination: IPv4Address { IPv4Address(value: bytes.u32(16)) }
    public var hasOptions: Bool { headerLength > IPv4Packet.minimumHeaderLength }
    public var header: UnsafeMutableRawBufferPointer { bytes.slice(0, headerLength) }
    public var payload: UnsafeMutableRawBufferPointer { bytes.slice(headerLength, bytes.count) }

    public var checksumValid: Bool {
        var checksum = InternetChecksum()
        checksum.add(header)
        return checksum.value == 0
    }

    public func setTimeToLive(_ value: UInt8) { bytes[8] = value }

    /// Recomputes the header checksum after a change.
    public func fillChecksum() {
        bytes.setU16(0, at: 10)
        var checksum = InternetChecksum()
        checksum.add(header)
        bytes.setU16(checksum.value, at: 10)
    }

    /// Writes a 20-byte header for `payloadLength` bytes that follow it.
    @discardableResult
    public static func emit(
        into bytes: UnsafeMutableRawBufferPointer, source: IPv4Address, destination: IPv4Address,
        protocolNumber: UInt8, payloadLength: Int, identification: UInt16 = 0, timeToLive: UInt8 = 64
    ) -> IPv4Packet {
        bytes[0] = 0x45
        bytes[1] = 0
        bytes.setU16(UInt16(truncatingIfNeeded: minimumHeaderLength + payloadLength), at: 2)
        bytes.setU16(identification, at: 4)
        bytes.setU16(0x4000, at: 6)  // don't fragment
        bytes[8] = timeToLive
        bytes[9] = protocolNumber
        bytes.setU32(source.value, at: 12)
        bytes.setU32(destination.value, at: 16)
        let packet = try! IPv4Packet(parsing: bytes.slice(0, minimumHeaderLength + payloadLength))
        packet.fillChecksum()
        return packet
    }
}
