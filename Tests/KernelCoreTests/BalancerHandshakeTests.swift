import Testing
@testable import KernelCore

/// A flow is established only by the client's ACK of the backend's
/// SYN-ACK; half-open flows are bounded apart and never count against
/// connection limits.
@Suite struct BalancerHandshakeTests {
    @Test func synAndSynAckWithoutTheClientsAckNeverEstablishAndExpireOnTheSynTimeout() throws {
        let world = BalancerHarness(maximumConnections: 1)
        var half = try #require(world.syn(from: IPv4Address(203, 0, 113, 9), port: 4000, isn: 77))
        #expect(world.synAck(&half, isn: 555))
        let entry = try #require(world.entry(half))
        #expect(entry.state == .synReceived)
        #expect(entry.expires == world.now + world.balancer.tracker.timeouts.syn, "a half-open flow keeps the syn timeout")
        #expect(world.service.statistics.activeConnections == 0 && world.service.statistics.totalConnections == 0)
        #expect(world.balancer.tracker.halfOpenCount == 1)
        // Retransmitted SYN-ACKs do not establish it either.
        world.now = world.now + .seconds(3)
        #expect(world.synAck(&half, isn: 555))
        #expect(world.entry(half)?.state == .synReceived)
        // The limit of one connection is not taken by the half-open flow.
        let real = try #require(world.connect(port: 5000))
        #expect(world.entry(real)?.state == .established)
        #expect(world.service.statistics.activeConnections == 1)
        #expect(world.balancer.tracker.halfOpenCount == 1)
        // A blind ACK that does not acknowledge the SYN-ACK does not complete the handshake.
        var forged = half
        forged.backendNext = 556 &+ 40_000
        world.clientSends(&forged)
        #expect(world.entry(half)?.state == .synReceived)
        world.balancer.sweep(now: world.now + .seconds(10), budget: 1024)
        #expect(world.entry(half) == nil, "expired on the syn timeout")
        #expect(world.entry(real)?.state == .established)
        #expect(world.balancer.tracker.halfOpenCount == 0 && world.balancer.tracker.count == 1)
        #expect(world.service.statistics.activeConnections == 1)
    }

    @Test func maxConnectionsCountsEstablishedFlowsOnly() throws {
        let world = BalancerHarness(maximumConnections: 3)
        for port in 0..<20 {
            var half = try #require(world.syn(from: IPv4Address(198, 51, 100, 1), port: UInt16(1000 + port), isn: 1))
            world.synAck(&half, isn: 9)
        }
        var open: [BalancerHarness.Connection] = []
        for port in 0..<3 { open.append(try #require(world.connect(port: UInt16(2000 + port)))) }
        #expect(world.connect(port: 2003) == nil, "the fourth established connection is over the limit")
        #expect(world.balancer.counters[.serviceLimit] == 1)
        // Closing one frees its slot.
        world.clientSends(&open[0], flags: [.fin, .ack])
        world.backendSends(&open[0], flags: [.fin, .ack])
        world.clientSends(&open[0])
        #expect(world.entry(open[0])?.state == .closed)
        #expect(world.service.statistics.activeConnections == 2)
        #expect(world.connect(port: 2004) != nil)
    }

    @Test func pastTheHalfOpenBoundTheOldestHalfOpenFlowIsEvicted() throws {
        let world = BalancerHarness(capacity: 64, halfOpenLimit: 8)
        var first = try #require(world.syn(from: IPv4Address(198, 51, 100, 1), port: 1, isn: 1))
        world.synAck(&first, isn: 9)
        for port in 2...8 { _ = try #require(world.syn(from: IPv4Address(198, 51, 100, 1), port: UInt16(port), isn: 1)) }
        #expect(world.balancer.tracker.halfOpenCount == 8 && world.balancer.tracker.counters[.halfOpenEvicted] == 0)
        let freedPort = try #require(world.entry(first)).snatPort
        let ninth = try #require(world.syn(from: IPv4Address(198, 51, 100, 1), port: 9, isn: 1))
        #expect(world.entry(first) == nil, "the oldest half-open flow made room")
        #expect(world.balancer.tracker.counters[.halfOpenEvicted] == 1 && world.balancer.tracker.halfOpenCount == 8)
        #expect(ninth.snatPort != freedPort, "a freed SNAT port is reused last")
        // Its backend's late SYN-ACK finds no flow.
        #expect(world.fromBackend(BalancerHarness.packet(
            from: world.backendHost, first.backendPort, to: world.appliance, first.snatPort, flags: [.syn, .ack], seq: 9,
            ack: 2)).verdict == .notOurs)
        // Established flows are never evicted.
        let kept = try #require(world.connect(port: 100))
        for port in 200..<260 { _ = world.syn(from: IPv4Address(198, 51, 100, 2), port: UInt16(port), isn: 1) }
        #expect(world.entry(kept)?.state == .established)
        #expect(world.balancer.tracker.halfOpenCount <= 8)
    }

