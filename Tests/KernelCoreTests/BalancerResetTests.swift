import Testing
@testable import KernelCore

/// `reset-counters` zeroes cumulative totals only: gauges, per-flow
/// accounting and limits keep agreeing with the connection table.
@Suite struct BalancerResetTests {
    /// Traffic, a reset, then the once-a-second rate update: the rate's
    /// baseline must restart with the totals it is subtracted from.
    @Test func aResetAfterTrafficKeepsTheConnectionRateSane() throws {
        let world = BalancerHarness()
        world.balancer.sweep(now: world.now)
        for port in 0..<3 { _ = try #require(world.connect(port: UInt16(3000 + port))) }
        world.now = world.now + .seconds(1)
        world.balancer.sweep(now: world.now)
        #expect(world.service.statistics.connectionRate == 3)
        world.balancer.resetStatistics()
        #expect(world.service.statistics.totalConnections == 0 && world.service.statistics.activeConnections == 3)
        world.now = world.now + .seconds(1)
        world.balancer.sweep(now: world.now)
        #expect(world.service.statistics.connectionRate == 0)
        for port in 0..<2 { _ = try #require(world.connect(port: UInt16(4000 + port))) }
        world.now = world.now + .seconds(1)
        world.balancer.sweep(now: world.now)
        #expect(world.service.statistics.connectionRate == 2)
        #expect(world.service.statistics.activeConnections == 5)
    }

    @Test func aResetKeepsGaugesAndZeroesTotals() throws {
        let world = BalancerHarness(maximumConnections: 2)
        _ = try #require(world.syn(from: IPv4Address(198, 51, 100, 3), port: 3, isn: 1))
        _ = try #require(world.syn(from: IPv4Address(198, 51, 100, 3), port: 4, isn: 1))
        var first = try #require(world.connect(port: 1))
        _ = try #require(world.connect(port: 2))
        #expect(world.connect(port: 5) == nil, "refused at the limit of two established connections")
        world.clientSends(&first, flags: [.rst], seqOffset: 0x4000_0000)
        world.balancer.resetStatistics()
        let tracker = world.balancer.tracker
        #expect(tracker.counters == ConnectionTracker.Counters() && world.balancer.counters == LoadBalancer.Counters())
        #expect(tracker.count == 4 && tracker.halfOpenCount == 2, "gauges are not counters")
        #expect(world.service.statistics.activeConnections == 2 && world.service.statistics.maximumConnectionsSeen == 2)
        #expect(world.connect(port: 6) == nil, "the limit still counts the open connections")
        world.clientSends(&first, flags: [.rst, .ack])
        #expect(world.service.statistics.activeConnections == 1)
        #expect(world.connect(port: 7) != nil)
    }

    /// Random traffic in every flow state, resets, sweeps, disables and
    /// drains at random points: afterwards each backend's and service's
    /// active count equals the open flows the table holds for it, the
    /// half-open gauge equals the half-open flows, and nothing traps.
    @Test(arguments: [1, 2, 3, 4, 5, 6] as [UInt64])
    func countersAgreeWithTheTableWhateverTheResets(seed: UInt64) throws {
        var random = SplitMix(state: seed)
        let world = BalancerHarness(capacity: 256, maximumConnections: 60, backendLimit: 30, halfOpenLimit: 40,
                                    algorithm: seed % 2 == 0 ? .leastConnections : .roundRobin)
        var connections: [BalancerHarness.Connection] = []
        var nextPort: UInt16 = 1
        var resets = 0
        var seen = Set<UInt8>()
        for step in 0..<6_000 {
            if step % 250 == 0 { try expectAgreement(world) }
            let roll = random.next() % 100
            if roll < 25 || connections.isEmpty {
                let client = IPv4Address(192, 0, 2, UInt8(1 + random.next() % 50))
                if let connection = world.syn(from: client, port: nextPort, isn: UInt32(truncatingIfNeeded: random.next())) {
                    connections.append(connection)
                }
                nextPort = nextPort == 60_000 ? 1 : nextPort + 1
            } else {
                let index = Int(random.next() % UInt64(connections.count))
                var connection = connections[index]
                if roll < 60, let entry = world.entry(connection) {
                    // The connection's natural next step, so every state is reached.
                    switch entry.state {
                    case .synSent: world.synAck(&connection, isn: UInt32(truncatingIfNeeded: random.next()))
                    case .synReceived: world.clientSends(&connection)
                    case .established:
                        if random.next() % 3 == 0 {
                            if random.next() % 2 == 0 { world.clientSends(&connection, flags: [.fin, .ack]) } else {
                                world.backendSends(&connection, flags: [.fin, .ack])
                            }
                        } else {
                            world.backendSends(&connection, payload: Int(random.next() % 1400))
                        }
                    case .finWait:
                        if entry.clientFin { world.backendSends(&connection, flags: [.fin, .ack]) } else {
                            world.clientSends(&connection, flags: [.fin, .ack])
                        }
                    case .closing:
                        if entry.backendFin && random.next() % 2 == 0 { world.clientSends(&connection) } else { world.backendSends(&connection) }
                    case .closed:
                        if let again = world.syn(from: connection.client, port: connection.clientPort,
                                                 isn: UInt32(truncatingIfNeeded: random.next())) {
                            connection = again
                        }
                    }
                    seen.insert(entry.state.rawValue)
                    connections[index] = connection
                    continue
                }
                switch roll {
                case 25..<40: world.synAck(&connection, isn: UInt32(truncatingIfNeeded: random.next()))
                case 40..<55: world.clientSends(&connection, payload: Int(random.next() % 500))
                case 55..<62: world.backendSends(&connection, payload: Int(random.next() % 1400))
                case 62..<69: world.clientSends(&connection, flags: [.fin, .ack])
                case 69..<76: world.backendSends(&connection, flags: [.fin, .ack])
                case 76..<80: world.clientSends(&connection, flags: [.rst, .ack])
                case 80..<83: world.backendSends(&connection, flags: [.rst])
                case 83..<86:
                    // Blind or corrupt resets change nothing.
                    world.clientSends(&connection, flags: [.rst], seqOffset: UInt32(truncatingIfNeeded: random.next()) | 0x1000_0000)
                    world.backendSends(&connection, flags: [.rst], corrupt: true)
                case 86..<88:
                    // The client reuses its port for a new connection.
                    if let again = world.syn(from: connection.client, port: connection.clientPort,
                                             isn: UInt32(truncatingIfNeeded: random.next())) {
                        connection = again
                    }
                case 88..<93:
                    world.now = world.now + .milliseconds(random.next() % 4_000)
                    world.balancer.sweep(now: world.now, budget: Int(1 + random.next() % 300))
                case 93..<96:
                    world.balancer.resetStatistics()
                    resets += 1
                    #expect(world.service.statistics.totalConnections == 0)
                case 96..<98:
                    let states: [LoadBalancer.AdministrativeState] = [.enabled, .draining, .disabled]
                    let backend = world.service.backends[Int(random.next() % 3)]
                    world.balancer.setAdministrative(states[Int(random.next() % 3)], service: world.service, backend: backend)
                default:
                    world.now = world.now + .milliseconds(1100)
                    world.balancer.sweep(now: world.now)
                }
                connections[index] = connection
                if connections.count > 400 { connections.removeFirst(100) }
            }
        }
        try expectAgreement(world)
        #expect(resets > 20)
        #expect(seen.count == ConnectionTracker.FlowState.allCases.count, "states visited: \(seen.sorted())")
        // Everything expires in the end, and the counts return to zero with it.
        world.now = world.now + .seconds(1000)
        world.balancer.sweep(now: world.now, budget: 1024)
        try expectAgreement(world)
        #expect(world.balancer.tracker.count == 0 && world.service.statistics.activeConnections == 0)
    }

    private func expectAgreement(_ world: BalancerHarness) throws {
        let tracker = world.balancer.tracker
        var open = [Int](repeating: 0, count: world.service.backends.count)
        var halfOpen = 0
        var inUse = 0
        for entry in tracker.entries where entry.inUse {
            inUse += 1
            if entry.state.isOpen { open[Int(entry.backendIndex)] += 1 }
            if entry.state.isHalfOpen { halfOpen += 1 }
        }
        #expect(tracker.count == inUse)
        #expect(tracker.halfOpenCount == halfOpen && halfOpen <= tracker.halfOpenLimit)
        for (index, backend) in world.service.backends.enumerated() {
            #expect(backend.statistics.activeConnections == open[index], "backend \(index)")
            #expect(backend.statistics.maximumConnectionsSeen >= backend.statistics.activeConnections)
        }
        #expect(world.service.statistics.activeConnections == open.reduce(0, +))
        #expect(world.service.statistics.activeConnections >= 0)
    }
}
