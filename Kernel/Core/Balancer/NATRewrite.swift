/// In-place full-NAT rewriting of an IPv4 packet carrying TCP or UDP:
/// both addresses, both ports, the TTL, and every checksum they touch,
/// updated incrementally (RFC 1624) so the cost does not depend on the
/// payload's length.
public enum NATRewrite {
    /// Why a packet could not be rewritten; the caller drops it and counts
    /// each reason on its own (`BalancerCounter(failure)`).
    public enum Failure: Error, Sendable, Equatable {
        /// Shorter than its IPv4 or transport header says.
        case truncated
        /// A header field no packet can hold: IPv4 version or header
        /// length, TCP data offset, UDP length.
        case malformed
        case notTCPOrUDP
        /// The TTL would reach zero on the way out.
        case ttlExpired

        init(_ error: WireError) {
            self = error == .truncated ? .truncated : .malformed
        }
    }

    /// Rewrites `packet` (which starts at its IPv4 header) to travel from
    /// `source:sourcePort` to `destination:destinationPort`, decrementing
    /// the TTL.
    @inline(__always)
    public static func rewrite(
        _ packet: UnsafeMutableRawBufferPointer, source: IPv4Address, sourcePort: UInt16,
        destination: IPv4Address, destinationPort: UInt16
    ) throws(Failure) {
        let ip: IPv4Packet
        do throws(WireError) {
            ip = try IPv4Packet(parsing: packet)
        } catch {
            throw Failure(error)
        }
        try rewrite(ip, source: source, sourcePort: sourcePort, destination: destination, destinationPort: destinationPort)
    }

    /// The transport header the rewrite updates.
    private enum Transport {
        case tcp(TCPSegment)
        case udp(UDPDatagram)
    }

    /// Rewrites a parsed packet; nothing is written unless every check passes.
    @inline(__always)
    public static func rewrite(
        _ ip: IPv4Packet, source: IPv4Address, sourcePort: UInt16, destination: IPv4Address, destinationPort: UInt16
    ) throws(Failure) {
        let transport: Transport
        let protocolNumber = ip.protocolNumber
        guard protocolNumber == IPv4Packet.ProtocolNumber.tcp || protocolNumber == IPv4Packet.ProtocolNumber.udp else {
            throw .notTCPOrUDP
        }
        do throws(WireError) {
            transport = protocolNumber == IPv4Packet.ProtocolNumber.tcp
                ? .tcp(try TCPSegment(parsing: ip.payload)) : .udp(try UDPDatagram(parsing: ip.payload))
        } catch {
            throw Failure(error)
        }
        let ttl = ip.timeToLive
        guard ttl > 1 else { throw .ttlExpired }

        let oldSource = ip.source.value
        let oldDestination = ip.destination.value
        let oldTTLWord = ip.timeToLiveAndProtocol
        ip.setTimeToLive(ttl - 1)
        ip.setSource(source)
        ip.setDestination(destination)
        var headerChecksum = ip.headerChecksum
        headerChecksum = IncrementalChecksum.update(headerChecksum, old: oldTTLWord, new: ip.timeToLiveAndProtocol)
        headerChecksum = IncrementalChecksum.update(headerChecksum, old: oldSource, new: source.value)
        headerChecksum = IncrementalChecksum.update(headerChecksum, old: oldDestination, new: destination.value)
        ip.setHeaderChecksum(headerChecksum)

        // The transport checksum covers the ports and, through the pseudo-header, the addresses.
        @inline(__always)
        func updated(_ checksum: UInt16, oldSourcePort: UInt16, oldDestinationPort: UInt16) -> UInt16 {
            var checksum = IncrementalChecksum.update(checksum, old: oldSource, new: source.value)
            checksum = IncrementalChecksum.update(checksum, old: oldDestination, new: destination.value)
            checksum = IncrementalChecksum.update(checksum, old: oldSourcePort, new: sourcePort)
            return IncrementalChecksum.update(checksum, old: oldDestinationPort, new: destinationPort)
        }
        switch transport {
        case .tcp(let segment):
            let oldSourcePort = segment.sourcePort
            let oldDestinationPort = segment.destinationPort
            segment.setSourcePort(sourcePort)
            segment.setDestinationPort(destinationPort)
            segment.setChecksum(updated(segment.checksum, oldSourcePort: oldSourcePort, oldDestinationPort: oldDestinationPort))
        case .udp(let datagram):
            let oldSourcePort = datagram.sourcePort
            let oldDestinationPort = datagram.destinationPort
            datagram.setSourcePort(sourcePort)
            datagram.setDestinationPort(destinationPort)
            let checksum = datagram.checksum
            guard checksum != 0 else { return }  // sent without a checksum: stays without
            let result = updated(checksum, oldSourcePort: oldSourcePort, oldDestinationPort: oldDestinationPort)
            // Zero means "no checksum"; a computed zero is sent as all ones.
            datagram.setChecksum(result == 0 ? 0xFFFF : result)
        }
    }
}
