import Testing
@testable import KernelCore

/// Drives a `LoadBalancer` with raw IPv4 packets, as the stack does, so
/// handshakes, floods and forged segments can be scripted with exact
/// sequence numbers and simulated time.
final class BalancerHarness {
    let balancer: LoadBalancer
    let vip = IPv4Address(10, 0, 2, 15)
    let appliance = IPv4Address(10, 0, 3, 15)
    let backendHost = IPv4Address(10, 0, 3, 2)
    var now = Instant(nanoseconds: 1_000_000_000)

    /// `retries` defaults to 0 (no redispatch): the suites that do not
    /// test redispatch see a refused SYN's reset reach the client.
    init(capacity: Int = 1024, backends: Int = 3, maximumConnections: Int = 0, backendLimit: Int = 0, halfOpenLimit: Int? = nil,
         algorithm: BalancingAlgorithm = .roundRobin, retries: Int = 0, connectTimeout: Interval = .seconds(1),
         errorLimit: Int = HealthCheckConfiguration().errorLimit) {
        let names: [StaticString] = ["web1", "web2", "web3", "web4", "web5"]
        let configurations = (0..<backends).map {
            BackendConfiguration(name: names[$0], address: IPv4Address(10, 0, 3, 2), port: UInt16(8081 + $0),
                                 maximumConnections: backendLimit)
        }
        balancer = LoadBalancer(
            services: [ServiceConfiguration(name: "web", port: 80, algorithm: algorithm, backends: configurations,
                                            health: HealthCheckConfiguration(errorLimit: errorLimit),
                                            maximumConnections: maximumConnections, retries: retries, connectTimeout: connectTimeout)],
            publicAddress: vip, privateAddress: appliance, connectionCapacity: capacity, halfOpenLimit: halfOpenLimit)
        let service = balancer.services[0]
        for backend in service.backends {
            for _ in 0..<2 { balancer.recordCheck(service: service, backend: backend, outcome: .passed, latency: nil, now: now) }
        }
    }

    var service: LoadBalancer.Service { balancer.services[0] }

    /// An IPv4 packet carrying a TCP segment, with correct checksums unless `corrupt`.
    static func packet(from source: IPv4Address, _ sourcePort: UInt16, to destination: IPv4Address, _ destinationPort: UInt16,
                       flags: TCPSegment.Flags, seq: UInt32, ack: UInt32, window: UInt16 = 65_535, payload: Int = 0,
                       windowScale: UInt8? = nil, corrupt: Bool = false) -> [UInt8] {
        let tcpHeader = windowScale == nil ? 20 : 24
        var bytes = [UInt8](repeating: 0, count: 20 + tcpHeader + payload)
        bytes.withUnsafeMutableBytes { raw in
            let tcp = raw.slice(20, raw.count)
            tcp.setU16(sourcePort, at: 0)
            tcp.setU16(destinationPort, at: 2)
            tcp.setU32(seq, at: 4)
            tcp.setU32(ack, at: 8)
            tcp[12] = UInt8(tcpHeader / 4) << 4
            tcp[13] = flags.rawValue
            tcp.setU16(window, at: 14)
            if let windowScale {
                tcp[20] = 1
                tcp[21] = 3
                tcp[22] = 3
                tcp[23] = windowScale
            }
            for index in 0..<payload { tcp[tcpHeader + index] = UInt8(truncatingIfNeeded: index) }
            (try! TCPSegment(parsing: tcp)).fillChecksum(source: source, destination: destination)
            if corrupt { tcp[16] ^= 0x5A }
            _ = IPv4Packet.emit(into: raw, source: source, destination: destination, protocolNumber: 6,
                                payloadLength: tcpHeader + payload)
        }
        return bytes
    }

    /// What the balancer did with a packet, and the packet as it left.
    struct Outcome {
        var verdict: LoadBalancer.Verdict
        var bytes: [UInt8]

        var forwarded: Bool { if case .forward = verdict { return true } else { return false } }
        var sourcePort: UInt16 { UInt16(bytes[20]) << 8 | UInt16(bytes[21]) }
        var destinationPort: UInt16 { UInt16(bytes[22]) << 8 | UInt16(bytes[23]) }
    }

    func fromClient(_ bytes: [UInt8]) -> Outcome {
        var bytes = bytes
        let verdict = bytes.withUnsafeMutableBytes { balancer.fromClient($0, now: now) }
        return Outcome(verdict: verdict, bytes: bytes)
    }

    /// Bytes a packet buffer offers after the Ethernet header, as the stack hands them over.
    static let room = PacketBuffer.maximumFrameLength - EthernetFrame.headerLength

