import Testing
@testable import KernelCore

/// A NIC double: frames the test injects come out of `receive`; frames the
/// stack sends go to `onTransmit`, which by default collects them in `sent`.
final class FakeDevice: NetworkDevice {
    let model: StaticString = "fake"
    let macAddress: MACAddress
    var linkUp = true
    var counters = DeviceCounters()
    var inbox: [PacketBuffer] = []
    var sent: [[UInt8]] = []
    let pool: PacketPool
    var onTransmit: (([UInt8]) -> Void)?

    init(mac: MACAddress, pool: PacketPool) {
        macAddress = mac
        self.pool = pool
    }

    func service() {}

    func receive() -> PacketBuffer? { inbox.isEmpty ? nil : inbox.removeFirst() }

    func transmit(_ buffer: PacketBuffer) -> Bool {
        let frame = Array(buffer.frame)
        if let onTransmit { onTransmit(frame) } else { sent.append(frame) }
        counters[.txPackets] += 1
        pool.give(buffer)
        return true
    }

    /// Hands the stack a received frame; dropped, like on a real NIC, when no buffer is free.
    func inject(_ frame: [UInt8]) {
        guard let buffer = pool.take() else { return }
        buffer.length = frame.count
        frame.withUnsafeBytes { buffer.frame.copyMemory(from: $0) }
        inbox.append(buffer)
    }
}

/// A three-interface stack on fake devices with the standard addresses.
final class StackFixture {
    let pool = PacketPool(count: 64)
    var devices: [FakeDevice] = []
    let stack: NetworkStack
    var now = Instant(nanoseconds: 1_000_000_000)
    let peerMAC = MACAddress(0x52, 0x55, 0x0A, 0, 1, 2)

    init() {
        var interfaces: [NetworkInterface] = []
        for role in InterfaceRole.allCases {
            let device = FakeDevice(mac: MACAddress(0x52, 0x54, 0, 0x12, 0x34, 0x56 + UInt8(role.rawValue)), pool: pool)
            devices.append(device)
            interfaces.append(NetworkInterface(configuration: .standard(role), device: device))
        }
        stack = NetworkStack(pool: pool, interfaces: interfaces)
    }

    func device(_ role: InterfaceRole) -> FakeDevice { devices[role.rawValue] }

    func run() { _ = stack.poll(now: now) }

    /// Builds an Ethernet + IPv4 frame around `payload`.
    func ipv4Frame(to role: InterfaceRole, from source: IPv4Address, protocolNumber: UInt8, payload: [UInt8],
                   destination: IPv4Address? = nil) -> [UInt8] {
        var frame = [UInt8](repeating: 0, count: 34 + payload.count)
        frame.withUnsafeMutableBytes { bytes in
            EthernetFrame.emit(into: bytes, destination: device(role).macAddress, source: peerMAC, etherType: EthernetFrame.EtherType.ipv4)
            bytes.slice(34, bytes.count).copyMemory(from: UnsafeRawBufferPointer(start: payload, count: payload.count))
            IPv4Packet.emit(into: bytes.slice(14, bytes.count), source: source,
                            destination: destination ?? InterfaceConfiguration.standard(role).address.address,
                            protocolNumber: protocolNumber, payloadLength: payload.count)
        }
        return frame
    }

    func arpFrame(operation: ARPPacket.Operation, from sender: IPv4Address, senderMAC: MACAddress, target: IPv4Address, to role: InterfaceRole) -> [UInt8] {
        var frame = [UInt8](repeating: 0, count: 60)
        frame.withUnsafeMutableBytes { bytes in
            EthernetFrame.emit(into: bytes, destination: operation == .request ? .broadcast : device(role).macAddress,
                               source: senderMAC, etherType: EthernetFrame.EtherType.arp)
            ARPPacket.emit(into: bytes.slice(14, bytes.count), operation: operation, senderHardware: senderMAC,
                           senderProtocol: sender, targetHardware: operation == .request ? .zero : device(role).macAddress,
                           targetProtocol: target)
        }
        return frame
    }

