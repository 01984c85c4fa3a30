import Testing
@testable import KernelCore

/// Hostile clients against the TCP layer's admission limits: the health
/// checks' reservation, the admin services' per-listener and per-source
/// limits, idle reaping, and the budgets for resets and challenge ACKs.
@Suite struct TCPAdmissionTests {
    /// The server's initial sequence number in every `TCPWorld` (its random source is constant).
    static let serverISS = SequenceNumber(0x1000)

    /// Injects one segment into `layer` as if from `source`.
    func inject(_ layer: TCPLayer, from source: IPv4Address, port sourcePort: UInt16, to destination: IPv4Address,
                port destinationPort: UInt16, sequence: SequenceNumber, acknowledgment: SequenceNumber = SequenceNumber(0),
                flags: TCPSegment.Flags, now: Instant) {
        var segment = [UInt8](repeating: 0, count: 24)
        segment.withUnsafeMutableBytes { bytes in
            TCPSegment.emit(into: bytes, sourcePort: sourcePort, destinationPort: destinationPort, sequenceNumber: sequence.raw,
                            acknowledgmentNumber: acknowledgment.raw, flags: flags, window: 8192,
                            mss: flags.contains(.syn) ? 1460 : nil, payloadLength: 0, source: source, destination: destination)
            let length = flags.contains(.syn) ? 24 : 20
            layer.receive(UnsafeMutableRawBufferPointer(rebasing: bytes[0..<length]), source: source, destination: destination, now: now)
        }
    }

    /// Completes a handshake with the world's server from any address: the
    /// server's sequence numbers are predictable in the fixture.
    func handshake(_ world: TCPWorld, from source: IPv4Address, port: UInt16, to servicePort: UInt16) {
        let layer = world.server.tcp
        inject(layer, from: source, port: port, to: world.serverAddress, port: servicePort, sequence: SequenceNumber(100),
               flags: [.syn], now: world.now)
        inject(layer, from: source, port: port, to: world.serverAddress, port: servicePort, sequence: SequenceNumber(101),
               acknowledgment: Self.serverISS + 1, flags: [.ack], now: world.now)
    }

    func echoService(_ world: TCPWorld, limits: TCPListenerLimits = TCPTestService.limits, backlog: Int = 64) throws -> TCPTestService {
        let listener = try #require(world.server.tcp.listen(port: 7, addresses: [world.serverAddress], backlog: backlog, limits: limits))
        return TCPTestService(kind: .echo, listener: listener)
    }

    // MARK: The health checks' reservation

