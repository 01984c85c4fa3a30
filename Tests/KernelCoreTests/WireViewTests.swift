import Testing
@testable import KernelCore

/// The typed views' setters and the partial views the balancer and the
/// firewall read packets through.
@Suite struct WireViewTests {
    let source = IPv4Address(192, 0, 2, 7)
    let destination = IPv4Address(10, 0, 2, 15)

    /// A 20-byte IPv4 header followed by `transport`, checksummed.
    func packet(protocolNumber: UInt8, transport: [UInt8], ttl: UInt8 = 64) -> Bytes {
        let buffer = Bytes([UInt8](repeating: 0, count: 20) + transport)
        buffer.with { raw in
            IPv4Packet.emit(into: raw, source: source, destination: destination, protocolNumber: protocolNumber,
                            payloadLength: transport.count, identification: 5, timeToLive: ttl)
        }
        return buffer
    }

    @Test func ipv4SettersWriteTheirFieldsOnly() throws {
        let buffer = packet(protocolNumber: 17, transport: [UInt8](repeating: 0xAB, count: 12), ttl: 9)
        try buffer.with { raw in
            let before = Array(raw)
            let ip = try IPv4Packet(parsing: raw)
            #expect(ip.timeToLiveAndProtocol == 9 << 8 | 17)
            ip.setSource(IPv4Address(1, 2, 3, 4))
            ip.setDestination(IPv4Address(5, 6, 7, 8))
            ip.setTimeToLive(8)
            #expect(ip.source == IPv4Address(1, 2, 3, 4) && ip.destination == IPv4Address(5, 6, 7, 8))
            #expect(ip.timeToLive == 8 && ip.timeToLiveAndProtocol == 8 << 8 | 17)
            #expect(!ip.checksumValid, "setters leave the checksum to the caller")
            ip.setHeaderChecksum(0xBEEF)
            #expect(ip.headerChecksum == 0xBEEF)
            ip.fillChecksum()
            #expect(ip.checksumValid)
            let changed = (0..<raw.count).filter { raw[$0] != before[$0] }
            #expect(Set(changed).isSubset(of: Set([8, 10, 11] + Array(12..<20))), "changed bytes: \(changed)")
            #expect(ip.identification == 5 && ip.protocolNumber == 17 && ip.payload.allSatisfy { $0 == 0xAB })
        }
    }

    @Test func tcpSettersWriteTheirFieldsOnly() throws {
        let buffer = Bytes(count: 24)
        try buffer.with { raw in
            let segment = TCPSegment.emit(
                into: raw, sourcePort: 1000, destinationPort: 80, sequenceNumber: 7, acknowledgmentNumber: 9,
                flags: [.syn], window: 512, mss: 1460, payloadLength: 0, source: source, destination: destination)
            let before = Array(raw)
            segment.setSourcePort(4321)
            segment.setDestinationPort(8081)
            #expect(segment.sourcePort == 4321 && segment.destinationPort == 8081)
            #expect(!segment.checksumValid(source: source, destination: destination))
            segment.setChecksum(0x1234)
            #expect(segment.checksum == 0x1234)
            segment.fillChecksum(source: source, destination: destination)
            #expect(segment.checksumValid(source: source, destination: destination))
            let changed = (0..<raw.count).filter { raw[$0] != before[$0] }
            #expect(Set(changed).isSubset(of: [0, 1, 2, 3, 16, 17]), "changed bytes: \(changed)")
            #expect(segment.sequenceNumber == 7 && segment.acknowledgmentNumber == 9 && segment.window == 512)
            #expect(segment.flags == [.syn] && segment.maximumSegmentSize == 1460)
        }
    }

    @Test func udpSettersWriteTheirFieldsOnly() throws {
        let buffer = Bytes(count: 8 + 3)
        try buffer.with { raw in
            let datagram = UDPDatagram.emit(into: raw, sourcePort: 53, destinationPort: 5353, payloadLength: 3,
                                            source: source, destination: destination)
            let before = Array(raw)
            datagram.setSourcePort(1)
            datagram.setDestinationPort(2)
            #expect(datagram.sourcePort == 1 && datagram.destinationPort == 2 && datagram.length == 11)
            #expect(!datagram.checksumValid(source: source, destination: destination))
            datagram.setChecksum(0)
            #expect(datagram.checksumValid(source: source, destination: destination), "zero: no checksum")
            datagram.fillChecksum(source: source, destination: destination)
            #expect(datagram.checksumValid(source: source, destination: destination))
            let changed = (0..<raw.count).filter { raw[$0] != before[$0] }
            #expect(Set(changed).isSubset(of: [0, 1, 2, 3, 6, 7]), "changed bytes: \(changed)")
        }
    }

