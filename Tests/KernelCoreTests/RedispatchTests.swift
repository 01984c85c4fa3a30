import Testing
@testable import KernelCore

/// A client's SYN, as Linux sends it, and the packets a backend answers it
/// with, for driving SYN redispatch through `BalancerHarness`.
extension BalancerHarness {
    static let client = IPv4Address(192, 0, 2, 77)
    /// MSS 1460, SACK permitted, timestamps, NOP, window scale 7: a Linux SYN's options.
    static let linuxOptions: [UInt8] = [2, 4, 0x05, 0xB4, 4, 2, 8, 10, 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0, 1, 3, 3, 7]

    /// The client's SYN with window 64240 and `options` (padded to a
    /// multiple of 4 with EOL), carrying `payload`.
    static func clientSYN(port: UInt16, isn: UInt32, to vip: IPv4Address, options: [UInt8] = linuxOptions,
                          payload: [UInt8] = []) -> [UInt8] {
        let padded = options + [UInt8](repeating: 0, count: (4 - options.count % 4) % 4)
        let tcpLength = 20 + padded.count + payload.count
        var bytes = [UInt8](repeating: 0, count: 20 + tcpLength)
        bytes.withUnsafeMutableBytes { raw in
            let tcp = raw.slice(20, raw.count)
            tcp.setU16(port, at: 0)
            tcp.setU16(80, at: 2)
            tcp.setU32(isn, at: 4)
            tcp[12] = UInt8((20 + padded.count) / 4) << 4
            tcp[13] = TCPSegment.Flags.syn.rawValue
            tcp.setU16(64240, at: 14)
            for (index, byte) in padded.enumerated() { tcp[20 + index] = byte }
            for (index, byte) in payload.enumerated() { tcp[20 + padded.count + index] = byte }
            (try! TCPSegment(parsing: tcp)).fillChecksum(source: client, destination: vip)
            _ = IPv4Packet.emit(into: raw, source: client, destination: vip, protocolNumber: 6, payloadLength: tcpLength)
        }
        return bytes
    }

    /// Sends the client's SYN; the forwarded packet.
    func openFlow(port: UInt16, isn: UInt32) -> Outcome {
        fromClient(Self.clientSYN(port: port, isn: isn, to: vip))
    }

    /// The backend at `backendPort` refusing the SYN with RST|ACK (ack ISN+1).
    func refuse(backendPort: UInt16, snatPort: UInt16, isn: UInt32, corrupt: Bool = false) -> Outcome {
        fromBackend(Self.packet(from: backendHost, backendPort, to: appliance, snatPort, flags: [.rst, .ack], seq: 0,
                                ack: isn &+ 1, window: 0, corrupt: corrupt))
    }

    /// An ICMP destination unreachable from `sender` quoting `quote` (an
    /// IPv4 packet as forwarded), cut to `quoted` bytes after its IPv4 header.
    static func unreachable(from sender: IPv4Address, to destination: IPv4Address, quoting quote: [UInt8], quoted: Int = 8,
                            type: UInt8 = ICMPv4Message.MessageType.destinationUnreachable,
                            code: UInt8 = ICMPv4Message.UnreachableCode.port, corrupt: Bool = false) -> [UInt8] {
        let body = Array(quote[0..<Swift.min(quote.count, 20 + quoted)])
        var bytes = [UInt8](repeating: 0, count: 20 + 8 + body.count)
        bytes.withUnsafeMutableBytes { raw in
            for (index, byte) in body.enumerated() { raw[28 + index] = byte }
            ICMPv4Message.emit(into: raw.slice(20, raw.count), type: type, code: code)
            if corrupt { raw[23] ^= 0x01 }
            _ = IPv4Packet.emit(into: raw, source: sender, destination: destination, protocolNumber: 1, payloadLength: 8 + body.count)
        }
        return bytes
    }
}

/// What a test reads off a packet the balancer sent.
struct SentPacket {
    var source: IPv4Address
    var destination: IPv4Address
    var sourcePort: UInt16
    var destinationPort: UInt16
    var sequence: UInt32
    var acknowledgment: UInt32
    var flags: TCPSegment.Flags
    var window: UInt16
    var options: [UInt8]
    var checksumsValid: Bool

