import Testing
@testable import KernelCore

/// RST and FIN act on a balanced flow only inside its sequence window and
/// with a valid checksum; the rest are dropped and counted.
@Suite struct BalancerWindowTests {
    @Test(arguments: [true, false])
    func blindResetsLeaveTheFlowEstablished(fromClientSide: Bool) throws {
        let world = BalancerHarness()
        var connection = try #require(world.connect(port: 7000))
        world.clientSends(&connection, flags: [.ack, .psh], payload: 300)
        world.backendSends(&connection, flags: [.ack, .psh], payload: 1200)
        func send(_ flags: TCPSegment.Flags, seqOffset: UInt32 = 0, corrupt: Bool = false) -> BalancerHarness.Outcome {
            fromClientSide
                ? world.clientSends(&connection, flags: flags, seqOffset: seqOffset, corrupt: corrupt)
                : world.backendSends(&connection, flags: flags, seqOffset: seqOffset, corrupt: corrupt)
        }
        // A guessed sequence number, far outside the window (seq 12345 style).
        let blind = send([.rst], seqOffset: 0x4000_0000)
        #expect(blind.verdict == .drop, "an out-of-window RST is not forwarded")
        #expect(world.entry(connection)?.state == .established)
        #expect(world.balancer.tracker.counters[.outOfWindow] == 1)
        // In the window, but with a wrong checksum.
        let corrupt = send([.rst], corrupt: true)
        #expect(corrupt.verdict == .drop)
        #expect(world.entry(connection)?.state == .established)
        #expect(world.balancer.counters[.badChecksum] == 1)
        #expect(world.service.statistics.activeConnections == 1)
        #expect(world.entry(connection)?.expires == world.now + world.balancer.tracker.timeouts.established)
        // The genuine article closes it.
        let genuine = send([.rst, .ack])
        #expect(genuine.forwarded)
        #expect(world.entry(connection)?.state == .closed)
        #expect(world.service.statistics.activeConnections == 0)
        #expect(world.balancer.tracker.counters[.outOfWindow] == 1 && world.balancer.counters[.badChecksum] == 1)
    }

    @Test(arguments: [true, false])
    func finsOutsideTheWindowOrWithBadChecksumsAreDropped(fromClientSide: Bool) throws {
        let world = BalancerHarness()
        var connection = try #require(world.connect(port: 7100))
        func send(_ flags: TCPSegment.Flags, seqOffset: UInt32 = 0, corrupt: Bool = false) -> BalancerHarness.Outcome {
            fromClientSide
                ? world.clientSends(&connection, flags: flags, seqOffset: seqOffset, corrupt: corrupt)
                : world.backendSends(&connection, flags: flags, seqOffset: seqOffset, corrupt: corrupt)
        }
        #expect(send([.fin, .ack], seqOffset: 0x8000_0000).verdict == .drop)
        #expect(send([.fin, .ack], seqOffset: 200_000).verdict == .drop, "past the receiver's window")
        #expect(world.balancer.tracker.counters[.outOfWindow] == 2)
        #expect(send([.fin, .ack], corrupt: true).verdict == .drop)
        #expect(world.balancer.counters[.badChecksum] == 1)
        #expect(world.entry(connection)?.state == .established)
        #expect(world.entry(connection)?.clientFin == false && world.entry(connection)?.backendFin == false)
        #expect(send([.fin, .ack]).forwarded)
        #expect(world.entry(connection)?.state == .finWait)
        #expect(world.service.statistics.activeConnections == 1, "a half-closed connection is still open")
    }

    /// RFC 5961: an in-window RST not at the receiver's next expected byte
    /// gets a challenge ACK from the backend, which carries on; the flow
    /// (and its connection count) must carry on too.
    @Test func inexactClientResetPassesButLeavesTheFlowOpen() throws {
        let world = BalancerHarness()
        var connection = try #require(world.connect(port: 7200))
        world.clientSends(&connection, flags: [.ack, .psh], payload: 300)
        world.backendSends(&connection, flags: [.ack, .psh], payload: 1200)
        let expires = try #require(world.entry(connection)).expires
        world.now = world.now + .seconds(5)
        func active() -> Int { world.service.backends.reduce(0) { $0 + $1.statistics.activeConnections } }
        // Inside the window, 40000 past the backend's next expected byte.
        let blind = world.clientSends(&connection, flags: [.rst, .ack], seqOffset: 40_000)
        #expect(blind.forwarded, "the backend answers it with a challenge ACK")
        #expect(world.entry(connection)?.state == .established)
        #expect(world.entry(connection)?.expires == expires, "nor does it keep the flow alive")
        #expect(world.service.statistics.activeConnections == 1 && active() == 1)
        #expect(world.balancer.tracker.counters[.resetInexact] == 1 && world.balancer.tracker.counters[.outOfWindow] == 0)
        // Data the backend has not acknowledged: a RST just past it is not at the backend's next byte either.
        world.clientSends(&connection, flags: [.ack, .psh], payload: 500)
        #expect(world.clientSends(&connection, flags: [.rst, .ack]).forwarded)
        #expect(world.entry(connection)?.state == .established && world.balancer.tracker.counters[.resetInexact] == 2)
        // Once acknowledged, the RST at exactly the backend's next byte closes the flow.
        world.backendSends(&connection)
        #expect(world.clientSends(&connection, flags: [.rst, .ack]).forwarded)
        #expect(world.entry(connection)?.state == .closed)
        #expect(world.service.statistics.activeConnections == 0 && active() == 0)
        #expect(world.balancer.tracker.counters[.resetInexact] == 2)
    }

