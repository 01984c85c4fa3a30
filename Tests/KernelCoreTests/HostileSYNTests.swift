import Testing
@testable import KernelCore

/// A client must not be able to choose a SYN a healthy backend stays
/// silent to: each silence is a connect timeout, and passive health takes
/// a backend out of rotation after a few. Every such SYN is either dropped
/// before it opens a flow or made into one the backend answers.
@Suite struct HostileSYNTests {
    static let isn: UInt32 = 0x1234_5678

    /// A client SYN with `options` and `payload`, its TTL set (and the IPv4
    /// checksum refilled) or its TCP checksum broken.
    static func syn(port: UInt16, to vip: IPv4Address, options: [UInt8], payload: [UInt8] = [], ttl: UInt8? = nil,
                    corruptChecksum: Bool = false) -> [UInt8] {
        var bytes = BalancerHarness.clientSYN(port: port, isn: isn, to: vip, options: options, payload: payload)
        if corruptChecksum { bytes[20 + 16] ^= 0x40 }
        if let ttl {
            bytes[8] = ttl
            bytes[10] = 0
            bytes[11] = 0
            var sum: UInt32 = 0
            for word in 0..<10 { sum += UInt32(bytes[2 * word]) << 8 | UInt32(bytes[2 * word + 1]) }
            while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
            bytes[10] = UInt8(~UInt16(sum) >> 8)
            bytes[11] = UInt8(~UInt16(sum) & 0xFF)
        }
        return bytes
    }

    /// MSS 1460, then TCP-MD5 (kind 19, 18 bytes), then an unknown kind 99 of 4 bytes.
    static let md5Options: [UInt8] = [2, 4, 0x05, 0xB4, 19, 18] + [UInt8](repeating: 0xAB, count: 16) + [99, 4, 1, 2]

    @Test func optionsABackendDropsSYNsForAreOverwrittenWithNOPs() throws {
        let world = BalancerHarness(retries: 2)
        let sent = world.fromClient(Self.syn(port: 40_001, to: world.vip, options: Self.md5Options))
        #expect(sent.forwarded)
        let packet = try SentPacket(sent.bytes)
        #expect(packet.checksumsValid, "the checksum is refilled after the options change")
        #expect(Array(packet.options.prefix(4)) == [2, 4, 0x05, 0xB4], "MSS is kept")
        #expect(Array(packet.options[4..<26]) == [UInt8](repeating: 1, count: 22), "MD5 and the unknown option are NOPs")
        // The kept header is what a redispatch re-sends: neutralised too.
        let resent = world.refuse(backendPort: sent.destinationPort, snatPort: sent.sourcePort, isn: Self.isn)
        guard case .send = resent.verdict else {
            Issue.record("expected a re-sent SYN, got \(resent.verdict)")
            return
        }
        let again = try SentPacket(resent.bytes)
        #expect(again.options == packet.options && again.checksumsValid)
    }

    @Test func aMalformedOptionListIsNeutralisedToTheEnd() throws {
        let world = BalancerHarness(retries: 2)
        // MSS, then an option whose length runs past the header.
        let sent = world.fromClient(Self.syn(port: 40_002, to: world.vip, options: [2, 4, 0x05, 0xB4, 8, 40, 1, 1]))
        #expect(sent.forwarded)
        let packet = try SentPacket(sent.bytes)
        #expect(packet.checksumsValid && Array(packet.options[4...]) == [1, 1, 1, 1])
    }

    @Test func aSYNWithABadChecksumOpensNoFlow() {
        let world = BalancerHarness(retries: 2)
        let sent = world.fromClient(Self.syn(port: 40_003, to: world.vip, options: [2, 4, 0x05, 0xB4], corruptChecksum: true))
        #expect(sent.verdict == .drop)
        #expect(world.balancer.tracker.count == 0 && world.balancer.tracker.attempts.count == 0)
        #expect(world.balancer.counters[.badChecksum] == 1)
    }

    @Test func aSYNCarryingDataOpensNoFlow() {
        let world = BalancerHarness(retries: 2)
        let sent = world.fromClient(Self.syn(port: 40_004, to: world.vip, options: [2, 4, 0x05, 0xB4], payload: Array("GET / HTTP/1.0\r\n".utf8)))
        #expect(sent.verdict == .drop)
        #expect(world.balancer.tracker.count == 0 && world.balancer.counters[.invalidPackets] == 1)
    }

    @Test func aSYNThatCannotBeForwardedLeavesNoFlowToTimeOut() {
        let world = BalancerHarness(retries: 2)
        let sent = world.fromClient(Self.syn(port: 40_005, to: world.vip, options: [2, 4, 0x05, 0xB4], ttl: 1))
        #expect(sent.verdict == .drop)
        #expect(world.balancer.tracker.count == 0 && world.balancer.tracker.attempts.count == 0)
        #expect(world.balancer.counters[.ttlExpired] == 1)
    }

    /// The attack end to end: hostile SYNs of every kind, many times over,
    /// and no backend is charged a failure or leaves the rotation.
    @Test func noHostileSYNChargesABackend() {
        let world = BalancerHarness(retries: 2)
        for round in 0..<30 {
            let port = UInt16(41_000 + round * 4)
            _ = world.fromClient(Self.syn(port: port, to: world.vip, options: [2, 4, 0x05, 0xB4], corruptChecksum: true))
            _ = world.fromClient(Self.syn(port: port + 1, to: world.vip, options: [], payload: [1, 2, 3]))
            _ = world.fromClient(Self.syn(port: port + 2, to: world.vip, options: [], ttl: 1))
        }
        world.now = world.now + .seconds(5)
        #expect(world.expireConnects().isEmpty)
        for backend in world.service.backends {
            #expect(backend.health.status == .up && backend.statistics.connectTimeouts == 0 && backend.statistics.connectRefused == 0)
        }
    }
}
