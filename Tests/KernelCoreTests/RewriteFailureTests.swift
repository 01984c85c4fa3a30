import Testing
@testable import KernelCore

/// Each reason the NAT rewrite refuses a packet is reported, and counted,
/// on its own.
@Suite struct RewriteFailureTests {
    static let client = IPv4Address(192, 0, 2, 7)
    static let vip = IPv4Address(10, 0, 2, 15)

    /// A well-formed TCP packet from the client to the service, then `spoil` applied to its bytes.
    static func packet(ttl: UInt8 = 64, _ spoil: (UnsafeMutableRawBufferPointer) -> Void = { _ in }) -> [UInt8] {
        var bytes = BalancerHarness.packet(from: client, 4000, to: vip, 80, flags: [.ack], seq: 1, ack: 1, payload: 4)
        bytes.withUnsafeMutableBytes { raw in
            let ip = try! IPv4Packet(parsing: raw)
            ip.setTimeToLive(ttl)
            ip.fillChecksum()
            spoil(raw)
        }
        return bytes
    }

    static func rewrite(_ bytes: [UInt8]) -> (failure: NATRewrite.Failure?, after: [UInt8]) {
        var bytes = bytes
        let failure: NATRewrite.Failure? = bytes.withUnsafeMutableBytes { raw in
            do throws(NATRewrite.Failure) {
                try NATRewrite.rewrite(raw, source: IPv4Address(10, 0, 3, 15), sourcePort: 1024,
                                       destination: IPv4Address(10, 0, 3, 2), destinationPort: 8081)
                return nil
            } catch {
                return error
            }
        }
        return (failure, bytes)
    }

    static let cases: [(String, [UInt8], NATRewrite.Failure)] = [
        ("IPv4 total length past the buffer", Array(packet().prefix(43)), .truncated),
        ("TCP data offset past the segment", packet { $0[32] = 0xF0 }, .truncated),
        ("UDP length past the datagram", packet { $0[9] = 17; $0.setU16(200, at: 24) }, .truncated),
        ("IPv6 version nibble", packet { $0[0] = 0x65 }, .malformed),
        ("IPv4 header length under 20", packet { $0[0] = 0x44 }, .malformed),
        ("TCP data offset under 20", packet { $0[32] = 0x40 }, .malformed),
        ("UDP length under its header", packet { $0[9] = 17; $0.setU16(7, at: 24) }, .malformed),
        ("ICMP", packet { $0[9] = 1 }, .notTCPOrUDP),
        ("GRE", packet { $0[9] = 47 }, .notTCPOrUDP),
        ("TTL 1", packet(ttl: 1), .ttlExpired),
        ("TTL 0", packet(ttl: 0), .ttlExpired),
    ]

    @Test(arguments: cases.indices)
    func eachReasonIsReportedAndNothingIsWritten(index: Int) {
        let (label, bytes, expected) = Self.cases[index]
        let (failure, after) = Self.rewrite(bytes)
        #expect(failure == expected, "\(label)")
        #expect(after == bytes, "\(label): a refused packet is left as it was")
    }

    @Test func aWellFormedPacketIsRewritten() {
        #expect(Self.rewrite(Self.packet()).failure == nil)
    }

    @Test func eachReasonHasACounterOfItsOwn() {
        let failures: [NATRewrite.Failure] = [.truncated, .malformed, .notTCPOrUDP, .ttlExpired]
        let counters = failures.map { BalancerCounter($0) }
        #expect(Set(counters.map(\.rawValue)).count == failures.count)
        #expect(counters.map { "\($0.name)" } == ["rewrite-truncated", "rewrite-malformed", "rewrite-not-tcp-udp", "ttl-expired"])
        #expect(!counters.contains(.invalidPackets) && !counters.contains(.badChecksum))
    }

    /// The balancer counts an expiring TTL as such, in both directions,
    /// and nothing else.
    @Test func theBalancerCountsAnExpiringTTLUnderItsOwnName() throws {
        let world = BalancerHarness()
        var connection = try #require(world.connect(port: 4000))
        var dying = BalancerHarness.packet(from: connection.client, connection.clientPort, to: world.vip, 80, flags: [.ack],
                                           seq: connection.clientNext, ack: connection.backendNext, payload: 3)
        dying.withUnsafeMutableBytes { raw in
            let ip = try! IPv4Packet(parsing: raw)
            ip.setTimeToLive(1)
            ip.fillChecksum()
        }
        #expect(world.fromClient(dying).verdict == .drop)
        #expect(world.balancer.counters[.ttlExpired] == 1)
        var reply = BalancerHarness.packet(from: world.backendHost, connection.backendPort, to: world.appliance, connection.snatPort,
                                           flags: [.ack], seq: connection.backendNext, ack: connection.clientNext)
        reply.withUnsafeMutableBytes { raw in
            let ip = try! IPv4Packet(parsing: raw)
            ip.setTimeToLive(1)
            ip.fillChecksum()
        }
        #expect(world.fromBackend(reply).verdict == .drop)
        #expect(world.balancer.counters[.ttlExpired] == 2)
        world.balancer.counters.forEach { key, value in
            if key != .ttlExpired { #expect(value == 0, "\(key.name)") }
        }
        #expect(world.clientSends(&connection).forwarded, "the flow itself is unharmed")
    }
}