    init(_ bytes: [UInt8]) throws {
        var bytes = bytes
        let parsed: SentPacket? = try bytes.withUnsafeMutableBytes { raw in
            let ip = try IPv4Packet(parsing: raw)
            let tcp = try TCPSegment(parsing: ip.payload)
            return SentPacket(
                source: ip.source, destination: ip.destination, sourcePort: tcp.sourcePort, destinationPort: tcp.destinationPort,
                sequence: tcp.sequenceNumber, acknowledgment: tcp.acknowledgmentNumber, flags: tcp.flags, window: tcp.window,
                options: Array(tcp.options),
                checksumsValid: ip.checksumValid && ip.totalLength == raw.count
                    && tcp.checksumValid(source: ip.source, destination: ip.destination))
        }
        self = try #require(parsed)
    }

    private init(source: IPv4Address, destination: IPv4Address, sourcePort: UInt16, destinationPort: UInt16, sequence: UInt32,
                 acknowledgment: UInt32, flags: TCPSegment.Flags, window: UInt16, options: [UInt8], checksumsValid: Bool) {
        self.source = source
        self.destination = destination
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.sequence = sequence
        self.acknowledgment = acknowledgment
        self.flags = flags
        self.window = window
        self.options = options
        self.checksumsValid = checksumsValid
    }
}

/// A backend that refuses, rejects with ICMP or ignores a forwarded SYN
/// does not fail the client's connection: the client's own SYN goes to
/// another backend, at most `retries` times, and only then does the
/// client get a reset.
@Suite struct RedispatchTests {
    static let isn: UInt32 = 0xFFFF_FFF0

    /// The re-sent SYN is the client's: same sequence number, window and
    /// options, from the private address and the flow's SNAT port to the
    /// next backend, with valid checksums.
    func expectResentSYN(_ outcome: BalancerHarness.Outcome, in world: BalancerHarness, snatPort: UInt16, notTo tried: Set<UInt16>)
        throws -> UInt16 {
        guard case .send(let target, _) = outcome.verdict else {
            Issue.record("expected a re-sent SYN, got \(outcome.verdict)")
            return 0
        }
        let syn = try SentPacket(outcome.bytes)
        #expect(target == world.backendHost && syn.destination == world.backendHost && syn.source == world.appliance)
        #expect(syn.sourcePort == snatPort)
        #expect(!tried.contains(syn.destinationPort), "never the same backend twice")
        #expect(world.service.backends.contains { $0.configuration.port == syn.destinationPort })
        #expect(syn.flags == [.syn] && syn.sequence == Self.isn && syn.acknowledgment == 0)
        #expect(syn.window == 64240 && syn.options == BalancerHarness.linuxOptions)
        #expect(syn.checksumsValid)
        return syn.destinationPort
    }

    @Test func aRefusedSYNGoesToAnotherBackendAndTheHandshakeCompletesThere() throws {
        let world = BalancerHarness(retries: 2)
        let first = world.openFlow(port: 40_000, isn: Self.isn)
        #expect(first.forwarded)
        let firstBackend = first.destinationPort
        let resent = world.refuse(backendPort: firstBackend, snatPort: first.sourcePort, isn: Self.isn)
        let secondBackend = try expectResentSYN(resent, in: world, snatPort: first.sourcePort, notTo: [firstBackend])
        let left = try #require(world.service.backends.first { $0.configuration.port == firstBackend })
        #expect(left.statistics.connectRefused == 1 && left.statistics.redispatched == 1)
        #expect(world.service.statistics.redispatched == 1 && world.service.statistics.connectRefused == 1)
        #expect(world.service.statistics.failedConnects == 0)
        // The new backend's SYN-ACK reaches the client from the service address, and the client's ACK completes it.
        var connection = BalancerHarness.Connection(client: BalancerHarness.client, clientPort: 40_000, clientNext: Self.isn &+ 1,
                                                    backendPort: secondBackend, snatPort: first.sourcePort)
        #expect(world.synAck(&connection, isn: 777))
        #expect(world.clientSends(&connection).destinationPort == secondBackend)
        #expect(world.entry(connection)?.state == .established)
        #expect(world.balancer.tracker.attempts.count == 0, "the slot is free once the backend answered")
        let chosen = try #require(world.service.backends.first { $0.configuration.port == secondBackend })
        #expect(chosen.statistics.activeConnections == 1 && left.statistics.activeConnections == 0)
        // The first backend's late SYN-ACK no longer belongs to the flow: the local stack resets it.
        #expect(!world.balancer.tracksBackend(world.backendHost, port: firstBackend, snatPort: first.sourcePort, protocolNumber: 6))
        let late = world.fromBackend(BalancerHarness.packet(from: world.backendHost, firstBackend, to: world.appliance,
                                                            first.sourcePort, flags: [.syn, .ack], seq: 9, ack: Self.isn &+ 1))
        #expect(late.verdict == .notOurs && world.entry(connection)?.state == .established)
    }