    /// The peer tells us its address, as the gateway does in reply to our request.
    func teach(_ role: InterfaceRole, _ address: IPv4Address) {
        device(role).inject(arpFrame(operation: .reply, from: address, senderMAC: peerMAC,
                                     target: InterfaceConfiguration.standard(role).address.address, to: role))
        run()
    }

    var allBuffersReturned: Bool { pool.available == pool.count }
}

func parse(_ frame: [UInt8], _ body: (EthernetFrame) throws -> Void) rethrows {
    var copy = frame
    try copy.withUnsafeMutableBytes { try body(try! EthernetFrame(parsing: $0)) }
}

@Suite struct NetworkStackTests {
    let gateway = IPv4Address(10, 0, 1, 2)

    @Test func answersARPForItsOwnAddressOnly() throws {
        let fixture = StackFixture()
        let admin = fixture.device(.admin)
        admin.inject(fixture.arpFrame(operation: .request, from: gateway, senderMAC: fixture.peerMAC, target: IPv4Address(10, 0, 1, 15), to: .admin))
        admin.inject(fixture.arpFrame(operation: .request, from: gateway, senderMAC: fixture.peerMAC, target: IPv4Address(10, 0, 1, 99), to: .admin))
        fixture.run()
        #expect(admin.sent.count == 1)
        try parse(admin.sent[0]) { frame in
            #expect(frame.destination == fixture.peerMAC && frame.source == admin.macAddress)
            let reply = try ARPPacket(parsing: frame.payload)
            #expect(reply.operation == .reply)
            #expect(reply.senderProtocol == IPv4Address(10, 0, 1, 15) && reply.senderHardware == admin.macAddress)
            #expect(reply.targetProtocol == gateway && reply.targetHardware == fixture.peerMAC)
        }
        #expect(fixture.stack.interface(.admin)!.arp.lookup(gateway, now: fixture.now) == fixture.peerMAC)
        #expect(fixture.stack.counters[.arpRepliesSent] == 1)
        #expect(fixture.stack.counters[.arpNotForUs] == 1, "the request for 10.0.1.99 is counted as not ours")
        #expect(fixture.allBuffersReturned)
    }

    @Test func announcesAndResolvesGateways() throws {
        let fixture = StackFixture()
        var events: [(InterfaceRole, IPv4Address)] = []
        fixture.stack.onEvent = { event in
            if case .gatewayResolved(let role, let address, _) = event { events.append((role, address)) }
        }
        fixture.stack.announce(now: fixture.now)
        for role in InterfaceRole.allCases {
            let sent = fixture.device(role).sent
            #expect(sent.count == 2, "a gratuitous ARP and a gateway request on \(role)")
            try parse(sent[0]) { frame in
                let packet = try ARPPacket(parsing: frame.payload)
                #expect(frame.destination.isBroadcast && packet.targetProtocol == packet.senderProtocol)
            }
        }
        fixture.teach(.private, IPv4Address(10, 0, 3, 2))
        #expect(events.count == 1 && events.first?.0 == .private && events.first?.1 == IPv4Address(10, 0, 3, 2))
        #expect(fixture.stack.interface(.private)?.gatewayHardware == fixture.peerMAC)
    }

