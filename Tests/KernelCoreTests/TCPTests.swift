import Testing
@testable import KernelCore

/// Two stacks on one simulated Ethernet with a fake clock, and hooks to
/// lose, duplicate or reorder frames.
final class TCPWorld {
    struct Frame {
        var bytes: [UInt8]
        var toServer: Bool
    }

    let serverPool = PacketPool(count: 256)
    let clientPool = PacketPool(count: 256)
    let serverDevice: FakeDevice
    let clientDevice: FakeDevice
    let server: NetworkStack
    let client: NetworkStack
    var now = Instant(nanoseconds: 1_000_000_000)
    var inFlight: [Frame] = []
    /// Decides each frame's fate: return how many copies to deliver (0 drops it).
    var copies: (_ frame: Frame, _ index: Int) -> Int = { _, _ in 1 }
    /// Swap adjacent frames before delivery.
    var reorder = false
    var framesSent = 0
    let serverAddress = IPv4Address(10, 0, 1, 15)
    let clientAddress = IPv4Address(10, 0, 1, 2)

    init(configuration: TCPConfiguration = TCPConfiguration(), serverRandom: @escaping () -> UInt32 = { 0x1000 },
         clientRandom: @escaping () -> UInt32 = { 0x2000 }) {
        serverDevice = FakeDevice(mac: MACAddress(value: 0x5254_0012_3456), pool: serverPool)
        clientDevice = FakeDevice(mac: MACAddress(value: 0x5255_0A00_0102), pool: clientPool)
        let serverInterface = NetworkInterface(
            configuration: InterfaceConfiguration(role: .admin, address: IPv4Interface(address: serverAddress, prefixLength: 24), gateway: nil),
            device: serverDevice)
        let clientInterface = NetworkInterface(
            configuration: InterfaceConfiguration(role: .admin, address: IPv4Interface(address: clientAddress, prefixLength: 24), gateway: nil),
            device: clientDevice)
        server = NetworkStack(pool: serverPool, interfaces: [serverInterface], tcpConfiguration: configuration, random: serverRandom)
        client = NetworkStack(pool: clientPool, interfaces: [clientInterface], tcpConfiguration: configuration, random: clientRandom)
        server.defaultRoute = nil
        client.defaultRoute = nil
        serverDevice.onTransmit = { [unowned self] in inFlight.append(Frame(bytes: $0, toServer: false)) }
        clientDevice.onTransmit = { [unowned self] in inFlight.append(Frame(bytes: $0, toServer: true)) }
    }

    /// Runs until `done` or `limit` of simulated time passes. Idle gaps jump
    /// the clock to the next deadline.
    @discardableResult
    func run(for limit: Interval = .seconds(120), until done: () -> Bool = { false }) -> Bool {
        let end = now + limit
        while now < end {
            if done() { return true }
            _ = server.poll(now: now)
            _ = client.poll(now: now)
            if inFlight.isEmpty {
                let deadlines = [server.nextDeadline, client.nextDeadline].compactMap { $0 }
                let next = deadlines.min() ?? end
                now = Swift.max(now + .microseconds(100), Swift.min(next, end))
                server.tick(now: now)
                client.tick(now: now)
                continue
            }
            var frames = inFlight
            inFlight.removeAll()
            if reorder && frames.count >= 2 { frames.swapAt(0, 1) }
            for frame in frames {
                framesSent += 1
                for _ in 0..<copies(frame, framesSent) {
                    (frame.toServer ? serverDevice : clientDevice).inject(frame.bytes)
                }
            }
            now = now + .microseconds(200)
        }
        return done()
    }

    /// TCP segments only (not ARP) count for loss injection.
    static func isTCP(_ frame: Frame) -> Bool {
        frame.bytes.count > 34 && frame.bytes[12] == 0x08 && frame.bytes[13] == 0 && frame.bytes[23] == 6
    }
}

/// A client that writes `payload`, reads everything back until end of stream.
final class Exchange {
    let connection: TCPConnection
    let payload: [UInt8]
    var written = 0
    var received: [UInt8] = []
    var closedWriting = false

    init(_ connection: TCPConnection, payload: [UInt8]) {
        self.connection = connection
        self.payload = payload
    }