    @Test func theFixedTCPHeaderIsReadWhateverTheDataOffsetSays() throws {
        let buffer = Bytes(count: 20)
        try buffer.with { raw in
            TCPSegment.emit(into: raw, sourcePort: 40_000, destinationPort: 443, sequenceNumber: 1, acknowledgmentNumber: 0,
                            flags: [.syn, .ack], window: 1, payloadLength: 0, source: source, destination: destination)
            raw[12] = 0xF0  // claims a 60-byte header
            #expect(throws: WireError.truncated) { try TCPSegment(parsing: raw) }
            let header = try TCPFixedHeader(parsing: raw)
            #expect(header.sourcePort == 40_000 && header.destinationPort == 443 && header.flags == [.syn, .ack])
            raw[12] = 0x10  // claims a 4-byte header
            #expect(throws: WireError.malformed) { try TCPSegment(parsing: raw) }
            #expect(try TCPFixedHeader(parsing: raw).flags == [.syn, .ack])
            #expect(throws: WireError.truncated) { try TCPFixedHeader(parsing: raw.slice(0, 19)) }
        }
    }

    @Test func portsAreReadFromTheirFourBytes() throws {
        let buffer = Bytes([0x1F, 0x90, 0x00, 0x35])
        try buffer.with { raw in
            let ports = try TransportPorts(parsing: raw)
            #expect(ports.source == 8080 && ports.destination == 53)
            #expect(throws: WireError.truncated) { try TransportPorts(parsing: raw.slice(0, 3)) }
        }
    }

    /// An ICMP error quoting the first `quotedPayload` bytes of a TCP
    /// segment sent from `destination` (here) to `source`.
    func unreachable(quotedPayload: Int, quotedHeaderWords: UInt8 = 5) -> Bytes {
        var quote = [UInt8](repeating: 0, count: 20 + 20)
        quote.withUnsafeMutableBytes { raw in
            TCPSegment.emit(into: raw.slice(20, 40), sourcePort: 80, destinationPort: 51_000, sequenceNumber: 1,
                            acknowledgmentNumber: 1, flags: [.ack], window: 1, payloadLength: 0, source: destination,
                            destination: source)
            IPv4Packet.emit(into: raw, source: destination, destination: source, protocolNumber: 6, payloadLength: 20)
            raw[0] = 0x40 | quotedHeaderWords
        }
        let buffer = Bytes([UInt8](repeating: 0, count: 8) + quote.prefix(20 + quotedPayload))
        buffer.with { raw in
            ICMPv4Message.emit(into: raw, type: ICMPv4Message.MessageType.destinationUnreachable,
                               code: ICMPv4Message.UnreachableCode.port)
        }
        return buffer
    }

    @Test func anErrorsQuoteIsAHeaderAndEightBytes() throws {
        try unreachable(quotedPayload: 8).with { raw in
            let message = try ICMPv4Message(parsing: raw)
            #expect(message.checksumValid && message.checksum != 0)
            #expect(ICMPv4Message.MessageType.isError(message.type))
            let quoted = try message.quotedDatagram()
            #expect(quoted.source == destination && quoted.destination == source && quoted.protocolNumber == 6)
            #expect(quoted.payload.count == 8, "the quote, not the 40 bytes its total length claims")
            let ports = try TransportPorts(parsing: quoted.payload)
            #expect(ports.source == 80 && ports.destination == 51_000)
            #expect(throws: WireError.truncated) { try IPv4Packet(parsing: message.body) }
        }
        try unreachable(quotedPayload: 7).with { raw in
            #expect(throws: WireError.truncated) { try ICMPv4Message(parsing: raw).quotedDatagram() }
        }
        try unreachable(quotedPayload: 8, quotedHeaderWords: 4).with { raw in
            #expect(throws: WireError.malformed) { try ICMPv4Message(parsing: raw).quotedDatagram() }
        }
        try unreachable(quotedPayload: 8, quotedHeaderWords: 6).with { raw in
            // 24 header bytes leave 4 of the 8 quoted ones for the payload.
            #expect(throws: WireError.truncated) { try ICMPv4Message(parsing: raw).quotedDatagram() }
        }
    }

    @Test func errorTypesAreTheFiveThatQuoteAPacket() {
        let errors = (0...255).map { UInt8($0) }.filter { ICMPv4Message.MessageType.isError($0) }
        #expect(errors == [3, 4, 5, 11, 12])
        #expect(ICMPv4Message.MessageType.timestampRequest == 13 && ICMPv4Message.MessageType.routerSolicitation == 10)
    }
}