    @Test func outOfWindowDataPassesButNeitherMovesNorRefreshesTheFlow() throws {
        let world = BalancerHarness()
        var connection = try #require(world.connect(port: 7200))
        let before = try #require(world.entry(connection))
        world.now = world.now + .seconds(100)
        let stray = world.clientSends(&connection, flags: [.ack], payload: 10, seqOffset: 0x7000_0000)
        #expect(stray.forwarded, "data is the endpoint's to judge")
        let after = try #require(world.entry(connection))
        #expect(after.expires == before.expires && after.clientWindow == before.clientWindow)
        // A forged RST now, aimed at the stray's sequence numbers, is still outside the window.
        #expect(world.clientSends(&connection, flags: [.rst], seqOffset: 0x7000_0000 + 10).verdict == .drop)
        #expect(world.entry(connection)?.state == .established)
    }

    /// With window scaling agreed in the SYNs, a transfer far larger than
    /// the 16-bit window field stays in the window, across the sequence
    /// numbers' wrap, and the FIN that ends it is accepted.
    @Test func scaledWindowsAndSequenceWrapKeepALongTransferInWindow() throws {
        let world = BalancerHarness()
        var connection = try #require(world.syn(from: IPv4Address(192, 0, 2, 50), port: 7300, isn: 0xFFFF_F000, windowScale: 7))
        #expect(world.synAck(&connection, isn: 0xFFFF_FF00, windowScale: 7))
        #expect(world.clientSends(&connection, window: 2048).forwarded)
        #expect(world.entry(connection)?.state == .established)
        // 256 KiB from the backend in 1,400-byte segments, acknowledged every 20 segments.
        for round in 0..<10 {
            for _ in 0..<20 {
                #expect(world.backendSends(&connection, flags: [.ack], payload: 1400).forwarded)
            }
            world.clientSends(&connection, window: 2048)
            _ = round
        }
        let entry = try #require(world.entry(connection))
        #expect(entry.backendWindow.scale == 7 && entry.clientWindow.scale == 7)
        #expect(world.backendSends(&connection, flags: [.fin, .ack]).forwarded)
        #expect(world.clientSends(&connection, flags: [.fin, .ack]).forwarded)
        #expect(world.backendSends(&connection).forwarded)
        #expect(world.entry(connection)?.state == .closed)
        #expect(world.balancer.tracker.counters[.outOfWindow] == 0)
    }

    @Test func withoutScalingAgreedNeitherSideIsScaled() throws {
        let world = BalancerHarness()
        var connection = try #require(world.syn(from: IPv4Address(192, 0, 2, 51), port: 7400, isn: 5, windowScale: 7))
        #expect(world.synAck(&connection, isn: 50))
        let entry = try #require(world.entry(connection))
        #expect(entry.clientWindow.scale == 0 && entry.backendWindow.scale == 0)
    }

    /// The backend refusing the SYN must acknowledge it; a reset that
    /// does not is forged.
    @Test func aRefusingResetMustAcknowledgeTheSyn() throws {
        let world = BalancerHarness()
        let connection = try #require(world.syn(from: IPv4Address(192, 0, 2, 52), port: 7500, isn: 1000))
        let forged = world.fromBackend(BalancerHarness.packet(
            from: world.backendHost, connection.backendPort, to: world.appliance, connection.snatPort, flags: [.rst, .ack],
            seq: 0, ack: 12345))
        #expect(forged.verdict == .drop && world.entry(connection)?.state == .synSent)
        let genuine = world.fromBackend(BalancerHarness.packet(
            from: world.backendHost, connection.backendPort, to: world.appliance, connection.snatPort, flags: [.rst, .ack],
            seq: 0, ack: 1001))
        #expect(genuine.forwarded && world.entry(connection)?.state == .closed)
        #expect(world.service.statistics.failedConnects == 1)
        #expect(world.balancer.tracker.halfOpenCount == 0)
    }
}