    @Test func repliesToPingInPlaceAfterResolvingTheRequester() throws {
        let fixture = StackFixture()
        let admin = fixture.device(.admin)
        var echo: [UInt8] = [8, 0, 0, 0, 0xBE, 0xEF, 0, 1] + Array("payload!".utf8)
        echo.withUnsafeMutableBytes { try! ICMPv4Message(parsing: $0).fillChecksum() }
        admin.inject(fixture.ipv4Frame(to: .admin, from: gateway, protocolNumber: 1, payload: echo))
        fixture.run()
        // The requester's MAC is not known yet: an ARP request goes out and the reply waits.
        #expect(admin.sent.count == 1)
        try parse(admin.sent[0]) { frame in #expect(frame.etherType == EthernetFrame.EtherType.arp) }
        fixture.teach(.admin, gateway)
        #expect(admin.sent.count == 2)
        try parse(admin.sent[1]) { frame in
            #expect(frame.destination == fixture.peerMAC)
            let packet = try IPv4Packet(parsing: frame.payload)
            #expect(packet.checksumValid && packet.source == IPv4Address(10, 0, 1, 15) && packet.destination == gateway)
            let reply = try ICMPv4Message(parsing: packet.payload)
            #expect(reply.type == 0 && reply.identifier == 0xBEEF && reply.sequenceNumber == 1 && reply.checksumValid)
            #expect(String(decoding: reply.body, as: UTF8.self) == "payload!")
        }
        #expect(fixture.stack.counters[.icmpEchoReplies] == 1)
        #expect(fixture.allBuffersReturned)
    }

    @Test func deliversUDPToItsListenerAndRefusesClosedPorts() throws {
        let fixture = StackFixture()
        let admin = fixture.device(.admin)
        fixture.teach(.admin, gateway)
        var received: [String] = []
        fixture.stack.bindUDP(port: 7, on: [.admin]) { datagram in
            received.append(String(decoding: datagram.payload, as: UTF8.self))
            fixture.stack.sendUDP(from: 7, to: datagram.source, port: datagram.sourcePort,
                                  payload: UnsafeRawBufferPointer(datagram.payload), now: fixture.now)
        }
        func udp(_ port: UInt16, _ text: String, to destination: IPv4Address = IPv4Address(10, 0, 1, 15)) -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: 8 + text.utf8.count)
            bytes.withUnsafeMutableBytes { raw in
                raw.slice(8, raw.count).copyMemory(from: UnsafeRawBufferPointer(start: Array(text.utf8), count: text.utf8.count))
                UDPDatagram.emit(into: raw, sourcePort: 5555, destinationPort: port, payloadLength: text.utf8.count,
                                 source: gateway, destination: destination)
            }
            return bytes
        }
        admin.inject(fixture.ipv4Frame(to: .admin, from: gateway, protocolNumber: 17, payload: udp(7, "echo me")))
        admin.inject(fixture.ipv4Frame(to: .admin, from: gateway, protocolNumber: 17, payload: udp(9, "nobody")))
        // The same port on an interface it is not bound to is closed too.
        fixture.device(.public).inject(fixture.ipv4Frame(to: .public, from: gateway, protocolNumber: 17, payload: udp(7, "x", to: IPv4Address(10, 0, 2, 15))))
        fixture.run()
        #expect(received == ["echo me"])
        // The echo, and two port-unreachables: routed by destination, both
        // leave through admin, whose network holds 10.0.1.2.
        #expect(admin.sent.count == 3)
        try parse(admin.sent[0]) { frame in
            let packet = try IPv4Packet(parsing: frame.payload)
            let datagram = try UDPDatagram(parsing: packet.payload)
            #expect(datagram.sourcePort == 7 && datagram.destinationPort == 5555)
            #expect(datagram.checksumValid(source: packet.source, destination: packet.destination))
            #expect(String(decoding: datagram.payload, as: UTF8.self) == "echo me")
        }
        try parse(admin.sent[1]) { frame in
            let packet = try IPv4Packet(parsing: frame.payload)
            let message = try ICMPv4Message(parsing: packet.payload)
            #expect(message.type == 3 && message.code == 3 && message.checksumValid)
            // The body quotes the refused datagram's header and first 8 bytes.
            #expect(message.body.count == 28)
            #expect(IPv4Address(value: message.body.u32(16)) == IPv4Address(10, 0, 1, 15))
            #expect(message.body.u16(22) == 9, "the quoted UDP header names the closed port")
        }
        #expect(fixture.stack.counters[.udpNoListener] == 2)
        #expect(fixture.stack.counters[.udpDelivered] == 1)
        #expect(fixture.allBuffersReturned)
    }

    @Test func dropsBadPacketsIntoNamedCounters() {
        let fixture = StackFixture()
        let admin = fixture.device(.admin)
        var bad = fixture.ipv4Frame(to: .admin, from: gateway, protocolNumber: 17, payload: [0, 1, 0, 2, 0, 8, 0, 0])
        bad[24] ^= 0xFF  // corrupt the header checksum
        admin.inject(bad)
        var fragment = fixture.ipv4Frame(to: .admin, from: gateway, protocolNumber: 17, payload: [0, 1, 0, 2, 0, 8, 0, 0])
        fragment[20] = 0x20
        fragment.withUnsafeMutableBytes { try! IPv4Packet(parsing: $0.slice(14, $0.count)).fillChecksum() }
        admin.inject(fragment)
        admin.inject(fixture.ipv4Frame(to: .admin, from: gateway, protocolNumber: 17, payload: [], destination: IPv4Address(10, 0, 1, 77)))
        var foreign = fixture.ipv4Frame(to: .admin, from: gateway, protocolNumber: 17, payload: [])
        foreign[0] = 0x02  // another host's MAC
        admin.inject(foreign)
        admin.inject([1, 2, 3])
        admin.inject(Array(fixture.ipv4Frame(to: .admin, from: gateway, protocolNumber: 17, payload: []).prefix(30)))
        fixture.run()
        let counters = fixture.stack.counters
        #expect(counters[.ipv4BadChecksum] == 1)
        #expect(counters[.ipv4Fragments] == 1)
        #expect(counters[.ipv4NotForUs] == 1)
        #expect(counters[.frameNotForUs] == 1)
        #expect(counters[.frameTruncated] == 1)
        #expect(counters[.ipv4Truncated] == 1)
        #expect(admin.sent.isEmpty)
        #expect(fixture.allBuffersReturned)
    }

    @Test func routesByPrefixThenDefaultGateway() {
        let fixture = StackFixture()
        #expect(fixture.stack.route(to: IPv4Address(10, 0, 3, 99))?.0.role == .private)
        #expect(fixture.stack.route(to: IPv4Address(10, 0, 3, 99))?.1 == IPv4Address(10, 0, 3, 99))
        let external = fixture.stack.route(to: IPv4Address(192, 0, 2, 1))
        #expect(external?.0.role == .public && external?.1 == IPv4Address(10, 0, 2, 2))
        fixture.stack.defaultRoute = nil
        #expect(fixture.stack.route(to: IPv4Address(192, 0, 2, 1)) == nil)
    }

    @Test func unansweredResolutionsGiveUpAndFreeTheirPackets() {
        let fixture = StackFixture()
        let sent = fixture.stack.sendUDP(from: 1, to: IPv4Address(10, 0, 3, 50), port: 2, payload: UnsafeRawBufferPointer(start: nil, count: 0), now: fixture.now)
        #expect(sent)
        #expect(fixture.pool.available == fixture.pool.count - 1, "the datagram waits for ARP")
        for second in 1...4 {
            fixture.stack.tick(now: fixture.now + .seconds(UInt64(second)))
        }
        #expect(fixture.device(.private).sent.count == 3, "three requests, then it gives up")
        #expect(fixture.stack.counters[.arpUnresolved] == 1)
        #expect(fixture.allBuffersReturned)
    }

    /// Random bytes, and random corruptions of valid frames, never crash the
    /// stack and never leak a buffer.
    @Test(arguments: [21, 22, 23])
    func survivesGarbage(seed: UInt64) {
        let fixture = StackFixture()
        fixture.teach(.admin, gateway)
        fixture.stack.bindUDP(port: 7, on: [.admin]) { _ in }
        var random = SplitMix(state: seed)
        let templates = [
            fixture.ipv4Frame(to: .admin, from: gateway, protocolNumber: 17, payload: [0, 1, 0, 7, 0, 12, 0, 0, 1, 2, 3, 4]),
            fixture.ipv4Frame(to: .admin, from: gateway, protocolNumber: 1, payload: [8, 0, 0xF7, 0xFF, 0, 0, 0, 0]),
            fixture.arpFrame(operation: .request, from: gateway, senderMAC: fixture.peerMAC, target: IPv4Address(10, 0, 1, 15), to: .admin),
        ]
        for round in 0..<2000 {
            var frame: [UInt8]
            if round % 4 == 0 {
                frame = (0..<Int(random.next() % 120)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            } else {
                frame = templates[Int(random.next() % 3)]
                for _ in 0..<Int(random.next() % 4) {
                    frame[Int(random.next() % UInt64(frame.count))] = UInt8(truncatingIfNeeded: random.next())
                }
                if random.next() % 5 == 0 { frame = Array(frame.prefix(Int(random.next() % UInt64(frame.count)))) }
            }
            fixture.device(.admin).inject(frame)
            fixture.run()
            fixture.device(.admin).sent.removeAll()
        }
        #expect(fixture.stack.counters[.framesReceived] == 2001)
        #expect(fixture.allBuffersReturned)
    }
}