    /// Passive health sees the refusals redispatch hides from clients: at
    /// the service's error limit the refusing backend goes DOWN, marked by
    /// traffic, and new connections stop going there.
    @Test func refusalsInTrafficMarkTheBackendDownAtTheErrorLimit() throws {
        let world = BalancerHarness(retries: 2, errorLimit: 3)
        var events: [(String, BackendHealth.Status)] = []
        world.balancer.onEvent = { event in
            if case .backendStatusChanged(_, let backend, let status) = event { events.append(("\(backend.configuration.name)", status)) }
        }
        let web2 = world.service.backends[1]
        var refusals = 0
        for round in 0..<30 {
            let isn = Self.isn
            let opened = world.openFlow(port: UInt16(41_000 + round), isn: isn)
            var backendPort = opened.destinationPort
            if backendPort == web2.configuration.port {
                #expect(refusals < 3, "no new connection goes to web2 once it is DOWN")
                refusals += 1
                let resent = world.refuse(backendPort: backendPort, snatPort: opened.sourcePort, isn: isn)
                backendPort = try expectResentSYN(resent, in: world, snatPort: opened.sourcePort, notTo: [backendPort])
            }
            var connection = BalancerHarness.Connection(client: BalancerHarness.client, clientPort: UInt16(41_000 + round),
                                                        clientNext: isn &+ 1, backendPort: backendPort, snatPort: opened.sourcePort)
            #expect(world.synAck(&connection, isn: 500))
        }
        #expect(refusals == 3)
        #expect(web2.health.status == .down && web2.health.lastChangeCause == .traffic)
        #expect(web2.health.consecutiveConnectFailures == 3)
        #expect(events.count == 1 && events.first?.0 == "web2" && events.first?.1 == .down)
        #expect(world.service.statistics.failedConnects == 0, "every refused connection was redispatched")
        #expect(web2.statistics.connectRefused == 3 && web2.statistics.redispatched == 3)
    }

    @Test func anICMPUnreachableQuotingTheSYNRedispatchesIt() throws {
        let world = BalancerHarness(retries: 2)
        let first = world.openFlow(port: 40_001, isn: Self.isn)
        // Any code of destination unreachable, from a router on the way as much as from the backend.
        let icmp = BalancerHarness.unreachable(from: IPv4Address(10, 0, 3, 1), to: world.appliance, quoting: first.bytes,
                                               code: ICMPv4Message.UnreachableCode.host)
        let resent = world.fromBackend(icmp)
        _ = try expectResentSYN(resent, in: world, snatPort: first.sourcePort, notTo: [first.destinationPort])
        let left = try #require(world.service.backends.first { $0.configuration.port == first.destinationPort })
        #expect(left.statistics.connectRefused == 1 && left.statistics.redispatched == 1)
        #expect(world.service.statistics.connectRefused == 1 && world.service.statistics.connectTimeouts == 0)
    }

