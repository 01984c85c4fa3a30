import Testing
@testable import KernelCore

/// The connection drives its `RTTEstimator` and `CongestionController` from
/// the segments it exchanges: the parts are wired, not only correct alone.
@Suite struct TCPConnectionPartsTests {
    /// Connects the world's client to an echo service on the server.
    func connected(_ world: TCPWorld) throws -> (TCPConnection, TCPTestService) {
        let listener = try #require(world.server.tcp.listen(port: 7, addresses: [world.serverAddress]))
        let service = TCPTestService(kind: .echo, listener: listener)
        let connection = try #require(
            world.client.tcp.connect(from: world.clientAddress, to: world.serverAddress, port: 7, now: world.now))
        #expect(connection.rtt.timeout == .seconds(1), "the initial RTO until a sample")
        world.run(for: .seconds(5)) { connection.state == .established }
        #expect(connection.state == .established)
        // MSS 1460 both ways: IW = min(4 * 1460, max(2 * 1460, 4380)).
        #expect(connection.congestion.window == 4380)
        #expect(connection.congestion.segmentSize == 1460)
        return (connection, service)
    }

    @Test func acknowledgedDataIsTimedAndGrowsTheWindow() throws {
        let world = TCPWorld()
        let (connection, service) = try connected(world)
        let bytes = pattern(64 * 1024)
        let exchange = Exchange(connection, payload: bytes)
        connection.onEvent = { _ in exchange.pump() }
        world.run(for: .seconds(30)) {
            exchange.pump()
            return exchange.received.count >= bytes.count
        }
        #expect(sameBytes(exchange.received, bytes))
        let smoothed = try #require(connection.rtt.smoothed, "acknowledged data gave RTT samples")
        // The simulated round trip is far below the 200 ms floor.
        #expect(smoothed < .milliseconds(50))
        #expect(connection.rtt.timeout == .milliseconds(200))
        #expect(connection.congestion.window > 4380, "slow start grew the window")
        #expect(connection.congestion.slowStartThreshold == 65535, "no loss, no reduction")
        #expect(service.accepted == 1)
    }

    @Test func aLostSegmentTriggersFastRetransmitAndRecovery() throws {
        let world = TCPWorld()
        let (connection, _) = try connected(world)
        let bytes = pattern(256 * 1024)
        let exchange = Exchange(connection, payload: bytes)
        connection.onEvent = { _ in exchange.pump() }
        // Lose one full-sized data segment toward the server once the window is open.
        var dataSegments = 0
        world.copies = { frame, _ in
            guard TCPWorld.isTCP(frame), frame.toServer, frame.bytes.count > 1000 else { return 1 }
            dataSegments += 1
            return dataSegments == 12 ? 0 : 1
        }
        world.run(for: .seconds(60)) {
            exchange.pump()
            return exchange.received.count >= bytes.count
        }
        #expect(sameBytes(exchange.received, bytes))
        #expect(world.client.tcp.counters[.fastRetransmits] == 1)
        #expect(world.client.tcp.counters[.timeouts] == 0)
        #expect(connection.congestion.slowStartThreshold < 65535, "the loss halved the threshold")
        #expect(connection.congestion.slowStartThreshold >= 2 * 1460)
        #expect(!connection.congestion.inFastRecovery, "recovery ended with the full acknowledgment")
    }

    /// A retransmission timeout backs the RTO off and collapses the window.
    @Test func aTimeoutBacksOffAndRestartsFromOneSegment() throws {
        let world = TCPWorld()
        let (connection, _) = try connected(world)
        world.copies = { frame, _ in TCPWorld.isTCP(frame) && frame.toServer ? 0 : 1 }
        let bytes = pattern(8 * 1024)
        _ = bytes.withUnsafeBytes { connection.write($0) }
        let before = connection.rtt.timeout
        world.run(for: before + .milliseconds(1))
        #expect(world.client.tcp.counters[.retransmissions] >= 1)
        #expect(connection.rtt.timeout == Interval(nanoseconds: before.nanoseconds * 2))
        #expect(connection.congestion.window == 1460)
        #expect(connection.congestion.slowStartThreshold == 2 * 1460, "half of 4,380 bytes in flight is under two segments")
    }
}
