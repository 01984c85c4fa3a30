import Testing
@testable import KernelCore

/// A stack with the balancer in front of three backends on the private network.
final class BalancerFixture {
    let fixture = StackFixture()
    let balancer: LoadBalancer
    let client = IPv4Address(10, 0, 2, 2)
    let backendHost = IPv4Address(10, 0, 3, 2)
    var now: Instant { fixture.now }

    init(algorithm: BalancingAlgorithm = .roundRobin, maximumConnections: Int = 0, backendLimit: Int = 0, retries: Int = 2) {
        let backends = [
            BackendConfiguration(name: "web1", address: IPv4Address(10, 0, 3, 2), port: 8081, maximumConnections: backendLimit),
            BackendConfiguration(name: "web2", address: IPv4Address(10, 0, 3, 2), port: 8082, maximumConnections: backendLimit),
            BackendConfiguration(name: "web3", address: IPv4Address(10, 0, 3, 2), port: 8083, maximumConnections: backendLimit),
        ]
        balancer = LoadBalancer(
            services: [ServiceConfiguration(name: "web", port: 80, algorithm: algorithm, backends: backends, maximumConnections: maximumConnections,
                                            retries: retries)],
            publicAddress: IPv4Address(10, 0, 2, 15), privateAddress: IPv4Address(10, 0, 3, 15), connectionCapacity: 1024)
        fixture.stack.inbound.append(BalancerHook(balancer))
        fixture.teach(.public, client)
        fixture.teach(.private, backendHost)
        for device in fixture.devices { device.sent.removeAll() }
        let service = balancer.services[0]
        for backend in service.backends {
            for _ in 0..<2 { balancer.recordCheck(service: service, backend: backend, outcome: .passed, latency: .milliseconds(1), now: now) }
        }
    }

    /// The client's initial sequence number: its SYN is seq 100, what follows 101.
    static let clientISN: UInt32 = 100
    /// The backends' initial sequence number in `handshake`.
    static let backendISN: UInt32 = 5000

    func segment(from source: IPv4Address, _ sourcePort: UInt16, to destination: IPv4Address, _ destinationPort: UInt16,
                 flags: TCPSegment.Flags, seq: UInt32 = BalancerFixture.clientISN, ack: UInt32 = 0, payload: [UInt8] = []) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 20 + payload.count)
        bytes.withUnsafeMutableBytes { raw in
            raw.slice(20, raw.count).copyMemory(from: UnsafeRawBufferPointer(start: payload, count: payload.count))
            TCPSegment.emit(into: raw, sourcePort: sourcePort, destinationPort: destinationPort, sequenceNumber: seq,
                            acknowledgmentNumber: ack, flags: flags, window: 8000, payloadLength: payload.count,
                            source: source, destination: destination)
        }
        return bytes
    }

    /// Sends a client segment to the service; returns the frame that left on the private NIC, if any.
    func fromClient(port: UInt16, flags: TCPSegment.Flags, seq: UInt32 = BalancerFixture.clientISN, ack: UInt32 = 0,
                    payload: [UInt8] = []) -> [UInt8]? {
        let tcp = segment(from: client, port, to: IPv4Address(10, 0, 2, 15), 80, flags: flags, seq: seq, ack: ack, payload: payload)
        fixture.device(.public).inject(fixture.ipv4Frame(to: .public, from: client, protocolNumber: 6, payload: tcp))
        fixture.run()
        return fixture.device(.private).sent.popLast()
    }

    /// Sends a backend segment to the balancer's SNAT port; returns the frame that left on the public NIC, if any.
    @discardableResult
    func fromBackend(port backendPort: UInt16, snatPort: UInt16, flags: TCPSegment.Flags, seq: UInt32 = BalancerFixture.backendISN,
                     ack: UInt32) -> [UInt8]? {
        let tcp = segment(from: backendHost, backendPort, to: IPv4Address(10, 0, 3, 15), snatPort, flags: flags, seq: seq, ack: ack)
        fixture.device(.private).inject(fixture.ipv4Frame(
            to: .private, from: backendHost, protocolNumber: 6, payload: tcp, destination: IPv4Address(10, 0, 3, 15)))
        fixture.run()
        return fixture.device(.public).sent.popLast()
    }

    /// The client's SYN, the backend's SYN-ACK and the client's ACK; the
    /// backend port and SNAT port of the flow, or nil if a step failed.
    func handshake(port: UInt16) throws -> (backendPort: UInt16, snatPort: UInt16)? {
        guard let syn = fromClient(port: port, flags: [.syn]) else { return nil }
        var ports: (backendPort: UInt16, snatPort: UInt16) = (0, 0)
        try parse(syn) { frame in
            let tcp = try TCPSegment(parsing: try IPv4Packet(parsing: frame.payload).payload)
            ports = (tcp.destinationPort, tcp.sourcePort)
        }
        guard fromBackend(port: ports.backendPort, snatPort: ports.snatPort, flags: [.syn, .ack], ack: Self.clientISN + 1) != nil,
            fromClient(port: port, flags: [.ack], seq: Self.clientISN + 1, ack: Self.backendISN + 1) != nil
        else { return nil }
        return ports
    }
}