    @Test func forgedICMPErrorsChangeNothing() throws {
        let world = BalancerHarness(retries: 2)
        let first = world.openFlow(port: 40_002, isn: Self.isn)
        let before = try #require(world.balancer.tracker.lookupClient(BalancerHarness.client, 40_002, world.vip, 80, protocolNumber: 6))
        let entry = world.balancer.tracker.entries[before]
        func altered(_ offset: Int, _ value: UInt8) -> [UInt8] {
            var quote = first.bytes
            quote[offset] ^= value
            return quote
        }
        let router = IPv4Address(10, 0, 3, 1)
        let forgeries: [(String, [UInt8])] = [
            ("wrong sequence number", BalancerHarness.unreachable(from: router, to: world.appliance, quoting: altered(27, 1))),
            ("wrong SNAT port", BalancerHarness.unreachable(from: router, to: world.appliance, quoting: altered(21, 1))),
            ("wrong backend port", BalancerHarness.unreachable(from: router, to: world.appliance, quoting: altered(23, 4))),
            ("wrong quoted source", BalancerHarness.unreachable(from: router, to: world.appliance, quoting: altered(15, 1))),
            ("wrong quoted backend", BalancerHarness.unreachable(from: router, to: world.appliance, quoting: altered(19, 1))),
            ("bad checksum", BalancerHarness.unreachable(from: router, to: world.appliance, quoting: first.bytes, corrupt: true)),
            ("truncated quote", BalancerHarness.unreachable(from: router, to: world.appliance, quoting: first.bytes, quoted: 7)),
            ("not unreachable", BalancerHarness.unreachable(from: router, to: world.appliance, quoting: first.bytes,
                                                             type: ICMPv4Message.MessageType.timeExceeded, code: 0)),
        ]
        for (name, packet) in forgeries {
            #expect(world.fromBackend(packet).verdict == .notOurs, "\(name)")
        }
        let after = world.balancer.tracker.entries[before]
        #expect(after.state == .synSent && after.backendPort == entry.backendPort && after.backend == entry.backend)
        #expect(world.service.statistics.connectRefused == 0 && world.service.statistics.redispatched == 0)
        // A reset that does not acknowledge the SYN, or with a bad checksum, does not refuse it either.
        #expect(world.refuse(backendPort: first.destinationPort, snatPort: first.sourcePort, isn: Self.isn &+ 5).verdict == .drop)
        #expect(world.refuse(backendPort: first.destinationPort, snatPort: first.sourcePort, isn: Self.isn, corrupt: true).verdict == .drop)
        #expect(world.balancer.tracker.entries[before].backendPort == entry.backendPort)
        #expect(world.service.statistics.connectRefused == 0 && world.service.statistics.redispatched == 0)
    }