    @Test func aFullTableEvictsHalfOpenFlowsBeforeRefusing() throws {
        let world = BalancerHarness(capacity: 16, halfOpenLimit: 8)
        for port in 0..<12 { _ = try #require(world.connect(port: UInt16(port))) }
        for port in 100..<104 { _ = try #require(world.syn(from: IPv4Address(198, 51, 100, 1), port: UInt16(port), isn: 1)) }
        #expect(world.balancer.tracker.count == 16 && world.balancer.tracker.halfOpenCount == 4)
        for port in 12..<16 { #expect(world.connect(port: UInt16(port)) != nil, "a new SYN displaces the oldest half-open flow") }
        #expect(world.balancer.tracker.counters[.tableFull] == 0 && world.balancer.tracker.counters[.halfOpenEvicted] == 4)
        #expect(world.connect(port: 16) == nil, "with every flow established, a full table refuses")
        #expect(world.balancer.tracker.counters[.tableFull] == 1 && world.service.statistics.activeConnections == 16)
    }

    @Test func aSegmentWhoseHeaderDoesNotFitOpensNoFlow() {
        let world = BalancerHarness()
        var bytes = BalancerHarness.packet(from: IPv4Address(192, 0, 2, 9), 4100, to: world.vip, 80, flags: [.syn], seq: 1, ack: 0)
        bytes[32] = 0xF0  // a 60-byte TCP header in a 20-byte segment
        #expect(world.fromClient(bytes).verdict == .notOurs)
        #expect(world.balancer.tracker.count == 0 && world.balancer.tracker.counters[.flowsCreated] == 0)
    }

    /// 30,000 SYNs from spoofed sources at 1,000/s of simulated time, each
    /// answered by the backend, interleaved with 300 real clients that
    /// complete their handshakes one round trip later, under a
    /// `max-connections` the flood alone would fill many times over.
    @Test func aSpoofedSynFloodLeavesRealClientsServed() throws {
        let world = BalancerHarness(capacity: 4096, maximumConnections: 200)
        let halfOpenLimit = world.balancer.tracker.halfOpenLimit
        var random = SplitMix(state: 14)
        var succeeded = 0
        var attempted = 0
        var open: [BalancerHarness.Connection] = []
        for synIndex in 0..<30_000 {
            world.now = world.now + .milliseconds(1)
            let source = IPv4Address(value: 0xC633_0000 | UInt32(truncatingIfNeeded: random.next() & 0xFFFF))
            if var spoofed = world.syn(from: source, port: UInt16(truncatingIfNeeded: random.next() | 1024),
                                       isn: UInt32(truncatingIfNeeded: random.next())) {
                // The backend answers; the SYN-ACK goes to a host that never replies.
                world.synAck(&spoofed, isn: UInt32(truncatingIfNeeded: random.next()))
            }
            if synIndex % 10 == 0 { world.balancer.sweep(now: world.now, budget: 1024) }
            guard synIndex % 100 == 50 else { continue }
            // A real client: SYN, then the SYN-ACK and its ACK a round trip (1 ms, with one spoofed SYN in between) later.
            attempted += 1
            let client = IPv4Address(192, 0, 2, UInt8(1 + attempted % 200))
            guard var real = world.syn(from: client, port: UInt16(10_000 + attempted), isn: UInt32(attempted) &* 1_000_003) else { continue }
            world.now = world.now + .microseconds(500)
            if var between = world.syn(from: IPv4Address(198, 51, 100, 99), port: UInt16(truncatingIfNeeded: random.next() | 1024), isn: 5) {
                world.synAck(&between, isn: 6)
            }
            guard world.synAck(&real, isn: UInt32(attempted) &* 7_919) else { continue }
            world.now = world.now + .microseconds(500)
            guard world.clientSends(&real, payload: 100).forwarded, world.entry(real)?.state == .established else { continue }
            succeeded += 1
            open.append(real)
            // Half the real connections finish; the rest stay open.
            if attempted % 2 == 0 {
                world.clientSends(&real, flags: [.fin, .ack])
                world.backendSends(&real, flags: [.fin, .ack])
                world.clientSends(&real)
                open.removeLast()
            }
            #expect(world.balancer.tracker.halfOpenCount <= halfOpenLimit)
        }
        #expect(attempted == 300)
        #expect(Double(succeeded) >= 0.99 * Double(attempted), "\(succeeded) of \(attempted) real clients got through")
        #expect(world.service.statistics.activeConnections == open.count, "only completed handshakes count")
        #expect(world.balancer.tracker.counters[.halfOpenEvicted] > 0, "the flood reached the half-open bound")
        #expect(world.balancer.tracker.counters[.tableFull] == 0 && world.balancer.counters[.serviceLimit] == 0)
        for connection in open { #expect(world.entry(connection)?.state == .established) }
    }
}