@Suite struct LoadBalancerTests {
    @Test func rewritesBothWaysWithValidChecksums() throws {
        let world = BalancerFixture()
        let outbound = try #require(world.fromClient(port: 5555, flags: [.syn]))
        var snatPort: UInt16 = 0
        var backendPort: UInt16 = 0
        try parse(outbound) { frame in
            #expect(frame.destination == world.fixture.peerMAC && frame.source == world.fixture.device(.private).macAddress)
            let ip = try IPv4Packet(parsing: frame.payload)
            #expect(ip.checksumValid && ip.source == IPv4Address(10, 0, 3, 15) && ip.destination == world.backendHost)
            #expect(ip.timeToLive == 63)
            let tcp = try TCPSegment(parsing: ip.payload)
            #expect(tcp.checksumValid(source: ip.source, destination: ip.destination))
            snatPort = tcp.sourcePort
            backendPort = tcp.destinationPort
        }
        // The backend answers the balancer's address and port.
        let sentToClient = world.fromBackend(port: backendPort, snatPort: snatPort, flags: [.syn, .ack], ack: BalancerFixture.clientISN + 1)
        let inbound = try #require(sentToClient)
        try parse(inbound) { frame in
            let ip = try IPv4Packet(parsing: frame.payload)
            #expect(ip.checksumValid && ip.source == IPv4Address(10, 0, 2, 15) && ip.destination == world.client)
            let tcp = try TCPSegment(parsing: ip.payload)
            #expect(tcp.sourcePort == 80 && tcp.destinationPort == 5555)
            #expect(tcp.checksumValid(source: ip.source, destination: ip.destination))
        }
        let service = world.balancer.services[0]
        #expect(service.statistics.activeConnections == 0, "half-open until the client acknowledges the SYN-ACK")
        // The client's data rides its ACK, rewritten with the payload intact.
        let data = try #require(world.fromClient(port: 5555, flags: [.ack], seq: BalancerFixture.clientISN + 1,
                                                 ack: BalancerFixture.backendISN + 1, payload: Array("hello".utf8)))
        try parse(data) { frame in
            let ip = try IPv4Packet(parsing: frame.payload)
            let tcp = try TCPSegment(parsing: ip.payload)
            #expect(tcp.checksumValid(source: ip.source, destination: ip.destination))
            #expect(String(decoding: tcp.payload, as: UTF8.self) == "hello")
        }
        #expect(service.statistics.activeConnections == 1 && service.statistics.totalConnections == 1)
        #expect(world.fixture.stack.counters[.balancerForwarded] == 3)
        #expect(world.fixture.allBuffersReturned)
    }

    @Test func roundRobinSpreadsNewConnectionsAndKeepsFlowsSticky() throws {
        let world = BalancerFixture()
        var perBackend: [UInt16: Int] = [:]
        for port in 0..<300 {
            let (backendPort, _) = try #require(try world.handshake(port: UInt16(20_000 + port)))
            perBackend[backendPort, default: 0] += 1
        }
        #expect(perBackend == [8081: 100, 8082: 100, 8083: 100])
        // Later packets of a flow follow its first.
        var again: Set<UInt16> = []
        for _ in 0..<5 {
            let frame = try #require(world.fromClient(port: 20_000, flags: [.ack], seq: BalancerFixture.clientISN + 1,
                                                      ack: BalancerFixture.backendISN + 1))
            try parse(frame) { again.insert(try TCPSegment(parsing: try IPv4Packet(parsing: $0.payload).payload).destinationPort) }
        }
        #expect(again.count == 1)
    }

    @Test func downDrainedAndDisabledBackendsGetNoNewConnections() throws {
        let world = BalancerFixture()
        let service = world.balancer.services[0]
        let web2 = service.backends[1]
        var events: [String] = []
        world.balancer.onEvent = { event in
            switch event {
            case .backendStatusChanged(_, let backend, let status):
                events.append("\(backend.configuration.name) \(status.name)")
            case .administrativeChange(_, let backend, let state):
                events.append("\(backend.configuration.name) \(state.name)")
            case .weightChange(_, let backend, let weight):
                events.append("\(backend.configuration.name) weight \(weight)")
            case .checkFailed(_, let backend):
                events.append("\(backend.configuration.name) check failed")
            }
        }
        for _ in 0..<3 { world.balancer.recordCheck(service: service, backend: web2, outcome: .refused, latency: nil, now: world.now) }
        #expect(web2.health.status == .down && events == Array(repeating: "web2 check failed", count: 3) + ["web2 DOWN"])
        // DOWN, its failed checks are counted but not announced.
        world.balancer.recordCheck(service: service, backend: web2, outcome: .refused, latency: nil, now: world.now)
        #expect(events.count == 4 && web2.health.checkFailures == 4)
        events.removeAll()
        func spread(_ count: Int, base: Int) throws -> Set<UInt16> {
            var ports: Set<UInt16> = []
            for index in 0..<count {
                let frame = try #require(world.fromClient(port: UInt16(base + index), flags: [.syn]))
                try parse(frame) { ports.insert(try TCPSegment(parsing: try IPv4Packet(parsing: $0.payload).payload).destinationPort) }
            }
            return ports
        }
        #expect(try spread(30, base: 30_000) == [8081, 8083])
        for _ in 0..<2 { world.balancer.recordCheck(service: service, backend: web2, outcome: .passed, latency: nil, now: world.now) }
        #expect(web2.health.status == .up)
        world.balancer.setAdministrative(.draining, service: service, backend: service.backends[0])
        #expect(try spread(30, base: 31_000) == [8082, 8083])
        world.balancer.setAdministrative(.disabled, service: service, backend: service.backends[2])
        #expect(try spread(10, base: 32_000) == [8082])
        #expect(service.backends[2].statistics.activeConnections == 0, "disabling drops the backend's flows")
        #expect(events.suffix(3) == ["web2 UP", "web1 DRAIN", "web3 DISABLED"])
    }

    @Test func limitsAndStrayPacketsAreRefusedAndCounted() throws {
        let world = BalancerFixture(maximumConnections: 5)
        for port in 0..<7 { _ = try world.handshake(port: UInt16(40_000 + port)) }
        #expect(world.balancer.services[0].statistics.activeConnections == 5)
        #expect(world.balancer.counters[.serviceLimit] == 2)
        // Each refused SYN was answered with a reset from the service's address and port.
        let resets = world.fixture.device(.public).sent.filter { frame in
            var bytes = frame
            return bytes.withUnsafeMutableBytes { raw in
                guard let ip = try? IPv4Packet(parsing: raw.slice(14, raw.count)), let tcp = try? TCPSegment(parsing: ip.payload) else { return false }
                return tcp.flags.contains(.rst) && tcp.sourcePort == 80 && ip.source == IPv4Address(10, 0, 2, 15)
            }
        }
        #expect(resets.count == 2)
        #expect(world.fixture.stack.counters[.balancerRefused] == 2)
        // A non-SYN for no known flow.
        #expect(world.fromClient(port: 41_000, flags: [.ack]) == nil)
        #expect(world.balancer.counters[.invalidPackets] == 1)
        // Every backend down: nothing to pick.
        let service = world.balancer.services[0]
        for backend in service.backends {
            for _ in 0..<3 { world.balancer.recordCheck(service: service, backend: backend, outcome: .refused, latency: nil, now: world.now) }
        }
        let limited = BalancerFixture()
        let limitedService = limited.balancer.services[0]
        for backend in limitedService.backends {
            for _ in 0..<3 { limited.balancer.recordCheck(service: limitedService, backend: backend, outcome: .refused, latency: nil, now: limited.now) }
        }
        #expect(limited.fromClient(port: 42_000, flags: [.syn]) == nil)
        #expect(limited.balancer.counters[.noBackend] == 1)
        #expect(limited.fixture.device(.public).sent.count == 1, "refused with a reset")
        #expect(limited.fixture.allBuffersReturned)
    }

    @Test func closedFlowsStopCountingOnceAndExpire() throws {
        let world = BalancerFixture()
        _ = try #require(try world.handshake(port: 50_000))
        #expect(world.balancer.services[0].statistics.activeConnections == 1)
        _ = world.fromClient(port: 50_000, flags: [.rst], seq: BalancerFixture.clientISN + 1)
        #expect(world.balancer.services[0].statistics.activeConnections == 0)
        // Late segments of the closed flow do not count it closed again.
        _ = world.fromClient(port: 50_000, flags: [.fin, .ack], seq: BalancerFixture.clientISN + 1, ack: BalancerFixture.backendISN + 1)
        _ = world.fromClient(port: 50_000, flags: [.ack], seq: BalancerFixture.clientISN + 2, ack: BalancerFixture.backendISN + 1)
        #expect(world.balancer.services[0].statistics.activeConnections == 0)
        #expect(world.balancer.services[0].backends.allSatisfy { $0.statistics.activeConnections == 0 })
        world.balancer.sweep(now: world.now + .seconds(11), budget: 1024)
        #expect(world.balancer.tracker.count == 0)
    }

    @Test func healthNeedsRiseSuccessesAndFallFailures() {
        var health = BackendHealth()
        let now = Instant(nanoseconds: 5)
        #expect(health.record(.passed, latency: nil, now: now, rise: 2, fall: 3) == nil)
        #expect(health.record(.passed, latency: .milliseconds(3), now: now, rise: 2, fall: 3) == .up)
        #expect(health.record(.refused, latency: nil, now: now, rise: 2, fall: 3) == nil)
        #expect(health.record(.passed, latency: nil, now: now, rise: 2, fall: 3) == nil, "a success resets the failure run")
        for _ in 0..<2 { #expect(health.record(.refused, latency: nil, now: now, rise: 2, fall: 3) == nil) }
        #expect(health.record(.refused, latency: nil, now: now, rise: 2, fall: 3) == .down)
        #expect(health.checkFailures == 4)
    }
}