    /// A silent backend: at the connect timeout the SYN goes to the next
    /// one, within the tick; with every retry spent the client gets a
    /// reset it accepts (seq 0, ack ISN+1) and the flow is gone.
    @Test func unansweredSYNsMoveOnAtTheConnectTimeoutAndFinallyResetTheClient() throws {
        let world = BalancerHarness(backends: 4, retries: 2, connectTimeout: .milliseconds(500))
        let start = world.now
        let first = world.openFlow(port: 40_003, isn: Self.isn)
        var tried: Set<UInt16> = [first.destinationPort]
        world.now = start + .milliseconds(499)
        #expect(world.expireConnects().isEmpty && !world.balancer.connectDue(now: world.now))
        for round in 1...2 {
            world.now = start + .milliseconds(500 * UInt64(round))
            #expect(world.balancer.connectDue(now: world.now))
            let sent = world.expireConnects()
            #expect(sent.count == 1)
            let next = try expectResentSYN(try #require(sent.first), in: world, snatPort: first.sourcePort, notTo: tried)
            tried.insert(next)
        }
        #expect(tried.count == 3)
        #expect(world.service.statistics.connectTimeouts == 2 && world.service.statistics.redispatched == 2)
        world.now = start + .milliseconds(1500)
        let final = try #require(world.expireConnects().first)
        #expect(final.verdict == .send(to: BalancerHarness.client, length: 40))
        let reset = try SentPacket(final.bytes)
        #expect(reset.source == world.vip && reset.sourcePort == 80 && reset.destinationPort == 40_003)
        #expect(reset.flags == [.rst, .ack] && reset.sequence == 0 && reset.acknowledgment == Self.isn &+ 1)
        #expect(reset.checksumsValid)
        #expect(world.service.statistics.connectTimeouts == 3 && world.service.statistics.failedConnects == 1)
        let last = try #require(world.service.backends.first { $0.statistics.failedConnects == 1 })
        #expect(tried.contains(last.configuration.port) && last.statistics.connectTimeouts == 1)
        #expect(world.balancer.tracker.count == 0 && world.balancer.tracker.attempts.count == 0)
        world.now = start + .seconds(30)
        #expect(world.expireConnects().isEmpty)
    }

    /// `retries 2` with four backends that all refuse: three backends
    /// tried, each once, then the last backend's reset reaches the client.
    @Test func theRetryBoundHoldsAndThenTheClientGetsTheReset() throws {
        let world = BalancerHarness(backends: 4, retries: 2)
        let first = world.openFlow(port: 40_004, isn: Self.isn)
        var current = first.destinationPort
        var tried: Set<UInt16> = [current]
        for _ in 0..<2 {
            current = try expectResentSYN(world.refuse(backendPort: current, snatPort: first.sourcePort, isn: Self.isn), in: world,
                                          snatPort: first.sourcePort, notTo: tried)
            tried.insert(current)
        }
        let final = world.refuse(backendPort: current, snatPort: first.sourcePort, isn: Self.isn)
        #expect(final.verdict == .forward(to: BalancerHarness.client))
        let reset = try SentPacket(final.bytes)
        #expect(reset.source == world.vip && reset.sourcePort == 80 && reset.flags.contains(.rst) && reset.checksumsValid)
        #expect(world.service.statistics.redispatched == 2 && world.service.statistics.connectRefused == 3)
        #expect(world.service.statistics.failedConnects == 1)
        #expect(world.service.backends.filter { $0.statistics.connectRefused == 1 }.count == 3)
        #expect(world.balancer.tracker.attempts.count == 0)
    }

    /// With every other backend tried, the client gets the reset before the retries are spent.
    @Test func noUntriedBackendLeftEndsTheRetriesEarly() throws {
        let world = BalancerHarness(backends: 2, retries: 5)
        let first = world.openFlow(port: 40_005, isn: Self.isn)
        let second = try expectResentSYN(world.refuse(backendPort: first.destinationPort, snatPort: first.sourcePort, isn: Self.isn),
                                         in: world, snatPort: first.sourcePort, notTo: [first.destinationPort])
        #expect(world.refuse(backendPort: second, snatPort: first.sourcePort, isn: Self.isn).verdict
            == .forward(to: BalancerHarness.client))
        #expect(world.service.statistics.redispatched == 1 && world.service.statistics.failedConnects == 1)
        // A silent lone backend: the client is reset at the connect timeout.
        let lone = BalancerHarness(backends: 1, retries: 2)
        _ = lone.openFlow(port: 40_006, isn: Self.isn)
        lone.now = lone.now + .seconds(1)
        let sent = lone.expireConnects()
        #expect(sent.count == 1 && sent.first?.verdict == .send(to: BalancerHarness.client, length: 40))
        #expect(lone.service.statistics.failedConnects == 1 && lone.service.statistics.redispatched == 0)
    }

    /// `retries 0` is redispatch off: the backend's reset reaches the
    /// client, ICMP errors and silence leave the flow to the client's own
    /// retransmissions (counted, nothing sent).
    @Test func retriesZeroKeepsTheRefusalAndTheFlowAsTheyWere() throws {
        let world = BalancerHarness(retries: 0)
        let refused = world.openFlow(port: 40_007, isn: Self.isn)
        let reset = world.refuse(backendPort: refused.destinationPort, snatPort: refused.sourcePort, isn: Self.isn)
        #expect(reset.verdict == .forward(to: BalancerHarness.client))
        #expect(world.service.statistics.failedConnects == 1 && world.service.statistics.redispatched == 0)
        let silent = world.openFlow(port: 40_008, isn: Self.isn)
        let icmp = BalancerHarness.unreachable(from: world.backendHost, to: world.appliance, quoting: silent.bytes)
        #expect(world.fromBackend(icmp).verdict == .notOurs, "left to the stack, as without a balancer")
        _ = world.openFlow(port: 40_011, isn: Self.isn)
        world.now = world.now + .seconds(2)
        #expect(world.expireConnects().isEmpty)
        #expect(world.balancer.tracksClient(BalancerHarness.client, port: 40_011, servicePort: 80, protocolNumber: 6))
        let entry = try #require(world.balancer.tracker.lookupClient(BalancerHarness.client, 40_008, world.vip, 80, protocolNumber: 6))
        #expect(world.balancer.tracker.entries[entry].state == .synSent)
        #expect(world.balancer.tracker.entries[entry].backendPort == silent.destinationPort)
        #expect(world.service.statistics.connectRefused == 2 && world.service.statistics.connectTimeouts == 1)
        #expect(world.service.statistics.failedConnects == 1 && world.balancer.tracker.attempts.count == 0)
        // The client's retransmitted SYN still goes to the same backend.
        #expect(world.openFlow(port: 40_008, isn: Self.isn).destinationPort == silent.destinationPort)
    }