    func pump() {
        if written < payload.count {
            written += payload[written...].withUnsafeBytes { connection.write($0) }
        } else if !closedWriting && connection.state == .established {
            closedWriting = true
            connection.close()
        }
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { connection.read(into: $0) }
            if count == 0 { break }
            received += chunk[0..<count]
        }
    }
}

/// Byte-array equality that reports only a summary when it fails.
func sameBytes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    if a == b { return true }
    let firstDifference = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
    print("byte arrays differ: counts \(a.count) and \(b.count), first difference at \(firstDifference)")
    return false
}

func pattern(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
    var random = SplitMix(state: seed)
    return (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
}

@Suite struct TCPTests {
    /// Echo `bytes` through a server on the world's server stack; returns what came back.
    func echo(_ world: TCPWorld, bytes: [UInt8], limit: Interval = .seconds(300)) -> (Exchange, TCPTestService)? {
        guard let listener = world.server.tcp.listen(port: 7, addresses: [world.serverAddress]) else { return nil }
        let service = TCPTestService(kind: .echo, listener: listener)
        guard let connection = world.client.tcp.connect(from: world.clientAddress, to: world.serverAddress, port: 7, now: world.now) else {
            return nil
        }
        let exchange = Exchange(connection, payload: bytes)
        connection.onEvent = { _ in exchange.pump() }
        world.run(for: limit) {
            exchange.pump()
            return exchange.received.count >= bytes.count && connection.isFinished
        }
        // Let the last segments (the final ACK) arrive.
        world.run(for: .seconds(2))
        return (exchange, service)
    }

    @Test func handshakeDataBothWaysAndOrderlyClose() throws {
        let world = TCPWorld()
        let data = pattern(100_000)
        let (exchange, service) = try #require(echo(world, bytes: data))
        let intact1 = sameBytes(exchange.received, data)
        #expect(intact1)
        #expect(exchange.connection.state == .timeWait || exchange.connection.state == .closed)
        #expect(exchange.connection.error == nil)
        #expect(service.accepted == 1 && service.active.isEmpty)
        #expect(world.client.tcp.counters[.activeOpens] == 1 && world.server.tcp.counters[.passiveOpens] == 1)
        #expect(world.client.tcp.counters[.retransmissions] == 0)
        // The side that closed first waits in TIME-WAIT; the other is gone.
        #expect(world.client.tcp.count(in: .timeWait) + world.server.tcp.count(in: .timeWait) == 1)
        #expect(world.server.tcp.connectionCount == 0)
        #expect(world.serverPool.available == world.serverPool.count)
    }

    @Test(arguments: Array(1...24))
    func recoversFromTheLossOfAnySingleSegment(lost: Int) throws {
        let world = TCPWorld()
        var tcpIndex = 0
        world.copies = { frame, _ in
            guard TCPWorld.isTCP(frame) else { return 1 }
            tcpIndex += 1
            return tcpIndex == lost ? 0 : 1
        }
        let data = pattern(30_000, seed: UInt64(lost))
        let (exchange, _) = try #require(echo(world, bytes: data))
        let intact2 = sameBytes(exchange.received, data)
        #expect(intact2, "lost segment \(lost)")
        #expect(exchange.connection.error == nil)
        #expect(world.server.tcp.connectionCount == 0, "the server side closed too")
    }

    @Test func survivesDuplicationAndReordering() throws {
        let world = TCPWorld()
        world.reorder = true
        world.copies = { frame, index in TCPWorld.isTCP(frame) && index % 5 == 0 ? 2 : 1 }
        let data = pattern(60_000, seed: 9)
        let (exchange, _) = try #require(echo(world, bytes: data))
        let intact3 = sameBytes(exchange.received, data)
        #expect(intact3)
        let counters = world.server.tcp.counters
        #expect(counters[.outOfOrderSegments] + counters[.duplicateSegments] > 0)
    }

    @Test func steadyLossIsRecoveredWithFastRetransmit() throws {
        let world = TCPWorld()
        world.copies = { frame, index in TCPWorld.isTCP(frame) && index % 17 == 0 ? 0 : 1 }
        let data = pattern(200_000, seed: 3)
        let (exchange, _) = try #require(echo(world, bytes: data, limit: .seconds(600)))
        let intact4 = sameBytes(exchange.received, data)
        #expect(intact4)
        #expect(world.client.tcp.counters[.fastRetransmits] + world.server.tcp.counters[.fastRetransmits] > 0)
    }

    @Test func aZeroWindowIsProbedAndReopens() throws {
        var configuration = TCPConfiguration()
        configuration.receiveBufferSize = 4096
        let world = TCPWorld(configuration: configuration)
        let listener = try #require(world.server.tcp.listen(port: 9, addresses: [world.serverAddress]))
        var reading = false
        var received: [UInt8] = []
        var serverSide: TCPConnection?
        listener.onAcceptable = {
            serverSide = listener.accept()
        }
        let connection = try #require(world.client.tcp.connect(from: world.clientAddress, to: world.serverAddress, port: 9, now: world.now))
        let data = pattern(20_000, seed: 4)
        var written = 0
        world.run(for: .seconds(10)) {
            if written < data.count { written += data[written...].withUnsafeBytes { connection.write($0) } }
            return false
        }
        // The reader has not read: its window is shut and the sender is probing.
        #expect(serverSide?.readableBytes == 4096)
        #expect(received.isEmpty)
        #expect(connection.sendWindow == 0)
        let probesBefore = world.client.tcp.counters[.segmentsSent]
        reading = true
        world.run(for: .seconds(120)) {
            if written < data.count { written += data[written...].withUnsafeBytes { connection.write($0) } }
            if reading, let serverSide {
                var chunk = [UInt8](repeating: 0, count: 1024)
                while true {
                    let count = chunk.withUnsafeMutableBytes { serverSide.read(into: $0) }
                    if count == 0 { break }
                    received += chunk[0..<count]
                }
            }
            return received.count == data.count
        }
        let intact5 = sameBytes(received, data)
        #expect(intact5)
        #expect(world.client.tcp.counters[.segmentsSent] > probesBefore)
    }

    @Test func simultaneousCloseEndsCleanlyOnBothSides() throws {
        let world = TCPWorld()
        let listener = try #require(world.server.tcp.listen(port: 5000, addresses: [world.serverAddress]))
        var serverSide: TCPConnection?
        listener.onAcceptable = { serverSide = listener.accept() }
        let connection = try #require(world.client.tcp.connect(from: world.clientAddress, to: world.serverAddress, port: 5000, now: world.now))
        world.run(for: .seconds(5)) { serverSide != nil && connection.state == .established }
        let peer = try #require(serverSide)
        // Both close before either FIN arrives.
        connection.close()
        peer.close()
        world.run(for: .seconds(5)) { connection.isFinished && peer.isFinished }
        #expect(connection.state == .timeWait && peer.state == .timeWait)
        #expect(connection.error == nil && peer.error == nil)
        #expect(world.client.tcp.count(in: .timeWait) == 1 && world.server.tcp.count(in: .timeWait) == 1)
        // TIME-WAIT ends after its interval.
        world.run(for: .seconds(40))
        #expect(world.client.tcp.timeWaitCount == 0 && world.server.tcp.timeWaitCount == 0)
    }

    @Test func connectingToAClosedPortIsRefused() throws {
        let world = TCPWorld()
        let connection = try #require(world.client.tcp.connect(from: world.clientAddress, to: world.serverAddress, port: 4444, now: world.now))
        world.run(for: .seconds(5)) { connection.isFinished }
        #expect(connection.error == .refused)
        #expect(world.server.tcp.counters[.resetsSent] == 1)
    }

    @Test func connectTimesOutWhenNothingAnswers() throws {
        let world = TCPWorld()
        world.copies = { frame, _ in TCPWorld.isTCP(frame) ? 0 : 1 }
        let connection = try #require(world.client.tcp.connect(from: world.clientAddress, to: world.serverAddress, port: 7, now: world.now))
        world.run(for: .seconds(60)) { connection.isFinished }
        #expect(connection.error == .timedOut)
        #expect(world.client.tcp.counters[.retransmissions] >= 2, "the SYN is retransmitted with backoff")
    }

    @Test func aDeadPeerTimesTheConnectionOutAfterBoundedRetries() throws {
        var configuration = TCPConfiguration()
        configuration.maximumRetransmissions = 4
        let world = TCPWorld(configuration: configuration)
        let listener = try #require(world.server.tcp.listen(port: 9, addresses: [world.serverAddress]))
        listener.onAcceptable = { _ = listener.accept() }
        let connection = try #require(world.client.tcp.connect(from: world.clientAddress, to: world.serverAddress, port: 9, now: world.now))
        world.run(for: .seconds(5)) { connection.state == .established }
        world.copies = { frame, _ in TCPWorld.isTCP(frame) ? 0 : 1 }
        _ = pattern(1000).withUnsafeBytes { connection.write($0) }
        world.run(for: .seconds(600)) { connection.isFinished }
        #expect(connection.error == .timedOut)
        #expect(world.client.tcp.counters[.retransmissions] == 4)
    }

    @Test func resetsFollowRFC5961() throws {
        let world = TCPWorld()
        let listener = try #require(world.server.tcp.listen(port: 80, addresses: [world.serverAddress]))
        var serverSide: TCPConnection?
        listener.onAcceptable = { serverSide = listener.accept() }
        let connection = try #require(world.client.tcp.connect(from: world.clientAddress, to: world.serverAddress, port: 80, now: world.now))
        world.run(for: .seconds(5)) { serverSide != nil && connection.state == .established }
        let peer = try #require(serverSide)

        func inject(sequence: SequenceNumber) {
            var segment = [UInt8](repeating: 0, count: 20)
            segment.withUnsafeMutableBytes { bytes in
                TCPSegment.emit(into: bytes, sourcePort: connection.endpoints.localPort, destinationPort: 80,
                                sequenceNumber: sequence.raw, acknowledgmentNumber: 0, flags: [.rst], window: 0,
                                payloadLength: 0, source: world.clientAddress, destination: world.serverAddress)
                world.server.tcp.receive(bytes, source: world.clientAddress, destination: world.serverAddress, now: world.now)
            }
        }
        // In the window but not exact: a challenge ACK, the connection lives.
        inject(sequence: peer.receiveNext + 100)
        #expect(world.server.tcp.counters[.challengeACKs] == 1)
        #expect(peer.state == .established)
        // Outside the window: ignored.
        inject(sequence: peer.receiveNext + 100_000)
        #expect(peer.state == .established)
        // Exact: reset.
        inject(sequence: peer.receiveNext)
        #expect(peer.state == .closed && peer.error == .reset)
        #expect(world.server.tcp.counters[.resetsReceived] == 1)
    }

    enum ResetTarget: String, CaseIterable, Sendable {
        case established, finWait1, finWait2, closeWait, lastAck
    }

    /// An exact RST ends the connection in every synchronized state.
    @Test(arguments: ResetTarget.allCases)
    func anExactResetEndsTheConnection(in target: ResetTarget) throws {
        let world = TCPWorld()
        let listener = try #require(world.server.tcp.listen(port: 80, addresses: [world.serverAddress]))
        var serverSide: TCPConnection?
        listener.onAcceptable = { serverSide = listener.accept() }
        let client = try #require(world.client.tcp.connect(from: world.clientAddress, to: world.serverAddress, port: 80, now: world.now))
        world.run(for: .seconds(5)) { serverSide != nil && client.state == .established }
        let server = try #require(serverSide)
        let dropAll: (TCPWorld.Frame, Int) -> Int = { frame, _ in TCPWorld.isTCP(frame) ? 0 : 1 }
        let dropToServer: (TCPWorld.Frame, Int) -> Int = { frame, _ in TCPWorld.isTCP(frame) && frame.toServer ? 0 : 1 }
        var victim = client
        switch target {
        case .established:
            break
        case .finWait1:
            world.copies = dropAll
            client.close()
            world.run(for: .milliseconds(100))
        case .finWait2:
            client.close()
            world.run(for: .seconds(1)) { client.state == .finWait2 }
        case .closeWait:
            client.close()
            world.run(for: .seconds(1)) { server.state == .closeWait }
            victim = server
        case .lastAck:
            client.close()
            world.run(for: .seconds(1)) { server.state == .closeWait }
            world.copies = dropToServer
            server.close()
            world.run(for: .milliseconds(100))
            victim = server
        }
        let expected: TCPState = switch target {
        case .established: .established
        case .finWait1: .finWait1
        case .finWait2: .finWait2
        case .closeWait: .closeWait
        case .lastAck: .lastAck
        }
        #expect(victim.state == expected)
        let layer = victim === client ? world.client.tcp : world.server.tcp
        var segment = [UInt8](repeating: 0, count: 20)
        segment.withUnsafeMutableBytes { bytes in
            let pair = victim.endpoints
            TCPSegment.emit(into: bytes, sourcePort: pair.remotePort, destinationPort: pair.localPort,
                            sequenceNumber: victim.receiveNext.raw, acknowledgmentNumber: 0, flags: [.rst], window: 0,
                            payloadLength: 0, source: pair.remoteAddress, destination: pair.localAddress)
            layer.receive(bytes, source: pair.remoteAddress, destination: pair.localAddress, now: world.now)
        }
        #expect(victim.state == .closed && victim.error == .reset)
        #expect(layer.connectionCount == 0)
    }

    @Test func sequenceNumbersWrapCleanly() throws {
        // Both ISNs a few hundred bytes below 2^32.
        let world = TCPWorld(serverRandom: { 0xFFFF_FE00 }, clientRandom: { 0xFFFF_FF00 })
        let data = pattern(50_000, seed: 5)
        let (exchange, _) = try #require(echo(world, bytes: data))
        let intact6 = sameBytes(exchange.received, data)
        #expect(intact6)
        #expect(SequenceNumber(0xFFFF_FFF0) < SequenceNumber(0x10))
        #expect(SequenceNumber(0x10) - SequenceNumber(0xFFFF_FFF0) == 0x20)
    }

    @Test func aSynFloodGetsCookiesAndEstablishedConnectionsCarryOn() throws {
        var configuration = TCPConfiguration()
        configuration.maximumHalfOpen = 8
        let world = TCPWorld(configuration: configuration)
        let listener = try #require(world.server.tcp.listen(port: 7, addresses: [world.serverAddress]))
        let service = TCPTestService(kind: .echo, listener: listener)
        let connection = try #require(world.client.tcp.connect(from: world.clientAddress, to: world.serverAddress, port: 7, now: world.now))
        let exchange = Exchange(connection, payload: pattern(20_000, seed: 6))
        world.run(for: .seconds(5)) { connection.state == .established }

        // 2,000 SYNs from spoofed ports that never complete.
        for port in 0..<2000 {
            var segment = [UInt8](repeating: 0, count: 24)
            segment.withUnsafeMutableBytes { bytes in
                TCPSegment.emit(into: bytes, sourcePort: UInt16(10_000 + port), destinationPort: 7, sequenceNumber: UInt32(port),
                                acknowledgmentNumber: 0, flags: [.syn], window: 8192, mss: 1460, payloadLength: 0,
                                source: IPv4Address(10, 0, 1, 99), destination: world.serverAddress)
                world.server.tcp.receive(bytes, source: IPv4Address(10, 0, 1, 99), destination: world.serverAddress, now: world.now)
            }
        }
        #expect(world.server.tcp.connectionCount <= configuration.maximumHalfOpen + 1)
        #expect(world.server.tcp.counters[.synCookiesSent] >= 1990)
        // The established connection still works.
        connection.onEvent = { _ in exchange.pump() }
        world.run(for: .seconds(120)) {
            exchange.pump()
            return exchange.received.count == exchange.payload.count
        }
        let intact7 = sameBytes(exchange.received, exchange.payload)
        #expect(intact7)
        #expect(service.accepted == 1)
    }

    @Test func aCookieHandshakeCompletes() throws {
        var configuration = TCPConfiguration()
        configuration.maximumHalfOpen = 0
        let world = TCPWorld(configuration: configuration)
        let data = pattern(10_000, seed: 7)
        let (exchange, _) = try #require(echo(world, bytes: data))
        let intact8 = sameBytes(exchange.received, data)
        #expect(intact8)
        #expect(world.server.tcp.counters[.synCookiesSent] == 1 && world.server.tcp.counters[.synCookiesAccepted] == 1)
    }

    /// A peer advertising a tiny MSS (0 stalls the congestion window, 1
    /// multiplies segments) is sent segments of `minimumPeerMSS`, and the data arrives.
    @Test(arguments: [0, 1] as [UInt16])
    func aTinyPeerMSSIsRaisedToTheMinimum(mss: UInt16) throws {
        let world = TCPWorld()
        world.client.tcp.configuration.mss = mss
        let listener = try #require(world.server.tcp.listen(port: 19, addresses: [world.serverAddress]))
        _ = TCPTestService(kind: .chargen, listener: listener)
        var largest = 0
        var serverSegments = 0
        world.copies = { frame, _ in
            if TCPWorld.isTCP(frame) && !frame.toServer {
                let ipHeader = Int(frame.bytes[14] & 0x0F) * 4
                let total = Int(frame.bytes[16]) << 8 | Int(frame.bytes[17])
                let tcpHeader = Int(frame.bytes[14 + ipHeader + 12] >> 4) * 4
                let payload = total - ipHeader - tcpHeader
                if payload > 0 {
                    serverSegments += 1
                    largest = Swift.max(largest, payload)
                }
            }
            return 1
        }
        let connection = try #require(world.client.tcp.connect(from: world.clientAddress, to: world.serverAddress, port: 19, now: world.now))
        var received = 0
        world.run(for: .seconds(30)) {
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = chunk.withUnsafeMutableBytes { connection.read(into: $0) }
                if count == 0 { break }
                received += count
            }
            return received >= 50_000
        }
        #expect(received >= 50_000)
        #expect(largest == TCPConfiguration.minimumPeerMSS)
        #expect(serverSegments > 0)
        connection.abort()
    }

    @Test func limitsAreEnforcedAndCounted() throws {
        var configuration = TCPConfiguration()
        configuration.maximumConnections = 4
        configuration.maximumTimeWait = 2
        let world = TCPWorld(configuration: configuration)
        var connections: [TCPConnection] = []
        for _ in 0..<6 {
            if let connection = world.client.tcp.connect(from: world.clientAddress, to: world.serverAddress, port: 1, now: world.now) {
                connections.append(connection)
            }
        }
        #expect(connections.count == 4)
        #expect(world.client.tcp.counters[.connectionLimitHits] == 2)

        let listener = try #require(world.server.tcp.listen(port: 7, addresses: [world.serverAddress]))
        _ = TCPTestService(kind: .echo, listener: listener)
        world.run(for: .seconds(5))  // the four connects to port 1 are refused
        for _ in 0..<4 {
            let connection = try #require(world.client.tcp.connect(from: world.clientAddress, to: world.serverAddress, port: 7, now: world.now))
            let exchange = Exchange(connection, payload: [1, 2, 3])
            connection.onEvent = { _ in exchange.pump() }
            world.run(for: .seconds(30)) {
                exchange.pump()
                return connection.isFinished
            }
        }
        #expect(world.client.tcp.timeWaitCount == 2)
        #expect(world.client.tcp.counters[.timeWaitLimitHits] == 2)
    }

    @Test func reassemblyMergesRangesWithinItsLimit() {
        var ranges = ReassemblyRanges(limit: 3)
        let inserted = [ranges.insert(10, 20), ranges.insert(30, 40), ranges.insert(18, 32)]
        #expect(inserted == [true, true, true])
        #expect(ranges.ranges.count == 1 && ranges.ranges[0].start == 10 && ranges.ranges[0].end == 40)
        let more = [ranges.insert(50, 60), ranges.insert(70, 80), ranges.insert(90, 100)]
        #expect(more == [true, true, false], "a fourth separate range exceeds the limit")
        let contiguous = ranges.advance(by: 10)
        #expect(contiguous == 30, "bytes 10..<40 become contiguous")
        #expect(ranges.ranges.count == 2 && ranges.ranges[0].start == 10)
    }

    @Test func theByteRingWrapsAndPeeks() {
        var ring = ByteRing(capacity: 8)
        defer { ring.release() }
        let first = ([1, 2, 3, 4, 5, 6] as [UInt8]).withUnsafeBytes { ring.append($0) }
        var out = [UInt8](repeating: 0, count: 4)
        let read = out.withUnsafeMutableBytes { ring.read(into: $0) }
        let second = ([7, 8, 9, 10, 11, 12] as [UInt8]).withUnsafeBytes { ring.append($0) }
        #expect(first == 6 && read == 4 && second == 6)
        #expect(ring.count == 8 && ring.free == 0)
        var all = [UInt8](repeating: 0, count: 8)
        let peeked = all.withUnsafeMutableBytes { ring.peek(from: 0, into: $0) }
        #expect(peeked == 8)
        #expect(all == [5, 6, 7, 8, 9, 10, 11, 12])
    }
}