@Suite struct PortReuseTests {
    /// A client reusing the port of a finished connection gets a new flow
    /// and a fresh backend choice (and a drained backend is not chosen).
    @Test func aNewSynOnAFinishedFlowStartsANewOne() throws {
        let world = BalancerFixture()
        let service = world.balancer.services[0]
        let first = try #require(world.fromClient(port: 60_000, flags: [.syn]))
        var firstBackend: UInt16 = 0
        try parse(first) { firstBackend = try TCPSegment(parsing: try IPv4Packet(parsing: $0.payload).payload).destinationPort }
        _ = world.fromClient(port: 60_000, flags: [.rst], seq: BalancerFixture.clientISN + 1)
        let drained = try #require(service.backends.first { $0.configuration.port == firstBackend })
        world.balancer.setAdministrative(.draining, service: service, backend: drained)
        let again = try #require(world.fromClient(port: 60_000, flags: [.syn]))
        var secondBackend: UInt16 = 0
        try parse(again) { secondBackend = try TCPSegment(parsing: try IPv4Packet(parsing: $0.payload).payload).destinationPort }
        #expect(secondBackend != firstBackend)
        #expect(world.balancer.tracker.count == 1 && world.balancer.tracker.halfOpenCount == 1)
    }
}

@Suite struct FailedConnectTests {
    /// Without redispatch the refusing backend's reset reaches the client.
    @Test func aBackendRefusingTheSynCountsAsAFailedConnect() throws {
        let world = BalancerFixture(retries: 0)
        let outbound = try #require(world.fromClient(port: 61_000, flags: [.syn]))
        var snatPort: UInt16 = 0
        var backendPort: UInt16 = 0
        try parse(outbound) { frame in
            let tcp = try TCPSegment(parsing: try IPv4Packet(parsing: frame.payload).payload)
            snatPort = tcp.sourcePort
            backendPort = tcp.destinationPort
        }
        world.fromBackend(port: backendPort, snatPort: snatPort, flags: [.rst, .ack], seq: 0, ack: BalancerFixture.clientISN + 1)
        let backend = try #require(world.balancer.services[0].backends.first { $0.configuration.port == backendPort })
        #expect(backend.statistics.failedConnects == 1)
        #expect(backend.statistics.activeConnections == 0)
    }
}