    /// During a retry the client's retransmitted SYN follows the flow to
    /// its current backend, and its RST ends the flow and its attempt.
    @Test func clientSegmentsDuringARetryFollowTheFlow() throws {
        let world = BalancerHarness(retries: 2)
        let first = world.openFlow(port: 40_009, isn: Self.isn)
        let current = try expectResentSYN(world.refuse(backendPort: first.destinationPort, snatPort: first.sourcePort, isn: Self.isn),
                                          in: world, snatPort: first.sourcePort, notTo: [first.destinationPort])
        let again = world.openFlow(port: 40_009, isn: Self.isn)
        #expect(again.forwarded && again.destinationPort == current && again.sourcePort == first.sourcePort)
        let flow = try #require(world.balancer.tracker.lookupClient(BalancerHarness.client, 40_009, world.vip, 80, protocolNumber: 6))
        #expect(world.balancer.tracker.entries[flow].state == .synSent && world.balancer.tracker.attempts.count == 1)
        let rst = world.fromClient(BalancerHarness.packet(from: BalancerHarness.client, 40_009, to: world.vip, 80, flags: [.rst],
                                                          seq: Self.isn &+ 1, ack: 0))
        #expect(rst.forwarded && rst.destinationPort == current)
        #expect(world.balancer.tracker.entries[flow].state == .closed && world.balancer.tracker.attempts.count == 0)
        world.now = world.now + .seconds(5)
        #expect(world.expireConnects().isEmpty)
        #expect(world.service.statistics.failedConnects == 0 && world.service.statistics.redispatched == 1)
    }

    /// A client FIN (or data) before the handshake goes to the current
    /// backend and neither ends the attempt nor stops the redispatch.
    @Test func aClientFINDuringARetryGoesToTheCurrentBackend() throws {
        let world = BalancerHarness(retries: 2)
        let first = world.openFlow(port: 40_012, isn: Self.isn)
        let current = try expectResentSYN(world.refuse(backendPort: first.destinationPort, snatPort: first.sourcePort, isn: Self.isn),
                                          in: world, snatPort: first.sourcePort, notTo: [first.destinationPort])
        let fin = world.fromClient(BalancerHarness.packet(from: BalancerHarness.client, 40_012, to: world.vip, 80, flags: [.fin, .psh],
                                                          seq: Self.isn &+ 1, ack: 0, payload: 10))
        #expect(fin.forwarded && fin.destinationPort == current && fin.sourcePort == first.sourcePort)
        let flow = try #require(world.balancer.tracker.lookupClient(BalancerHarness.client, 40_012, world.vip, 80, protocolNumber: 6))
        #expect(world.balancer.tracker.entries[flow].state == .synSent && world.balancer.tracker.attempts.count == 1)
        world.now = world.now + .seconds(1)
        let next = try expectResentSYN(try #require(world.expireConnects().first), in: world, snatPort: first.sourcePort,
                                       notTo: [first.destinationPort, current])
        #expect(world.balancer.tracker.entries[flow].backendPort == next)
    }

    /// A backend that resets after its SYN-ACK did connect: the reset is
    /// the client's, nothing is redispatched.
    @Test func aResetAfterTheSYNACKIsNotAConnectFailure() throws {
        let world = BalancerHarness(retries: 2)
        var connection = try #require(world.syn(from: BalancerHarness.client, port: 40_010, isn: Self.isn))
        #expect(world.synAck(&connection, isn: 4242))
        let reset = world.backendSends(&connection, flags: [.rst, .ack])
        #expect(reset.verdict == .forward(to: BalancerHarness.client))
        #expect(world.service.statistics.redispatched == 0 && world.service.statistics.connectRefused == 0)
        #expect(world.entry(connection)?.state == .closed)
        world.now = world.now + .seconds(5)
        #expect(world.expireConnects().isEmpty, "no connect deadline once the backend answered")
    }