    /// The packet in a buffer with room past its end, as on the private
    /// NIC: a packet the balancer builds in its place comes back as sent.
    func fromBackend(_ bytes: [UInt8]) -> Outcome {
        var buffer = bytes + [UInt8](repeating: 0, count: Self.room - bytes.count)
        let verdict = buffer.withUnsafeMutableBytes { balancer.fromBackend($0, now: now) }
        if case .send(_, let length) = verdict { return Outcome(verdict: verdict, bytes: Array(buffer[0..<length])) }
        return Outcome(verdict: verdict, bytes: Array(buffer[0..<bytes.count]))
    }

    /// The packets the balancer sends for connect deadlines passed by `now`.
    func expireConnects() -> [Outcome] {
        var sent: [Outcome] = []
        while true {
            var buffer = [UInt8](repeating: 0, count: Self.room)
            guard let emission = buffer.withUnsafeMutableBytes({ balancer.expireConnect(now: now, into: $0) }) else { break }
            sent.append(Outcome(verdict: .send(to: emission.target, length: emission.length), bytes: Array(buffer[0..<emission.length])))
        }
        return sent
    }

    /// One TCP connection through the balancer: both ends' next sequence
    /// numbers and the ports the balancer chose.
    struct Connection {
        var client: IPv4Address
        var clientPort: UInt16
        var clientNext: UInt32
        var backendNext: UInt32 = 0
        var backendPort: UInt16 = 0
        var snatPort: UInt16 = 0
    }

    /// The client's SYN; nil when the balancer did not forward it.
    func syn(from client: IPv4Address, port: UInt16, isn: UInt32, windowScale: UInt8? = nil) -> Connection? {
        let sent = fromClient(Self.packet(from: client, port, to: vip, 80, flags: [.syn], seq: isn, ack: 0, windowScale: windowScale))
        guard sent.forwarded else { return nil }
        return Connection(client: client, clientPort: port, clientNext: isn &+ 1, backendPort: sent.destinationPort,
                          snatPort: sent.sourcePort)
    }

    /// The backend's SYN-ACK; true when forwarded to the client.
    @discardableResult
    func synAck(_ connection: inout Connection, isn: UInt32, windowScale: UInt8? = nil) -> Bool {
        connection.backendNext = isn &+ 1
        return fromBackend(Self.packet(from: backendHost, connection.backendPort, to: appliance, connection.snatPort,
                                       flags: [.syn, .ack], seq: isn, ack: connection.clientNext, windowScale: windowScale)).forwarded
    }

    /// A client segment acknowledging everything the backend sent.
    @discardableResult
    func clientSends(_ connection: inout Connection, flags: TCPSegment.Flags = [.ack], payload: Int = 0, window: UInt16 = 65_535,
                     seqOffset: UInt32 = 0, corrupt: Bool = false) -> Outcome {
        let outcome = fromClient(Self.packet(
            from: connection.client, connection.clientPort, to: vip, 80, flags: flags, seq: connection.clientNext &+ seqOffset,
            ack: connection.backendNext, window: window, payload: payload, corrupt: corrupt))
        if outcome.forwarded && seqOffset == 0 {
            connection.clientNext &+= UInt32(payload) + (flags.contains(.fin) ? 1 : 0)
        }
        return outcome
    }

    /// A backend segment acknowledging everything the client sent.
    @discardableResult
    func backendSends(_ connection: inout Connection, flags: TCPSegment.Flags = [.ack], payload: Int = 0, window: UInt16 = 65_535,
                      seqOffset: UInt32 = 0, corrupt: Bool = false) -> Outcome {
        let outcome = fromBackend(Self.packet(
            from: backendHost, connection.backendPort, to: appliance, connection.snatPort, flags: flags,
            seq: connection.backendNext &+ seqOffset, ack: connection.clientNext, window: window, payload: payload, corrupt: corrupt))
        if outcome.forwarded && seqOffset == 0 {
            connection.backendNext &+= UInt32(payload) + (flags.contains(.fin) ? 1 : 0)
        }
        return outcome
    }

    /// SYN, SYN-ACK and the client's ACK; nil when any step was not forwarded.
    func connect(from client: IPv4Address = IPv4Address(192, 0, 2, 7), port: UInt16, isn: UInt32 = 1000) -> Connection? {
        guard var connection = syn(from: client, port: port, isn: isn), synAck(&connection, isn: isn &* 7 &+ 90_000) else { return nil }
        guard clientSends(&connection).forwarded else { return nil }
        return connection
    }

    /// The tracked flow of `connection`.
    func entry(_ connection: Connection) -> ConnectionTracker.Entry? {
        balancer.tracker.lookupClient(connection.client, connection.clientPort, vip, 80, protocolNumber: 6)
            .map { balancer.tracker.entries[$0] }
    }
}