@Suite struct DrainAndRateTests {
    /// Draining sends a backend nothing new, but its open flows carry on.
    @Test func aDrainedBackendKeepsItsOpenConnections() throws {
        let world = BalancerFixture()
        let service = world.balancer.services[0]
        let (backendPort, _) = try #require(try world.handshake(port: 62_000))
        let backend = try #require(service.backends.first { $0.configuration.port == backendPort })
        world.balancer.setAdministrative(.draining, service: service, backend: backend)
        for _ in 0..<3 {
            let later = try #require(world.fromClient(port: 62_000, flags: [.ack], seq: BalancerFixture.clientISN + 1,
                                                      ack: BalancerFixture.backendISN + 1, payload: [1, 2, 3]))
            var port: UInt16 = 0
            try parse(later) { port = try TCPSegment(parsing: try IPv4Packet(parsing: $0.payload).payload).destinationPort }
            #expect(port == backendPort, "the open connection still reaches its drained backend")
        }
        #expect(backend.statistics.activeConnections == 1)
    }

    @Test func theConnectionRateCoversTheLastSecond() throws {
        let world = BalancerFixture()
        let start = world.now
        world.balancer.sweep(now: start)
        for port in 0..<30 { _ = try world.handshake(port: UInt16(63_000 + port)) }
        world.balancer.sweep(now: start + .seconds(2))
        #expect(world.balancer.services[0].statistics.connectionRate == 15)
        world.balancer.sweep(now: start + .seconds(3))
        #expect(world.balancer.services[0].statistics.connectionRate == 0)
    }
}