    @Test func evictingAHalfOpenFlowInRetryFreesItsSlot() throws {
        let world = BalancerHarness(halfOpenLimit: 4, retries: 2)
        let oldest = world.openFlow(port: 41_000, isn: Self.isn)
        _ = try expectResentSYN(world.refuse(backendPort: oldest.destinationPort, snatPort: oldest.sourcePort, isn: Self.isn),
                                in: world, snatPort: oldest.sourcePort, notTo: [oldest.destinationPort])
        for port in UInt16(41_001)...41_004 { #expect(world.openFlow(port: port, isn: Self.isn).forwarded) }
        #expect(world.balancer.tracker.counters[.halfOpenEvicted] == 1)
        #expect(world.balancer.tracker.attempts.count == 4 && world.balancer.tracker.halfOpenCount == 4)
        #expect(!world.balancer.tracksClient(BalancerHarness.client, port: 41_000, servicePort: 80, protocolNumber: 6))
    }

    @Test func disablingTheBackendOfAFlowInRetryForgetsItAndTheNextPickSkipsDisabledOnes() throws {
        let world = BalancerHarness(backends: 4, retries: 3)
        let first = world.openFlow(port: 41_100, isn: Self.isn)
        let current = try expectResentSYN(world.refuse(backendPort: first.destinationPort, snatPort: first.sourcePort, isn: Self.isn),
                                          in: world, snatPort: first.sourcePort, notTo: [first.destinationPort])
        let backend = try #require(world.service.backends.first { $0.configuration.port == current })
        world.balancer.setAdministrative(.disabled, service: world.service, backend: backend)
        #expect(world.balancer.tracker.count == 0 && world.balancer.tracker.attempts.count == 0)
        world.now = world.now + .seconds(5)
        #expect(world.expireConnects().isEmpty)
        // A disabled backend is never the next one.
        let second = world.openFlow(port: 41_101, isn: Self.isn)
        var tried: Set<UInt16> = [second.destinationPort, current]
        var port = second.destinationPort
        for _ in 0..<2 {
            port = try expectResentSYN(world.refuse(backendPort: port, snatPort: second.sourcePort, isn: Self.isn), in: world,
                                       snatPort: second.sourcePort, notTo: tried)
            tried.insert(port)
        }
        #expect(world.refuse(backendPort: port, snatPort: second.sourcePort, isn: Self.isn).verdict
            == .forward(to: BalancerHarness.client), "the only untried backend is disabled")
    }

    /// Thousands of flows refused, timed out and completed leave the slot
    /// pool empty and the table as it was: nothing grows.
    @Test func theSlotPoolReturnsToEmptyAfterThousandsOfRetriedFlows() throws {
        // Passive health off: every backend must stay UP through thousands of refusals.
        let world = BalancerHarness(capacity: 4096, halfOpenLimit: 512, retries: 2, errorLimit: 0)
        let capacity = world.balancer.tracker.attempts.capacity
        for round in 0..<3000 {
            let port = UInt16(10_000 + round)
            let isn = UInt32(round) &* 2_654_435_761
            let first = world.fromClient(BalancerHarness.clientSYN(port: port, isn: isn, to: world.vip))
            var backendPort = first.destinationPort
            if round % 2 == 0 {
                let resent = world.refuse(backendPort: backendPort, snatPort: first.sourcePort, isn: isn)
                guard case .send = resent.verdict else {
                    Issue.record("round \(round): \(resent.verdict)")
                    break
                }
                backendPort = resent.destinationPort
            } else if round % 3 == 0 {
                world.now = world.now + .seconds(1)
                backendPort = try #require(world.expireConnects().first).destinationPort
            }
            var connection = BalancerHarness.Connection(client: BalancerHarness.client, clientPort: port, clientNext: isn &+ 1,
                                                        backendPort: backendPort, snatPort: first.sourcePort)
            #expect(world.synAck(&connection, isn: isn ^ 0x5555))
            world.clientSends(&connection)
            world.clientSends(&connection, flags: [.rst, .ack])
            #expect(world.balancer.tracker.attempts.count == 0)
        }
        world.now = world.now + .seconds(60)
        world.balancer.sweep(now: world.now, budget: 4096)
        #expect(world.balancer.tracker.count == 0 && world.balancer.tracker.attempts.count == 0)
        #expect(world.balancer.tracker.attempts.capacity == capacity)
        #expect(world.service.statistics.redispatched == 2000 && world.service.statistics.failedConnects == 0)
    }
}