    /// 300 idle clients of a listener without limits cannot take the slots
    /// the health checks need: the backends stay UP.
    @Test func healthChecksConnectWhileClientsHoldEveryOtherSlot() throws {
        var configuration = TCPConfiguration()
        configuration.maximumConnections = 1024  // the clients' side is not what is tested
        let world = TCPWorld(configuration: configuration)
        world.server.tcp.configuration.maximumConnections = 256
        let backends = (0..<3).map { BackendConfiguration(name: "b", address: world.clientAddress, port: UInt16(8081 + $0)) }
        for backend in backends {
            let listener = try #require(world.client.tcp.listen(port: backend.port, addresses: [world.clientAddress]))
            _ = TCPTestService(kind: .discard, listener: listener)
        }
        let balancer = LoadBalancer(
            services: [ServiceConfiguration(name: "web", port: 80, algorithm: .roundRobin, backends: backends,
                                            health: HealthCheckConfiguration(interval: .seconds(1), timeout: .milliseconds(500)))],
            publicAddress: world.serverAddress, privateAddress: world.serverAddress)
        let checker = HealthChecker(balancer: balancer, tcp: world.server.tcp, source: world.serverAddress, now: world.now)
        #expect(checker.reservedConnections == 6)
        #expect(world.server.tcp.configuration.reservedForActiveOpens == 6)

        _ = try echoService(world, limits: .none, backlog: 400)
        var clients: [TCPConnection] = []
        for _ in 0..<300 {
            clients.append(try #require(world.client.tcp.connect(from: world.clientAddress, to: world.serverAddress, port: 7, now: world.now)))
        }
        world.run(for: .seconds(5))
        let held = clients.filter { $0.state == .established }.count
        #expect(held == 256 - 6, "clients hold every slot but the reserved ones")
        #expect(world.server.tcp.counters[.reservationLimitHits] > 0)

        for _ in 0..<100 {
            world.run(for: .milliseconds(100))
            checker.tick(now: world.now)
        }
        for backend in balancer.services[0].backends {
            #expect(backend.health.status == .up)
            #expect(backend.health.checkFailures == 0)
        }
        #expect(world.server.tcp.connectionCount <= 256)
    }

    /// A backend that accepts the check but never closes its side cannot
    /// pile up the checks' connections: each stalled close is reset, so a
    /// probe never holds more than its reservation.
    @Test func aBackendThatNeverClosesDoesNotAccumulateCheckConnections() throws {
        let world = TCPWorld()
        let backend = BackendConfiguration(name: "b", address: world.clientAddress, port: 8081)
        let listener = try #require(world.client.tcp.listen(port: backend.port, addresses: [world.clientAddress]))
        var held: [TCPConnection] = []
        listener.onAcceptable = { while let connection = listener.accept() { held.append(connection) } }
        let balancer = LoadBalancer(
            services: [ServiceConfiguration(name: "web", port: 80, algorithm: .roundRobin, backends: [backend],
                                            health: HealthCheckConfiguration(interval: .seconds(1), timeout: .milliseconds(500)))],
            publicAddress: world.serverAddress, privateAddress: world.serverAddress)
        let checker = HealthChecker(balancer: balancer, tcp: world.server.tcp, source: world.serverAddress, now: world.now)
        var most = 0
        for _ in 0..<300 {
            world.run(for: .milliseconds(100))
            checker.tick(now: world.now)
            most = Swift.max(most, world.server.tcp.connectionCount)
        }
        #expect(held.count >= 25, "about one check a second for 30 s")
        #expect(balancer.services[0].backends[0].health.status == .up)
        #expect(most <= checker.reservedConnections, "at most \(checker.reservedConnections) at once, saw \(most)")
        #expect(world.server.tcp.counters[.idleTimeouts] >= UInt64(held.count - 2))
    }

    /// Passive opens stop at the reservation; active opens take the rest.
    @Test func passiveOpensLeaveTheReservedSlotsToConnect() throws {
        var configuration = TCPConfiguration()
        configuration.maximumConnections = 10
        configuration.reservedForActiveOpens = 3
        let world = TCPWorld(configuration: configuration)
        _ = try echoService(world, limits: .none)
        for index in 0..<20 {
            handshake(world, from: IPv4Address(10, 0, 1, UInt8(100 + index)), port: 40000, to: 7)
        }
        #expect(world.server.tcp.connectionCount == 7)
        #expect(world.server.tcp.counters[.reservationLimitHits] == 13)
        var opened = 0
        for _ in 0..<5 where world.server.tcp.connect(from: world.serverAddress, to: world.clientAddress, port: 9, now: world.now) != nil {
            opened += 1
        }
        #expect(opened == 3)
        #expect(world.server.tcp.counters[.connectionLimitHits] == 2)
    }

    /// Spoofed SYNs that never complete, 64 to each of the four admin
    /// listeners (more than the passive slots): half-open connections keep
    /// at most half the passive share, every other SYN gets a cookie, and a
    /// new client of each service still connects and echoes. The spoofed
    /// half-open connections are gone 16 s later, after their SYN-ACK
    /// retransmissions.
    @Test func aHalfOpenFloodOnEveryListenerLeavesRoomForNewClients() throws {
        var configuration = TCPConfiguration()
        configuration.maximumConnections = 1024  // the clients' side is not what is tested
        let world = TCPWorld(configuration: configuration)
        let server = world.server.tcp
        server.configuration.maximumConnections = 256
        server.configuration.reservedForActiveOpens = 6
        let passiveShare = 256 - 6
        let ports: [UInt16] = [7, 9, 19, 9100]
        for port in ports {
            let listener = try #require(server.listen(port: port, addresses: [world.serverAddress], backlog: 64,
                                                      limits: TCPTestService.limits))
            _ = TCPTestService(kind: .echo, listener: listener)
        }
        let attacker = IPv4Address(10, 0, 1, 99)
        for (index, port) in ports.enumerated() {
            for spoofed in 0..<64 {
                inject(server, from: attacker, port: UInt16(10_000 + index * 64 + spoofed), to: world.serverAddress, port: port,
                       sequence: SequenceNumber(UInt32(spoofed)), flags: [.syn], now: world.now)
            }
        }
        let floodTime = world.now
        let halfOpen = server.count(in: .synReceived)
        #expect(halfOpen > 0 && halfOpen <= passiveShare / 2, "half-open \(halfOpen)")
        #expect(server.counters[.synCookiesSent] == UInt64(4 * 64 - halfOpen))

