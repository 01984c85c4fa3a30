/// An IPv4 header and its payload (RFC 791).
///
/// Parsing checks the structure (version, header length, total length
/// against the buffer). The checksum, options and fragmentation are
/// reported, not judged: deciding what to drop is the stack's policy.
public struct IPv4Packet {
    public static let minimumHeaderLength = 20

    /// Byte offsets of the header fields.
    enum Field {
        static let versionAndLength = 0
        static let typeOfService = 1
        static let totalLength = 2
        static let identification = 4
        static let flagsAndFragmentOffset = 6
        static let timeToLive = 8
        static let protocolNumber = 9
        static let headerChecksum = 10
        static let source = 12
        static let destination = 16
    }

    public enum ProtocolNumber {
        public static let icmp: UInt8 = 1
        public static let tcp: UInt8 = 6
        public static let udp: UInt8 = 17
    }

    /// The packet as bounded by its total-length field (link padding removed).
    public let bytes: UnsafeMutableRawBufferPointer

    public init(parsing buffer: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard buffer.count >= IPv4Packet.minimumHeaderLength else { throw .truncated }
        let versionAndLength = buffer[Field.versionAndLength]
        guard versionAndLength >> 4 == 4 else { throw .malformed }
        let headerLength = Int(versionAndLength & 0x0F) * 4
        guard headerLength >= IPv4Packet.minimumHeaderLength else { throw .malformed }
        let totalLength = Int(buffer.u16(Field.totalLength))
        guard totalLength >= headerLength else { throw .malformed }
        guard totalLength <= buffer.count else { throw .truncated }
        bytes = buffer.slice(0, totalLength)
    }

    /// The start of a datagram quoted in an ICMP error (RFC 792): its
    /// header and as much of its payload as the quote holds. Only the header
    /// length is checked, against the quote: the total length describes the
    /// original datagram, not the bytes quoted, and the version is what the
    /// sender says it sent.
    public init(parsingQuote buffer: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard buffer.count >= IPv4Packet.minimumHeaderLength else { throw .truncated }
        let headerLength = Int(buffer[Field.versionAndLength] & 0x0F) * 4
        guard headerLength >= IPv4Packet.minimumHeaderLength else { throw .malformed }
        guard headerLength <= buffer.count else { throw .truncated }
        bytes = buffer
    }

    public var headerLength: Int { Int(bytes[Field.versionAndLength] & 0x0F) * 4 }
    /// The bytes of the packet: its total length, or for a quote, the bytes quoted.
    public var totalLength: Int { bytes.count }
    public var typeOfService: UInt8 { bytes[Field.typeOfService] }
    public var identification: UInt16 { bytes.u16(Field.identification) }
    public var dontFragment: Bool { bytes[Field.flagsAndFragmentOffset] & 0x40 != 0 }
    public var moreFragments: Bool { bytes[Field.flagsAndFragmentOffset] & 0x20 != 0 }
    public var fragmentOffset: Int { Int(bytes.u16(Field.flagsAndFragmentOffset) & 0x1FFF) * 8 }
    /// Part of a fragmented datagram (any fragment, first or not).
    public var isFragment: Bool { moreFragments || fragmentOffset != 0 }
    public var timeToLive: UInt8 { bytes[Field.timeToLive] }
    public var protocolNumber: UInt8 { bytes[Field.protocolNumber] }
    public var headerChecksum: UInt16 { bytes.u16(Field.headerChecksum) }
    public var source: IPv4Address { IPv4Address(value: bytes.u32(Field.source)) }
    public var destination: IPv4Address { IPv4Address(value: bytes.u32(Field.destination)) }
    /// The 16-bit word the header checksum sums for the TTL: TTL in the
    /// high byte, protocol number in the low one (for incremental updates).
    public var timeToLiveAndProtocol: UInt16 { bytes.u16(Field.timeToLive) }
    public var hasOptions: Bool { headerLength > IPv4Packet.minimumHeaderLength }
    public var header: UnsafeMutableRawBufferPointer { bytes.slice(0, headerLength) }
    public var payload: UnsafeMutableRawBufferPointer { bytes.slice(headerLength, bytes.count) }

    public var checksumValid: Bool {
        var checksum = InternetChecksum()
        checksum.add(header)
        return checksum.value == 0
    }

    // Setters write one field and leave the checksum to the caller:
    // `fillChecksum()` after the changes, or an incremental update.

    public func setTimeToLive(_ value: UInt8) { bytes[Field.timeToLive] = value }
    public func setSource(_ address: IPv4Address) { bytes.setU32(address.value, at: Field.source) }
    public func setDestination(_ address: IPv4Address) { bytes.setU32(address.value, at: Field.destination) }
    public func setHeaderChecksum(_ value: UInt16) { bytes.setU16(value, at: Field.headerChecksum) }

    /// Recomputes the header checksum after a change.
    public func fillChecksum() {
        setHeaderChecksum(0)
        var checksum = InternetChecksum()
        checksum.add(header)
        setHeaderChecksum(checksum.value)
    }

    /// Writes a 20-byte header for `payloadLength` bytes that follow it.
    @discardableResult
    public static func emit(
        into bytes: UnsafeMutableRawBufferPointer, source: IPv4Address, destination: IPv4Address,
        protocolNumber: UInt8, payloadLength: Int, identification: UInt16 = 0, timeToLive: UInt8 = 64
    ) -> IPv4Packet {
        bytes[Field.versionAndLength] = 0x45
        bytes[Field.typeOfService] = 0
        bytes.setU16(UInt16(truncatingIfNeeded: minimumHeaderLength + payloadLength), at: Field.totalLength)
        bytes.setU16(identification, at: Field.identification)
        bytes.setU16(0x4000, at: Field.flagsAndFragmentOffset)  // don't fragment
        bytes[Field.timeToLive] = timeToLive
        bytes[Field.protocolNumber] = protocolNumber
        bytes.setU32(source.value, at: Field.source)
        bytes.setU32(destination.value, at: Field.destination)
        let packet = try! IPv4Packet(parsing: bytes.slice(0, minimumHeaderLength + payloadLength))
        packet.fillChecksum()
        return packet
    }
}
