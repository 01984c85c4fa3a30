import Testing
@testable import KernelCore

@Suite struct MartianAddressTests {
    @Test func classifiesEachRangeAtItsEdges() {
        let cases: [(IPv4Address, IPv4Address.Martian?)] = [
            (IPv4Address(0, 0, 0, 0), .thisNetwork), (IPv4Address(0, 255, 255, 255), .thisNetwork),
            (IPv4Address(1, 0, 0, 0), nil), (IPv4Address(126, 255, 255, 255), nil),
            (IPv4Address(127, 0, 0, 0), .loopback), (IPv4Address(127, 0, 0, 1), .loopback),
            (IPv4Address(127, 255, 255, 255), .loopback), (IPv4Address(128, 0, 0, 0), nil),
            (IPv4Address(10, 0, 2, 15), nil), (IPv4Address(223, 255, 255, 255), nil),
            (IPv4Address(224, 0, 0, 0), .multicast), (IPv4Address(224, 0, 0, 1), .multicast),
            (IPv4Address(239, 255, 255, 255), .multicast), (IPv4Address(240, 0, 0, 0), .reserved),
            (IPv4Address(255, 255, 255, 254), .reserved), (IPv4Address(255, 255, 255, 255), .limitedBroadcast),
        ]
        for (address, expected) in cases {
            #expect(address.martian == expected, "\(address.value)")
            #expect(address.isMartian == (expected != nil))
        }
        for martian in IPv4Address.Martian.allCases { #expect(martian.first.martian == martian) }
    }

    @Test func subnetBroadcastsAreTheAllOnesAndAllZerosHosts() {
        let network = IPv4Interface(address: IPv4Address(10, 0, 2, 15), prefixLength: 24)
        #expect(network.isBroadcast(IPv4Address(10, 0, 2, 255)))
        #expect(network.isBroadcast(IPv4Address(10, 0, 2, 0)))
        #expect(!network.isBroadcast(IPv4Address(10, 0, 2, 15)))
        #expect(!network.isBroadcast(IPv4Address(10, 0, 3, 255)))
        let pointToPoint = IPv4Interface(address: IPv4Address(192, 0, 2, 0), prefixLength: 31)
        #expect(!pointToPoint.isBroadcast(IPv4Address(192, 0, 2, 0)) && !pointToPoint.isBroadcast(IPv4Address(192, 0, 2, 1)))
        #expect(!IPv4Interface(address: IPv4Address(192, 0, 2, 7), prefixLength: 32).isBroadcast(IPv4Address(192, 0, 2, 7)))
    }
}

/// The stack never answers a martian, and never sends to or from one
/// whatever layer asks it to.
@Suite struct MartianStackTests {
    let peer = IPv4Address(10, 0, 2, 2)
    let publicAddress = IPv4Address(10, 0, 2, 15)

    /// A stack that would answer everything it may: the peer's MAC known on
    /// every NIC (no ARP needed), a UDP echo service on public port 7, and
    /// a firewall that rejects TCP, as the reports' resets came from.
    func answeringFixture() -> StackFixture {
        let fixture = StackFixture()
        fixture.teach(.admin, IPv4Address(10, 0, 1, 2))
        fixture.teach(.public, peer)
        fixture.teach(.private, IPv4Address(10, 0, 3, 2))
        fixture.stack.bindUDP(port: 7, on: [.public]) { datagram in
            fixture.stack.sendUDP(from: 7, to: datagram.source, port: datagram.sourcePort,
                                  payload: UnsafeRawBufferPointer(datagram.payload), now: fixture.now)
        }
        let firewall = Firewall(rules: [FirewallRuleDescriptor(action: .reject)], policies: []) { packet in
            packet.direction == .inbound && packet.protocolNumber == IPv4Packet.ProtocolNumber.tcp ? 0 : -1
        }
        fixture.stack.install(FirewallHook(firewall))
        for device in fixture.devices { device.sent.removeAll() }
        return fixture
    }

