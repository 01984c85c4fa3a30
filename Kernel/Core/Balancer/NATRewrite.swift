/// In-place full-NAT rewriting of an IPv4 packet carrying TCP or UDP:
/// both addresses, both ports, the TTL, and every checksum they touch,
/// updated incrementally (RFC 1624) so the cost does not depend on the
/// payload's length.
public enum NATRewrite {
    /// Offsets of the fields the rewrite touches, within the IPv4 packet.
    @usableFromInline static let ttlOffset = 8
    @usableFromInline static let headerChecksumOffset = 10
    @usableFromInline static let sourceOffset = 12
    @usableFromInline static let destinationOffset = 16

    /// Why a packet could not be rewritten; the caller drops and counts it.
    public enum Failure: Error, Sendable, Equatable {
        case notTCPOrUDP
        case truncated
        case ttlExpired
    }

    /// Rewrites `packet` (which starts at its IPv4 header) to travel from
    /// `source:sourcePort` to `destination:destinationPort`, decrementing
    /// the TTL. The transport header is found from the IPv4 header length.
    @inline(__always)
    public static func rewrite(
        _ packet: UnsafeMutableRawBufferPointer, source: IPv4Address, sourcePort: UInt16,
        destination: IPv4Address, destinationPort: UInt16
    ) throws(Failure) {
        guard packet.count >= 20 else { throw .truncated }
        let headerLength = Int(packet[0] & 0x0F) * 4
        let protocolNumber = packet[9]
        let checksumOffset: Int
        switch protocolNumber {
        case IPv4Packet.ProtocolNumber.tcp: checksumOffset = 16
        case IPv4Packet.ProtocolNumber.udp: checksumOffset = 6
        default: throw .notTCPOrUDP
        }
        guard packet.count >= headerLength + checksumOffset + 2 else { throw .truncated }
        let ttl = packet[ttlOffset]
        guard ttl > 1 else { throw .ttlExpired }

        let oldSource = packet.u32(sourceOffset)
        let oldDestination = packet.u32(destinationOffset)
        var headerChecksum = packet.u16(headerChecksumOffset)
        // TTL shares a 16-bit word with the protocol number.
        let oldTTLWord = UInt16(ttl) << 8 | UInt16(protocolNumber)
        let newTTLWord = UInt16(ttl - 1) << 8 | UInt16(protocolNumber)
        headerChecksum = IncrementalChecksum.update(headerChecksum, old: oldTTLWord, new: newTTLWord)
        headerChecksum = IncrementalChecksum.update(headerChecksum, old: oldSource, new: source.value)
        headerChecksum = IncrementalChecksum.update(headerChecksum, old: oldDestination, new: destination.value)
        packet[ttlOffset] = ttl - 1
        packet.setU32(source.value, at: sourceOffset)
        packet.setU32(destination.value, at: destinationOffset)
        packet.setU16(headerChecksum, at: headerChecksumOffset)

        // The transport checksum covers the ports and, through the pseudo-header, the addresses.
        let transport = headerLength
        let oldSourcePort = packet.u16(transport)
        let oldDestinationPort = packet.u16(transport + 2)
        packet.setU16(sourcePort, at: transport)
        packet.setU16(destinationPort, at: transport + 2)
        var transportChecksum = packet.u16(transport + checksumOffset)
        if protocolNumber == IPv4Packet.ProtocolNumber.udp && transportChecksum == 0 { return }  // UDP without a checksum
        transportChecksum = IncrementalChecksum.update(transportChecksum, old: oldSource, new: source.value)
        transportChecksum = IncrementalChecksum.update(transportChecksum, old: oldDestination, new: destination.value)
        transportChecksum = IncrementalChecksum.update(transportChecksum, old: oldSourcePort, new: sourcePort)
        transportChecksum = IncrementalChecksum.update(transportChecksum, old: oldDestinationPort, new: destinationPort)
        if protocolNumber == IPv4Packet.ProtocolNumber.udp && transportChecksum == 0 { transportChecksum = 0xFFFF }
        packet.setU16(transportChecksum, at: transport + checksumOffset)
    }
}
