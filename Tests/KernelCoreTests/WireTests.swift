import Testing
@testable import KernelCore

/// Owns a byte array for the life of a test and lends it out as packet memory.
final class Bytes {
    var storage: [UInt8]
    init(_ bytes: [UInt8]) { storage = bytes }
    init(count: Int) { storage = [UInt8](repeating: 0, count: count) }
    func with<T>(_ body: (UnsafeMutableRawBufferPointer) throws -> T) rethrows -> T {
        try storage.withUnsafeMutableBytes { try body($0) }
    }
}

/// A straightforward RFC 1071 sum, to check the real one against.
func referenceChecksum(_ bytes: [UInt8]) -> UInt16 {
    var sum: UInt32 = 0
    var index = 0
    while index < bytes.count {
        let high = UInt32(bytes[index])
        let low = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
        sum += high << 8 | low
        sum = (sum & 0xFFFF) + (sum >> 16)
        index += 2
    }
    return ~UInt16(sum & 0xFFFF)
}

@Suite struct ChecksumTests {
    @Test func theTextbookIPv4HeaderChecksum() {
        // RFC 1071-style example header; the correct checksum is 0xb861.
        let header = Bytes([0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00,
                            0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7] + [UInt8](repeating: 0, count: 95))
        header.with { bytes in
            let packet = try! IPv4Packet(parsing: bytes)
            packet.fillChecksum()
            #expect(packet.headerChecksum == 0xb861)
            #expect(packet.checksumValid)
            bytes[8] = 0x3F
            #expect(!packet.checksumValid)
        }
    }

    @Test(arguments: [0, 1, 2, 3, 64, 65, 1499])
    func matchesTheReferenceSumOnRandomData(length: Int) {
        var random = SplitMix(state: UInt64(length) &+ 11)
        let data = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        var checksum = InternetChecksum()
        data.withUnsafeBytes { checksum.add($0) }
        #expect(checksum.value == referenceChecksum(data))
    }
}

@Suite struct AddressTests {
    @Test func textRoundTrips() {
        #expect(MACAddress(text: Array("52:54:00:12:34:5f".utf8)) == MACAddress(0x52, 0x54, 0, 0x12, 0x34, 0x5F))
        #expect(IPv4Address(text: Array("10.0.2.15".utf8)) == IPv4Address(10, 0, 2, 15))
        var text = ByteText()
        MACAddress(0x52, 0x55, 0x0A, 0, 2, 2).write(to: &text)
        text.write(" ")
        IPv4Interface(address: IPv4Address(10, 0, 3, 15), prefixLength: 24).write(to: &text)
        #expect(String(decoding: text.bytes, as: UTF8.self) == "52:55:0a:00:02:02 10.0.3.15/24")
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "a.b.c.d", "1.2.3.4 "])
    func badIPv4TextIsRejected(text: String) {
        #expect(IPv4Address(text: Array(text.utf8)) == nil)
    }

    @Test(arguments: ["", "52:54:00:12:34", "52:54:00:12:34:56:78", "5254:00:12:34:56", "52:54:00:12:34:5g", "123:54:00:12:34:56"])
    func badMACTextIsRejected(text: String) {
        #expect(MACAddress(text: Array(text.utf8)) == nil)
    }

    @Test func prefixesContainTheirNetwork() {
        let interface = IPv4Interface(text: Array("10.0.2.15/24".utf8))!
        #expect(interface.contains(IPv4Address(10, 0, 2, 200)))
        #expect(!interface.contains(IPv4Address(10, 0, 3, 1)))
        #expect(interface.directedBroadcast == IPv4Address(10, 0, 2, 255))
        #expect(IPv4Interface(text: Array("10.0.0.1/33".utf8)) == nil)
        #expect(IPv4Interface(address: .any, prefixLength: 0).contains(IPv4Address(8, 8, 8, 8)))
    }

    @Test func interfaceConfigurationFromTheCommandLine() {
        let parsed = InterfaceConfiguration(role: .private, text: Array("10.9.0.5/16,gw=10.9.0.1,mac=52:54:00:aa:bb:cc".utf8))
        #expect(parsed?.address == IPv4Interface(address: IPv4Address(10, 9, 0, 5), prefixLength: 16))
        #expect(parsed?.gateway == IPv4Address(10, 9, 0, 1))
        #expect(parsed?.hardware == MACAddress(0x52, 0x54, 0, 0xAA, 0xBB, 0xCC))
        #expect(InterfaceConfiguration(role: .admin, text: Array("10.0.1.15/24,gw=10.0.9.1".utf8)) == nil, "gateway off the subnet")
        #expect(InterfaceConfiguration(role: .admin, text: Array("10.0.1.15/24,color=red".utf8)) == nil)
        #expect(InterfaceConfiguration(role: .admin, text: Array("10.0.1.15".utf8)) == nil)
    }
}

@Suite struct FrameTests {
    @Test func ethernetRoundTripAndTruncation() throws {
        let buffer = Bytes(count: 60)
        try buffer.with { bytes in
            EthernetFrame.emit(into: bytes, destination: .broadcast, source: MACAddress(value: 0x0102_0304_0506), etherType: 0x0806)
            let frame = try EthernetFrame(parsing: bytes)
            #expect(frame.destination.isBroadcast)
            #expect(frame.source == MACAddress(1, 2, 3, 4, 5, 6))
            #expect(frame.etherType == 0x0806)
            #expect(frame.payload.count == 46)
            #expect(throws: WireError.truncated) { try EthernetFrame(parsing: bytes.slice(0, 13)) }
        }
    }