    func tcpSYN(from source: IPv4Address, to destination: IPv4Address, port: UInt16 = 80) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 20)
        bytes.withUnsafeMutableBytes { raw in
            TCPSegment.emit(into: raw, sourcePort: 40000, destinationPort: port, sequenceNumber: 100, acknowledgmentNumber: 0,
                            flags: .syn, window: 8000, payloadLength: 0, source: source, destination: destination)
        }
        return bytes
    }

    func udp(from source: IPv4Address, to destination: IPv4Address, port: UInt16) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 12)
        bytes.withUnsafeMutableBytes { raw in
            UDPDatagram.emit(into: raw, sourcePort: 5555, destinationPort: port, payloadLength: 4, source: source, destination: destination)
        }
        return bytes
    }

    var echoRequest: [UInt8] {
        var echo: [UInt8] = [8, 0, 0, 0, 0xBE, 0xEF, 0, 1]
        echo.withUnsafeMutableBytes { try! ICMPv4Message(parsing: $0).fillChecksum() }
        return echo
    }

    /// Everything that gets an answer from an ordinary peer: a SYN (reset
    /// by the firewall), UDP echo, UDP to a closed port (port unreachable),
    /// an unknown protocol (protocol unreachable), a ping.
    func provocations(from source: IPv4Address, to destination: IPv4Address, fixture: StackFixture) -> [[UInt8]] {
        [
            fixture.ipv4Frame(to: .public, from: source, protocolNumber: 6, payload: tcpSYN(from: source, to: destination),
                              destination: destination),
            fixture.ipv4Frame(to: .public, from: source, protocolNumber: 17, payload: udp(from: source, to: destination, port: 7),
                              destination: destination),
            fixture.ipv4Frame(to: .public, from: source, protocolNumber: 17, payload: udp(from: source, to: destination, port: 9),
                              destination: destination),
            fixture.ipv4Frame(to: .public, from: source, protocolNumber: 99, payload: [1, 2, 3, 4], destination: destination),
            fixture.ipv4Frame(to: .public, from: source, protocolNumber: 1, payload: echoRequest, destination: destination),
        ]
    }

    func framesSent(_ fixture: StackFixture) -> Int { fixture.devices.reduce(0) { $0 + $1.sent.count } }

    @Test func anOrdinaryPeerGetsEveryAnswer() {
        let fixture = answeringFixture()
        for frame in provocations(from: peer, to: publicAddress, fixture: fixture) { fixture.device(.public).inject(frame) }
        fixture.run()
        #expect(fixture.device(.public).sent.count == 5, "reset, echo, two unreachables, echo reply")
        #expect(fixture.stack.counters[.txMartian] == 0)
        #expect(fixture.allBuffersReturned)
    }

    @Test(arguments: IPv4Address.Martian.allCases)
    func martianSourcesAreDroppedAndCounted(martian: IPv4Address.Martian) {
        let fixture = answeringFixture()
        let source = IPv4Address(value: martian.first.value | (martian == .limitedBroadcast ? 0 : 1))
        let frames = provocations(from: source, to: publicAddress, fixture: fixture)
        for frame in frames { fixture.device(.public).inject(frame) }
        fixture.run()
        #expect(framesSent(fixture) == 0, "nothing answers \(martian.name)")
        #expect(fixture.stack.counters[.ipv4MartianSource] == UInt64(frames.count))
        #expect(fixture.stack.counters[.firewallRejected] == 0, "dropped before the firewall sees it")
        #expect(fixture.allBuffersReturned)
    }

    @Test(arguments: [IPv4Address(10, 0, 2, 255), IPv4Address(10, 0, 2, 0), IPv4Address(10, 0, 3, 255)])
    func subnetBroadcastSourcesAreMartians(source: IPv4Address) {
        let fixture = answeringFixture()
        let frames = provocations(from: source, to: publicAddress, fixture: fixture)
        for frame in frames { fixture.device(.public).inject(frame) }
        fixture.run()
        #expect(framesSent(fixture) == 0)
        #expect(fixture.stack.counters[.ipv4MartianSource] == UInt64(frames.count))
        #expect(fixture.allBuffersReturned)
    }

    @Test(arguments: [IPv4Address(10, 0, 2, 15), IPv4Address(10, 0, 1, 15), IPv4Address(10, 0, 3, 15)])
    func ourOwnAddressesAsSourceAreDropped(source: IPv4Address) {
        let fixture = answeringFixture()
        let frames = provocations(from: source, to: publicAddress, fixture: fixture)
        for frame in frames { fixture.device(.public).inject(frame) }
        fixture.run()
        #expect(framesSent(fixture) == 0)
        #expect(fixture.stack.counters[.ipv4OwnSource] == UInt64(frames.count))
        #expect(fixture.allBuffersReturned)
    }

    @Test(arguments: IPv4Address.Martian.allCases)
    func martianDestinationsAreDroppedAndCounted(martian: IPv4Address.Martian) {
        let fixture = answeringFixture()
        let destination = IPv4Address(value: martian.first.value | (martian == .limitedBroadcast ? 0 : 1))
        let frames = provocations(from: peer, to: destination, fixture: fixture)
        for frame in frames { fixture.device(.public).inject(frame) }
        fixture.run()
        #expect(framesSent(fixture) == 0, "nothing answers for \(martian.name)")
        #expect(fixture.stack.counters[.ipv4MartianDestination] == UInt64(frames.count))
        #expect(fixture.allBuffersReturned)
    }

    /// The report: a SYN to 255.255.255.255 was reset from 255.255.255.255.
    @Test func aSYNToTheLimitedBroadcastGetsNothingBack() {
        let fixture = answeringFixture()
        let syn = fixture.ipv4Frame(to: .public, from: peer, protocolNumber: 6, payload: tcpSYN(from: peer, to: .broadcast),
                                    destination: .broadcast)
        var broadcastFrame = syn
        for index in 0..<6 { broadcastFrame[index] = 0xFF }  // as a broadcast IP packet arrives
        fixture.device(.public).inject(syn)
        fixture.device(.public).inject(broadcastFrame)
        fixture.run()
        #expect(framesSent(fixture) == 0)
        #expect(fixture.stack.counters[.ipv4MartianDestination] == 2)
    }

    @Test(arguments: [IPv4Address(10, 0, 2, 255), IPv4Address(10, 0, 2, 0), IPv4Address(10, 0, 1, 255)])
    func subnetBroadcastDestinationsAreNeverAnswered(destination: IPv4Address) {
        let fixture = answeringFixture()
        let frames = provocations(from: peer, to: destination, fixture: fixture)
        for frame in frames {
            var broadcast = frame
            for index in 0..<6 { broadcast[index] = 0xFF }
            fixture.device(.public).inject(broadcast)
        }
        fixture.run()
        #expect(framesSent(fixture) == 0)
        #expect(fixture.stack.counters[.ipv4BroadcastDestination] == UInt64(frames.count))
        #expect(fixture.stack.counters[.udpDelivered] == 0, "the echo service never sees a broadcast")
        #expect(fixture.allBuffersReturned)
    }

    @Test func arpFromAMartianSenderIsIgnoredButProbesAreAnswered() throws {
        let fixture = StackFixture()
        let admin = fixture.device(.admin)
        let mac = MACAddress(0x52, 0x55, 0x0A, 0, 9, 9)
        admin.inject(fixture.arpFrame(operation: .request, from: IPv4Address(127, 0, 0, 1), senderMAC: mac,
                                      target: IPv4Address(10, 0, 1, 15), to: .admin))
        admin.inject(fixture.arpFrame(operation: .request, from: IPv4Address(224, 0, 0, 1), senderMAC: mac,
                                      target: IPv4Address(10, 0, 1, 15), to: .admin))
        fixture.run()
        #expect(admin.sent.isEmpty)
        #expect(fixture.stack.counters[.arpMartianSender] == 2)
        #expect(fixture.stack.interface(.admin)!.arp.lookup(IPv4Address(127, 0, 0, 1), now: fixture.now) == nil)
        // An address probe (RFC 5227) from 0.0.0.0 learns nothing but is answered.
        admin.inject(fixture.arpFrame(operation: .request, from: .any, senderMAC: mac, target: IPv4Address(10, 0, 1, 15), to: .admin))
        fixture.run()
        #expect(admin.sent.count == 1)
        try parse(admin.sent[0]) { frame in #expect(frame.destination == mac) }
        #expect(fixture.allBuffersReturned)
    }

    // MARK: Outbound

    /// The TCP layer's reset, however it was asked for, never leaves toward a martian.
    @Test(arguments: [IPv4Address(127, 0, 0, 1), IPv4Address.broadcast, IPv4Address(224, 0, 0, 1), IPv4Address(10, 0, 2, 255)])
    func resetsTowardMartiansAreNeverTransmitted(target: IPv4Address) {
        let fixture = answeringFixture()
        var syn = tcpSYN(from: target, to: publicAddress)
        syn.withUnsafeMutableBytes { fixture.stack.tcp.refuse($0, source: target, destination: publicAddress, now: fixture.now) }
        fixture.run()
        #expect(framesSent(fixture) == 0)
        #expect(fixture.stack.counters[.txMartian] == 1)
        #expect(fixture.allBuffersReturned)
        // The same request from an ordinary peer is sent: the guard is what stopped it.
        var ordinary = tcpSYN(from: peer, to: publicAddress)
        ordinary.withUnsafeMutableBytes { fixture.stack.tcp.refuse($0, source: peer, destination: publicAddress, now: fixture.now) }
        #expect(framesSent(fixture) == 1)
    }

    @Test(arguments: [IPv4Address(127, 0, 0, 1), IPv4Address.broadcast, IPv4Address(224, 0, 0, 1)])
    func icmpErrorsTowardMartiansAreNeverTransmitted(target: IPv4Address) {
        let fixture = answeringFixture()
        var frame = fixture.ipv4Frame(to: .public, from: target, protocolNumber: 99, payload: [1, 2, 3, 4], destination: publicAddress)
        frame.withUnsafeMutableBytes { bytes in
            let packet = try! IPv4Packet(parsing: bytes.slice(14, bytes.count))
            fixture.stack.sendUnreachable(code: ICMPv4Message.UnreachableCode.protocol, about: packet,
                                          on: fixture.stack.interface(.public)!, now: fixture.now)
        }
        #expect(framesSent(fixture) == 0)
        #expect(fixture.stack.counters[.icmpErrorsSent] == 0)
        #expect(fixture.stack.counters[.txMartian] == 1)
        #expect(fixture.allBuffersReturned)
    }

    @Test func sendsFromOrToMartiansAreRefused() {
        let fixture = answeringFixture()
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        for target in [IPv4Address(127, 0, 0, 1), .broadcast, IPv4Address(224, 0, 0, 1), IPv4Address(0, 0, 0, 0),
                       IPv4Address(10, 0, 3, 255), publicAddress] {
            #expect(!fixture.stack.sendUDP(from: 7, to: target, port: 7, payload: empty, now: fixture.now))
        }
        for source in [IPv4Address(127, 0, 0, 1), IPv4Address(255, 255, 255, 255)] {
            let buffer = fixture.pool.take()!
            #expect(!fixture.stack.sendIPv4(buffer, protocolNumber: 17, source: source, destination: peer, payloadLength: 0,
                                            via: nil, now: fixture.now))
        }
        #expect(framesSent(fixture) == 0)
        #expect(fixture.stack.counters[.txMartian] == 8)
        #expect(fixture.allBuffersReturned)
    }

    /// The balancer's NAT forward is checked too: a backend configured at a
    /// loopback address gets nothing on the wire.
    @Test func balancerForwardsTowardMartiansAreRefused() {
        let fixture = StackFixture()
        let client = IPv4Address(10, 0, 2, 2)
        let balancer = LoadBalancer(
            services: [ServiceConfiguration(
                name: "web", port: 80, algorithm: .roundRobin,
                backends: [BackendConfiguration(name: "lo", address: IPv4Address(127, 0, 0, 1), port: 8080, maximumConnections: 0)],
                maximumConnections: 0)],
            publicAddress: publicAddress, privateAddress: IPv4Address(10, 0, 3, 15), connectionCapacity: 16)
        fixture.stack.inbound.append(BalancerHook(balancer))
        let service = balancer.services[0]
        for _ in 0..<2 {
            balancer.recordCheck(service: service, backend: service.backends[0], outcome: .passed, latency: .milliseconds(1), now: fixture.now)
        }
        fixture.teach(.public, client)
        fixture.teach(.private, IPv4Address(10, 0, 3, 2))
        for device in fixture.devices { device.sent.removeAll() }
        fixture.device(.public).inject(fixture.ipv4Frame(to: .public, from: client, protocolNumber: 6,
                                                         payload: tcpSYN(from: client, to: publicAddress)))
        fixture.run()
        #expect(fixture.stack.counters[.balancerForwarded] == 1)
        #expect(framesSent(fixture) == 0)
        #expect(fixture.stack.counters[.txMartian] == 1)
        #expect(fixture.allBuffersReturned)
    }

    // MARK: ICMP error rate limit

    /// Port unreachable, protocol unreachable and the firewall's
    /// administratively-prohibited all draw from one bucket.
    @Test func everyICMPErrorPathSharesTheRateLimit() throws {
        let fixture = answeringFixture()
        let firewall = Firewall(rules: [FirewallRuleDescriptor(action: .reject)], policies: []) { packet in
            packet.direction == .inbound && packet.protocolNumber == 17 && packet.destinationPort == 23 ? 0 : -1
        }
        fixture.stack.install(FirewallHook(firewall))
        fixture.stack.icmpErrorRate = 3
        let frames = [
            fixture.ipv4Frame(to: .public, from: peer, protocolNumber: 17, payload: udp(from: peer, to: publicAddress, port: 9)),
            fixture.ipv4Frame(to: .public, from: peer, protocolNumber: 99, payload: [1, 2, 3, 4]),
            fixture.ipv4Frame(to: .public, from: peer, protocolNumber: 17, payload: udp(from: peer, to: publicAddress, port: 23)),
        ]
        for _ in 0..<4 {
            for frame in frames { fixture.device(.public).inject(frame) }
            fixture.run()
        }
        // The bucket holds three: the first round is answered, the next three are not.
        var codes: [UInt8] = []
        for sent in fixture.device(.public).sent {
            try parse(sent) { frame in
                let message = try ICMPv4Message(parsing: try IPv4Packet(parsing: frame.payload).payload)
                #expect(message.type == ICMPv4Message.MessageType.destinationUnreachable)
                codes.append(message.code)
            }
        }
        #expect(codes == [ICMPv4Message.UnreachableCode.port, ICMPv4Message.UnreachableCode.protocol,
                          ICMPv4Message.UnreachableCode.administrativelyProhibited])
        #expect(fixture.stack.counters[.icmpErrorsSent] == 3)
        #expect(fixture.stack.counters[.icmpErrorsRateLimited] == 9)
        #expect(fixture.stack.counters[.firewallRejected] == 4)
        // A second later the bucket holds the rate again, no more.
        fixture.now = fixture.now + .seconds(1)
        for _ in 0..<2 { for frame in frames { fixture.device(.public).inject(frame) } }
        fixture.run()
        #expect(fixture.stack.counters[.icmpErrorsSent] == 6)
        #expect(fixture.stack.counters[.icmpErrorsRateLimited] == 12)
        #expect(fixture.allBuffersReturned)
    }

    /// Years of uptime between two errors refill the bucket, not overflow it.
    @Test func theBucketRefillsAfterALongSilence() {
        let fixture = answeringFixture()
        fixture.stack.icmpErrorRate = 2
        fixture.now = Instant(nanoseconds: 1 << 62)
        for _ in 0..<5 {
            fixture.device(.public).inject(
                fixture.ipv4Frame(to: .public, from: peer, protocolNumber: 17, payload: udp(from: peer, to: publicAddress, port: 9)))
        }
        fixture.run()
        #expect(fixture.stack.counters[.icmpErrorsSent] == 2)
        #expect(fixture.stack.counters[.icmpErrorsRateLimited] == 3)
    }
}