@Suite struct WeightTests {
    /// An operator's weight steers new connections at once, for every algorithm that weighs.
    @Test(arguments: [BalancingAlgorithm.weightedRoundRobin, .sourceHash])
    func aNewWeightTakesEffectForNewConnections(algorithm: BalancingAlgorithm) throws {
        let fixture = BalancerFixture(algorithm: algorithm)
        let service = fixture.balancer.services[0]
        fixture.balancer.setWeight(0, service: service, backend: service.backends[1])
        var chosen: [UInt16: Int] = [:]
        for port in UInt16(41000)..<41300 {
            if let frame = fixture.fromClient(port: port, flags: .syn) {
                try parse(frame) { ethernet in
                    let packet = try IPv4Packet(parsing: ethernet.payload)
                    let segment = try TCPSegment(parsing: packet.payload)
                    chosen[segment.destinationPort, default: 0] += 1
                }
            }
        }
        #expect(chosen[8082] == nil, "weight 0 takes no new connections: \(chosen)")
        #expect(chosen.values.reduce(0, +) == 300)
        #expect(service.backends[1].weight == 0 && service.backends[1].configuration.weight == 1)
    }
}

@Suite struct BlindResetStackTests {
    /// Through the whole stack: a guessed RST never reaches the backend,
    /// and the connection keeps counting; the real one closes it.
    @Test func aBlindResetIsDroppedBeforeTheBackend() throws {
        let world = BalancerFixture()
        _ = try #require(try world.handshake(port: 45_000))
        let service = world.balancer.services[0]
        #expect(world.fromClient(port: 45_000, flags: [.rst], seq: 12345) == nil, "not forwarded")
        #expect(world.fixture.stack.counters[.balancerDrops] == 1 && world.balancer.tracker.counters[.outOfWindow] == 1)
        #expect(service.statistics.activeConnections == 1)
        #expect(world.fromClient(port: 45_000, flags: [.rst], seq: BalancerFixture.clientISN + 1) != nil)
        #expect(service.statistics.activeConnections == 0)
        #expect(world.fixture.allBuffersReturned)
    }
}