    @Test func arpRoundTripAndValidation() throws {
        let buffer = Bytes(count: 28)
        try buffer.with { bytes in
            ARPPacket.emit(into: bytes, operation: .reply, senderHardware: MACAddress(value: 0xAABB_CCDD_EEFF),
                           senderProtocol: IPv4Address(10, 0, 2, 2), targetHardware: MACAddress(value: 1), targetProtocol: IPv4Address(10, 0, 2, 15))
            let packet = try ARPPacket(parsing: bytes)
            #expect(packet.operation == .reply)
            #expect(packet.senderHardware == MACAddress(value: 0xAABB_CCDD_EEFF))
            #expect(packet.senderProtocol == IPv4Address(10, 0, 2, 2))
            #expect(packet.targetProtocol == IPv4Address(10, 0, 2, 15))
            bytes[1] = 6  // hardware type 6: not Ethernet
            #expect(throws: WireError.malformed) { try ARPPacket(parsing: bytes) }
            bytes[1] = 1
            bytes[7] = 9  // unknown operation
            #expect(throws: WireError.malformed) { try ARPPacket(parsing: bytes) }
            #expect(throws: WireError.truncated) { try ARPPacket(parsing: bytes.slice(0, 27)) }
        }
    }

    @Test func ipv4RoundTripPaddingOptionsAndFragments() throws {
        let buffer = Bytes(count: 80)
        try buffer.with { bytes in
            IPv4Packet.emit(into: bytes, source: IPv4Address(1, 2, 3, 4), destination: IPv4Address(5, 6, 7, 8),
                            protocolNumber: 17, payloadLength: 12, identification: 77, timeToLive: 9)
            // Link padding after the datagram is not part of it.
            let packet = try IPv4Packet(parsing: bytes)
            #expect(packet.totalLength == 32 && packet.payload.count == 12)
            #expect(packet.source == IPv4Address(1, 2, 3, 4) && packet.destination == IPv4Address(5, 6, 7, 8))
            #expect(packet.protocolNumber == 17 && packet.timeToLive == 9 && packet.identification == 77)
            #expect(packet.dontFragment && !packet.isFragment && !packet.hasOptions && packet.checksumValid)

            bytes[6] = 0x20  // more fragments
            #expect(try IPv4Packet(parsing: bytes).isFragment)
            bytes[6] = 0x00
            bytes[7] = 0x10  // offset 16 * 8
            #expect(try IPv4Packet(parsing: bytes).fragmentOffset == 128)
            bytes[7] = 0

            bytes[0] = 0x46  // one word of options: the payload moves
            let withOptions = try IPv4Packet(parsing: bytes)
            #expect(withOptions.hasOptions && withOptions.payload.count == 8)
        }
    }

    @Test func ipv4RejectsBadStructure() {
        let buffer = Bytes(count: 40)
        buffer.with { bytes in
            IPv4Packet.emit(into: bytes, source: .any, destination: .any, protocolNumber: 1, payloadLength: 20)
            #expect(throws: WireError.truncated) { try IPv4Packet(parsing: bytes.slice(0, 19)) }
            #expect(throws: WireError.truncated) { try IPv4Packet(parsing: bytes.slice(0, 39)) }
            bytes[0] = 0x65
            #expect(throws: WireError.malformed) { try IPv4Packet(parsing: bytes) }
            bytes[0] = 0x44
            #expect(throws: WireError.malformed) { try IPv4Packet(parsing: bytes) }
            bytes[0] = 0x4F  // 60-byte header in a 40-byte datagram
            #expect(throws: WireError.malformed) { try IPv4Packet(parsing: bytes) }
        }
    }

    @Test func icmpEchoReplyKeepsIdentityAndChecksums() throws {
        let buffer = Bytes([8, 0, 0, 0, 0x12, 0x34, 0x00, 0x07] + Array("ping data".utf8))
        try buffer.with { bytes in
            let request = try ICMPv4Message(parsing: bytes)
            request.fillChecksum()
            #expect(request.checksumValid)
            request.makeEchoReply()
            #expect(request.type == 0 && request.identifier == 0x1234 && request.sequenceNumber == 7)
            #expect(request.checksumValid)
            #expect(String(decoding: request.body, as: UTF8.self) == "ping data")
            #expect(throws: WireError.truncated) { try ICMPv4Message(parsing: bytes.slice(0, 7)) }
        }
    }

    @Test func udpChecksumWithPseudoHeader() throws {
        let source = IPv4Address(10, 0, 1, 2)
        let destination = IPv4Address(10, 0, 1, 15)
        let buffer = Bytes(count: 8 + 5)
        try buffer.with { bytes in
            for (index, byte) in "hello".utf8.enumerated() { bytes[8 + index] = byte }
            let datagram = UDPDatagram.emit(into: bytes, sourcePort: 40000, destinationPort: 7, payloadLength: 5,
                                            source: source, destination: destination)
            #expect(datagram.checksumValid(source: source, destination: destination))
            #expect(!datagram.checksumValid(source: source, destination: IPv4Address(10, 0, 1, 16)))
            // Independent check: pseudo-header + datagram sums to zero.
            var all: [UInt8] = [10, 0, 1, 2, 10, 0, 1, 15, 0, 17, 0, 13]
            all += Array(bytes)
            #expect(referenceChecksum(all) == 0)
            bytes.setU16(0, at: 6)
            let unchecked = try UDPDatagram(parsing: bytes)
            #expect(unchecked.checksumValid(source: .any, destination: .any), "zero means no checksum")
            bytes.setU16(7, at: 4)
            #expect(throws: WireError.malformed) { try UDPDatagram(parsing: bytes) }
            bytes.setU16(14, at: 4)
            #expect(throws: WireError.truncated) { try UDPDatagram(parsing: bytes) }
        }
    }
}