        for port in ports {
            let connection = try #require(world.client.tcp.connect(from: world.clientAddress, to: world.serverAddress, port: port,
                                                                   now: world.now))
            let exchange = Exchange(connection, payload: pattern(1000, seed: UInt64(port)))
            connection.onEvent = { _ in exchange.pump() }
            world.run(for: .seconds(5)) {
                exchange.pump()
                return exchange.received.count == exchange.payload.count
            }
            let intact = sameBytes(exchange.received, exchange.payload)
            #expect(intact, "port \(port)")
        }
        #expect(server.counters[.synCookiesAccepted] == UInt64(ports.count))
        #expect(server.count(in: .synReceived) == halfOpen, "the spoofed entries were still there")

        // Three SYN-ACK retransmissions (1, 2 and 4 s apart, then 8 s)
        // end them at 15 s, well before the services' 30 s idle timeout.
        world.run(for: .seconds(20)) { world.now >= floodTime + .seconds(16) }
        #expect(server.count(in: .synReceived) == 0)
    }

    /// With every passive slot taken, a SYN still gets a cookie, and the
    /// valid cookie's ACK is refused with a reset and counted; the table
    /// does not grow.
    @Test func aCookieACKWithNoSlotFreeIsRefused() throws {
        var configuration = TCPConfiguration()
        configuration.maximumConnections = 10
        configuration.reservedForActiveOpens = 3
        let world = TCPWorld(configuration: configuration)
        _ = try echoService(world, limits: .none)
        for index in 0..<7 {
            handshake(world, from: IPv4Address(10, 0, 1, UInt8(100 + index)), port: 40000, to: 7)
        }
        let server = world.server.tcp
        #expect(server.connectionCount == 7)
        let reservationHits = server.counters[.reservationLimitHits]
        let connection = try #require(world.client.tcp.connect(from: world.clientAddress, to: world.serverAddress, port: 7, now: world.now))
        world.run(for: .seconds(5)) { connection.isFinished }
        #expect(server.counters[.synCookiesSent] == 1)
        #expect(server.counters[.synCookiesRejected] == 0, "the cookie was valid")
        #expect(server.counters[.synCookiesAccepted] == 0)
        #expect(server.counters[.reservationLimitHits] == reservationHits + 2, "the SYN and the cookie's ACK")
        #expect(connection.state == .closed && connection.error == .reset)
        #expect(server.connectionCount == 7)
    }

    // MARK: Listener limits

    /// The appliance's services under one hostile source: 300 idle
    /// connections leave at most the per-source share open, each new one
    /// replacing the longest-idle, and the layer keeps its other slots.
    @Test func threeHundredIdleConnectionsFromOneSourceHoldOnlyItsShare() throws {
        var configuration = TCPConfiguration()
        configuration.maximumConnections = 1024
        let world = TCPWorld(configuration: configuration)
        world.server.tcp.configuration.maximumConnections = 256
        let service = try echoService(world)
        var clients: [TCPConnection] = []
        for _ in 0..<300 {
            clients.append(try #require(world.client.tcp.connect(from: world.clientAddress, to: world.serverAddress, port: 7, now: world.now)))
            world.run(for: .milliseconds(20))
        }
        world.run(for: .seconds(2))
        let limits = TCPTestService.limits
        #expect(service.listener.connectionCount == limits.maximumPerSource)
        #expect(world.server.tcp.connectionCount == limits.maximumPerSource)
        #expect(clients.filter { $0.state == .established }.count == limits.maximumPerSource)
        #expect(world.server.tcp.counters[.sourceLimitEvictions] == UInt64(300 - limits.maximumPerSource))
        // The survivors are the newest; the evicted were reset.
        #expect(clients.suffix(limits.maximumPerSource).allSatisfy { $0.state == .established })
        #expect(clients.prefix(300 - limits.maximumPerSource).allSatisfy { $0.error == .reset })
        // The layer still takes new work: a connect from the appliance succeeds.
        #expect(world.server.tcp.connect(from: world.serverAddress, to: world.clientAddress, port: 9, now: world.now) != nil)
    }

    /// Under user-mode networking every host client shares one address: a
    /// client holding its share idle does not lock out the next one, which
    /// echoes, and active connections outlive idle ones.
    @Test func aNewClientFromASourceAtItsShareReplacesTheLongestIdle() throws {
        let world = TCPWorld()
        let service = try echoService(world)
        let share = TCPTestService.limits.maximumPerSource
        var held: [TCPConnection] = []
        for _ in 0..<share {
            held.append(try #require(world.client.tcp.connect(from: world.clientAddress, to: world.serverAddress, port: 7, now: world.now)))
            world.run(for: .seconds(1))
        }
        #expect(held.allSatisfy { $0.state == .established })
        // The first one talks, so the longest idle is the second.
        _ = [UInt8](repeating: 7, count: 5).withUnsafeBytes { held[0].write($0) }
        world.run(for: .seconds(1))
        // Sequential echo clients, as the integration tests run them.
        for index in 0..<10 {
            let connection = try #require(world.client.tcp.connect(from: world.clientAddress, to: world.serverAddress, port: 7, now: world.now))
            let exchange = Exchange(connection, payload: Array("hello \(index)".utf8))
            connection.onEvent = { _ in exchange.pump() }
            world.run(for: .seconds(10)) {
                exchange.pump()
                return connection.isFinished
            }
            #expect(exchange.received == exchange.payload, "client \(index) echoed")
            #expect(connection.error == nil)
        }
        #expect(held[0].state == .established, "the active connection stays")
        #expect(held[1].error == .reset, "the longest-idle one made room")
        #expect(service.listener.connectionCount <= share)
        #expect(world.server.tcp.counters[.sourceLimitEvictions] >= 1)
    }

    /// Short connections still closing (their last ACK lost) make room
    /// before an open idle one: a client holding one connection through a
    /// burst of short ones from the same address keeps it.
    @Test func aSourceAtItsShareGivesUpClosingConnectionsFirst() throws {
        let world = TCPWorld()
        let service = try echoService(world)
        let share = TCPTestService.limits.maximumPerSource
        let held = try #require(world.client.tcp.connect(from: world.clientAddress, to: world.serverAddress, port: 7, now: world.now))
        world.run(for: .seconds(1)) { held.state == .established }
        // Short clients whose final ACK never reaches the server: each stays in LAST-ACK there.
        var short: [TCPConnection] = []
        for index in 0..<(share + 4) {
            let connection = try #require(world.client.tcp.connect(from: world.clientAddress, to: world.serverAddress, port: 7, now: world.now))
            let exchange = Exchange(connection, payload: Array("short \(index)".utf8))
            connection.onEvent = { _ in exchange.pump() }
            var finSeen = false
            world.copies = { frame, _ in
                guard TCPWorld.isTCP(frame), frame.toServer, finSeen else { return 1 }
                return 0
            }
            world.run(for: .milliseconds(500)) {
                exchange.pump()
                finSeen = exchange.received.count == exchange.payload.count && connection.state != .established
                return connection.isFinished
            }
            world.copies = { _, _ in 1 }
            short.append(connection)
        }
        #expect(service.active.contains { $0.state == .lastAck }, "the short ones linger on the server")
        #expect(world.server.tcp.counters[.sourceLimitEvictions] >= 4)
        #expect(held.state == .established, "the held connection was not evicted")
        let exchange = Exchange(held, payload: Array("still here".utf8))
        held.onEvent = { _ in exchange.pump() }
        world.run(for: .seconds(5)) {
            exchange.pump()
            return exchange.received.count == exchange.payload.count
        }
        #expect(exchange.received == exchange.payload)
    }

    /// A listener at its limit refuses a further source with a reset; a
    /// source at its share replaces its own, never another's.
    @Test func aListenerAtItsLimitRefusesAnotherSource() throws {
        let world = TCPWorld()
        let service = try echoService(world)
        let limits = TCPTestService.limits
        let sourceA = IPv4Address(10, 0, 1, 50)
        let sourceB = IPv4Address(10, 0, 1, 51)
        for index in 0..<limits.maximumPerSource {
            handshake(world, from: sourceA, port: UInt16(30000 + index), to: 7)
            handshake(world, from: sourceB, port: UInt16(30000 + index), to: 7)
        }
        #expect(service.listener.connectionCount == limits.maximumConnections)
        let resetsBefore = world.server.tcp.counters[.resetsSent]
        handshake(world, from: IPv4Address(10, 0, 1, 52), port: 30000, to: 7)
        #expect(world.server.tcp.counters[.listenerLimitHits] == 1)
        #expect(world.server.tcp.counters[.resetsSent] == resetsBefore + 1, "refused with a reset")
        #expect(service.listener.connectionCount == limits.maximumConnections)
        // A ninth from A replaces one of A's; B keeps all of its.
        handshake(world, from: sourceA, port: 31000, to: 7)
        #expect(world.server.tcp.counters[.sourceLimitEvictions] == 1)
        #expect(service.listener.connectionCount == limits.maximumConnections)
        let fromB = service.active.filter { $0.endpoints.remoteAddress == sourceB && !$0.isFinished }.count
        #expect(fromB == limits.maximumPerSource)
        #expect(service.active.contains { $0.endpoints.remotePort == 31000 })
    }

    // MARK: Idle connections

    /// Connections with no progress for the idle timeout are reset; one that
    /// keeps talking, however slowly, is not.
    @Test func idleConnectionsAreReapedAfterTheTimeout() throws {
        let world = TCPWorld()
        let service = try echoService(world)
        let timeout = try #require(TCPTestService.limits.idleTimeout)
        var clients: [TCPConnection] = []
        for _ in 0..<5 {
            let connection = try #require(world.client.tcp.connect(from: world.clientAddress, to: world.serverAddress, port: 7, now: world.now))
            connection.onEvent = { connection in
                var chunk = [UInt8](repeating: 0, count: 64)
                _ = chunk.withUnsafeMutableBytes { connection.read(into: $0) }
            }
            clients.append(connection)
        }
        world.run(for: .seconds(1))
        let opened = world.now
        // The first client echoes a byte every 10 s.
        while world.now < opened + timeout + .seconds(5) {
            _ = [UInt8](repeating: 1, count: 1).withUnsafeBytes { clients[0].write($0) }
            world.run(for: .seconds(10))
            if world.now.since(opened) + .seconds(1) < timeout {
                #expect(clients.allSatisfy { $0.state == .established }, "nothing is reaped before the timeout")
            }
        }
        #expect(clients[0].state == .established)
        #expect(clients.dropFirst().allSatisfy { $0.error == .reset })
        #expect(world.server.tcp.counters[.idleTimeouts] == 4)
        #expect(service.active.count == 1 && service.listener.connectionCount == 1)
    }

    /// A chargen client that never reads shuts its window; probes are not
    /// progress, so it is reaped too.
    @Test func aClientThatNeverReadsIsReaped() throws {
        let world = TCPWorld()
        let listener = try #require(world.server.tcp.listen(port: 19, addresses: [world.serverAddress], limits: TCPTestService.limits))
        let service = TCPTestService(kind: .chargen, listener: listener)
        let connection = try #require(world.client.tcp.connect(from: world.clientAddress, to: world.serverAddress, port: 19, now: world.now))
        world.run(for: .seconds(5))
        #expect(connection.readableBytes > 0 && connection.state == .established)
        world.run(for: .seconds(40)) { connection.isFinished }
        #expect(connection.error == .reset)
        #expect(service.active.isEmpty)
        #expect(world.server.tcp.counters[.idleTimeouts] == 1)
    }

    // MARK: Budgets for generated segments

    @Test func theRateLimiterGivesItsBurstThenItsRate() {
        var limiter = TCPRateLimiter(burst: 100)
        let start = Instant(nanoseconds: 5_000_000_000)
        var granted = 0
        for _ in 0..<1000 where limiter.take(now: start, rate: 100, burst: 100) { granted += 1 }
        #expect(granted == 100, "the burst")
        // 5 ms steps earn half a token each: 100 tokens per second, fractions kept.
        granted = 0
        for step in 1...200 where limiter.take(now: start + .milliseconds(UInt64(5 * step)), rate: 100, burst: 100) {
            granted += 1
        }
        #expect(granted == 100, "the rate")
        // A long pause refills to the burst, no more.
        granted = 0
        for _ in 0..<1000 where limiter.take(now: start + .seconds(3600), rate: 100, burst: 100) { granted += 1 }
        #expect(granted == 100)
    }

    /// A flood to a closed port, and through `refuse` (the firewall's reject
    /// and the balancer's refusal), gets at most the reset budget.
    @Test func resetsToAFloodStayWithinTheBudget() {
        let world = TCPWorld()
        let layer = world.server.tcp
        let configuration = layer.configuration
        let sentBefore = layer.counters[.segmentsSent]
        for index in 0..<10_000 {
            inject(layer, from: world.clientAddress, port: UInt16(1024 + index % 60000), to: world.serverAddress, port: 4444,
                   sequence: SequenceNumber(UInt32(index)), flags: [.syn], now: world.now)
        }
        #expect(layer.counters[.resetsSent] == UInt64(configuration.resetBurst))
        #expect(layer.counters[.resetsRateLimited] == UInt64(10_000 - configuration.resetBurst))
        #expect(layer.counters[.segmentsSent] - sentBefore == UInt64(configuration.resetBurst), "nothing else went out")

        // One second on, the bucket has refilled; refusals draw from the same budget.
        let later = world.now + .seconds(1)
        var segment = [UInt8](repeating: 0, count: 20)
        for index in 0..<10_000 {
            segment.withUnsafeMutableBytes { bytes in
                TCPSegment.emit(into: bytes, sourcePort: UInt16(2000 + index % 50000), destinationPort: 80, sequenceNumber: 1,
                                acknowledgmentNumber: 0, flags: [.syn], window: 0, payloadLength: 0,
                                source: world.clientAddress, destination: world.serverAddress)
                layer.refuse(bytes, source: world.clientAddress, destination: world.serverAddress, now: later)
            }
        }
        #expect(layer.counters[.resetsSent] == UInt64(2 * configuration.resetBurst))
        #expect(layer.counters[.resetsRateLimited] == UInt64(2 * (10_000 - configuration.resetBurst)))
    }

    /// In-window resets each earn a challenge ACK, up to the budget; the
    /// connection survives them all.
    @Test func challengeACKsStayWithinTheBudget() throws {
        let world = TCPWorld()
        let listener = try #require(world.server.tcp.listen(port: 80, addresses: [world.serverAddress]))
        var serverSide: TCPConnection?
        listener.onAcceptable = { serverSide = listener.accept() }
        let connection = try #require(world.client.tcp.connect(from: world.clientAddress, to: world.serverAddress, port: 80, now: world.now))
        world.run(for: .seconds(5)) { serverSide != nil && connection.state == .established }
        let peer = try #require(serverSide)
        let layer = world.server.tcp
        for offset in 0..<10_000 {
            inject(layer, from: world.clientAddress, port: connection.endpoints.localPort, to: world.serverAddress, port: 80,
                   sequence: peer.receiveNext + (1 + offset % 1000), flags: [.rst], now: world.now)
        }
        #expect(peer.state == .established)
        #expect(layer.counters[.challengeACKs] == UInt64(layer.configuration.challengeACKBurst))
        #expect(layer.counters[.challengeACKsRateLimited] == UInt64(10_000 - layer.configuration.challengeACKBurst))
    }
}
