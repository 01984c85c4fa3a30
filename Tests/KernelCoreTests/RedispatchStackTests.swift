import Testing
@testable import KernelCore

/// SYN redispatch through the network stack: what leaves the private and
/// public NICs when a backend refuses, rejects or ignores a SYN, and that
/// every buffer goes back to the pool.
@Suite struct RedispatchStackTests {
    static let isn = BalancerFixture.clientISN

    func packet(_ frame: [UInt8]?) throws -> SentPacket {
        try SentPacket(Array(try #require(frame)[EthernetFrame.headerLength...]))
    }

    func resentSYN(_ world: BalancerFixture) throws -> SentPacket {
        try packet(world.fixture.device(.private).sent.popLast())
    }

    @Test func refusalsSendTheSYNOnThePrivateNICUntilTheLastResetReachesTheClient() throws {
        let world = BalancerFixture()
        var syn = try packet(world.fromClient(port: 61_100, flags: [.syn]))
        let snatPort = syn.sourcePort
        var tried: Set<UInt16> = [syn.destinationPort]
        for _ in 0..<2 {
            let toClient = world.fromBackend(port: syn.destinationPort, snatPort: snatPort, flags: [.rst, .ack], seq: 0, ack: Self.isn + 1)
            #expect(toClient == nil, "the client does not see the refusal")
            syn = try resentSYN(world)
            #expect(syn.flags == [.syn] && syn.sequence == Self.isn && syn.sourcePort == snatPort && syn.checksumsValid)
            #expect(syn.source == IPv4Address(10, 0, 3, 15) && syn.destination == world.backendHost)
            #expect(!tried.contains(syn.destinationPort))
            tried.insert(syn.destinationPort)
        }
        let reset = try packet(world.fromBackend(port: syn.destinationPort, snatPort: snatPort, flags: [.rst, .ack], seq: 0,
                                                 ack: Self.isn + 1))
        #expect(reset.destination == world.client && reset.destinationPort == 61_100 && reset.sourcePort == 80)
        #expect(reset.flags.contains(.rst) && reset.checksumsValid)
        let statistics = world.balancer.services[0].statistics
        #expect(statistics.redispatched == 2 && statistics.connectRefused == 3 && statistics.failedConnects == 1)
        #expect(world.fixture.allBuffersReturned)
    }

    @Test func theConnectTimeoutFiresOnTheHooksTick() throws {
        let world = BalancerFixture()
        let hook = try #require(world.fixture.stack.inbound.hooks.compactMap { $0 as? BalancerHook }.first)
        let forwarded = try packet(world.fromClient(port: 61_200, flags: [.syn]))
        hook.tick(stack: world.fixture.stack, now: world.now + .milliseconds(999))
        #expect(world.fixture.device(.private).sent.isEmpty)
        hook.tick(stack: world.fixture.stack, now: world.now + .seconds(1))
        let syn = try resentSYN(world)
        #expect(syn.flags == [.syn] && syn.sequence == Self.isn && syn.sourcePort == forwarded.sourcePort && syn.checksumsValid)
        #expect(syn.destinationPort != forwarded.destinationPort)
        #expect(world.balancer.services[0].statistics.connectTimeouts == 1)
        #expect(world.fixture.allBuffersReturned)
    }

    @Test func anICMPUnreachableOnThePrivateNICRedispatchesAndAForgedOneIsLeftToTheStack() throws {
        let world = BalancerFixture()
        let frame = try #require(world.fromClient(port: 61_300, flags: [.syn]))
        let quote = Array(frame[EthernetFrame.headerLength...])
        let forwarded = try SentPacket(quote)
        func inject(_ quote: [UInt8]) {
            let icmp = BalancerHarness.unreachable(from: world.backendHost, to: IPv4Address(10, 0, 3, 15), quoting: quote)
            world.fixture.device(.private).inject(world.fixture.ipv4Frame(
                to: .private, from: world.backendHost, protocolNumber: IPv4Packet.ProtocolNumber.icmp, payload: Array(icmp[20...])))
            world.fixture.run()
        }
        var forged = quote
        forged[27] ^= 0x80  // another sequence number
        inject(forged)
        #expect(world.fixture.device(.private).sent.isEmpty && world.fixture.stack.counters[.icmpUnsupported] == 1)
        inject(quote)
        let syn = try resentSYN(world)
        #expect(syn.flags == [.syn] && syn.sequence == Self.isn && syn.sourcePort == forwarded.sourcePort && syn.checksumsValid)
        #expect(syn.destinationPort != forwarded.destinationPort)
        #expect(world.balancer.services[0].statistics.connectRefused == 1)
        #expect(world.fixture.stack.counters[.icmpUnsupported] == 1)
        #expect(world.fixture.allBuffersReturned)
    }
}

extension HeapBaseline {
    @Suite struct RedispatchHeapTests {
        /// Flows refused, then left unanswered until the client is reset:
        /// thousands of redispatches leave the heap where it was.
        @Test func redispatchingKeepsNoMemory() {
            // Passive health off: every backend must stay UP through thousands of failures.
            let world = BalancerHarness(capacity: 4096, halfOpenLimit: 512, retries: 2, errorLimit: 0)
            var round: UInt32 = 0
            let growth = heapGrowth(allowance: 16 * 1024) {
                for _ in 0..<1000 {
                    round &+= 1
                    let port = UInt16(truncatingIfNeeded: 1024 + round % 60_000)
                    let isn = round &* 2_654_435_761
                    let first = world.openFlow(port: port, isn: isn)
                    _ = world.refuse(backendPort: first.destinationPort, snatPort: first.sourcePort, isn: isn)
                    for _ in 0..<2 {
                        world.now = world.now + .seconds(1)
                        _ = world.expireConnects()
                    }
                }
            }
            #expect(growth <= 16 * 1024, "grew \(growth) bytes")
            #expect(world.balancer.tracker.count == 0 && world.balancer.tracker.attempts.count == 0)
            #expect(world.service.statistics.redispatched == UInt64(round) * 2 && world.service.statistics.failedConnects == UInt64(round))
        }
    }
}