@Suite struct ARPCacheTests {
    let pool = PacketPool(count: 8)

    @Test func entriesExpire() {
        var cache = ARPCache()
        let start = Instant(nanoseconds: 0)
        _ = cache.learn(IPv4Address(10, 0, 0, 1), is: MACAddress(value: 7), now: start)
        #expect(cache.lookup(IPv4Address(10, 0, 0, 1), now: start + .seconds(59)) == MACAddress(value: 7))
        #expect(cache.lookup(IPv4Address(10, 0, 0, 1), now: start + .seconds(60)) == nil)
        cache.expire(now: start + .seconds(61), retry: { _ in }, drop: { _ in })
        #expect(cache.entries.isEmpty)
    }

    @Test func aFullTableEvictsTheOldest() {
        var cache = ARPCache(capacity: 2)
        _ = cache.learn(IPv4Address(value: 1), is: MACAddress(value: 1), now: Instant(nanoseconds: 1))
        _ = cache.learn(IPv4Address(value: 2), is: MACAddress(value: 2), now: Instant(nanoseconds: 2))
        _ = cache.learn(IPv4Address(value: 3), is: MACAddress(value: 3), now: Instant(nanoseconds: 3))
        #expect(cache.entries.map(\.address.value) == [2, 3])
    }

    @Test func pendingPacketsWaitAreReleasedAndBounded() {
        var cache = ARPCache(pendingCapacity: 3)
        let hop = IPv4Address(10, 0, 0, 9)
        let now = Instant(nanoseconds: 5)
        let buffers = (0..<4).map { _ in pool.take()! }
        #expect(cache.enqueue(buffers[0], nextHop: hop, now: now) == .queuedSendRequest)
        #expect(cache.enqueue(buffers[1], nextHop: hop, now: now) == .queued)
        #expect(cache.enqueue(buffers[2], nextHop: IPv4Address(10, 0, 0, 8), now: now) == .queuedSendRequest)
        #expect(cache.enqueue(buffers[3], nextHop: hop, now: now) == .dropped)
        let released = cache.learn(hop, is: MACAddress(value: 9), now: now)
        #expect(released.map(\.index) == [buffers[0].index, buffers[1].index])
        #expect(cache.pendingCount == 1)
    }

    @Test func retriesThenGivesUp() {
        var cache = ARPCache()
        let hop = IPv4Address(10, 0, 0, 9)
        let start = Instant(nanoseconds: 0)
        _ = cache.enqueue(pool.take()!, nextHop: hop, now: start)
        var retries = 0
        var dropped = 0
        for tenth in 1...50 {
            cache.expire(now: start + .milliseconds(UInt64(tenth) * 100), retry: { _ in retries += 1 }, drop: { _ in dropped += 1 })
        }
        #expect(retries == 2, "three requests in all, counting the first")
        #expect(dropped == 1)
        #expect(cache.pendingCount == 0)
    }
}
