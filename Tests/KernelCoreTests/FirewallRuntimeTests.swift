import Testing
@testable import KernelCore

private func packet(_ protocolNumber: UInt8 = 6, source: UInt32 = 0x0A00_0202, port: UInt16 = 80, length: Int = 60)
    -> FirewallPacket
{
    FirewallPacket(direction: .inbound, interface: .public, protocolNumber: protocolNumber, source: source,
                   destination: 0x0A00_020F, sourcePort: 40000, destinationPort: port, length: length)
}

@Suite struct FirewallRuntimeTests {
    @Test func countsRulesAndPoliciesAndAppliesTheInterfacesDefault() {
        let firewall = Firewall(
            rules: [FirewallRuleDescriptor(action: .accept), FirewallRuleDescriptor(action: .reject)],
            policies: [FirewallPolicy(.inbound, .public, .drop)]
        ) { $0.destinationPort == 80 ? 0 : $0.destinationPort == 23 ? 1 : -1 }
        let now = Instant(nanoseconds: 5_000)
        #expect(firewall.evaluate(packet(port: 80, length: 100), now: now) == Firewall.Decision(action: .accept, rule: 0, rateLimited: false))
        #expect(firewall.evaluate(packet(port: 23), now: now).action == .reject)
        #expect(firewall.evaluate(packet(port: 22), now: now) == Firewall.Decision(action: .drop, rule: -1, rateLimited: false))
        var outbound = packet(port: 22)
        outbound.direction = .outbound
        #expect(firewall.evaluate(outbound, now: now).action == .accept, "unstated policies accept")
        let hits = firewall.ruleCounters[0]
        #expect(hits.packets == 1 && hits.bytes == 100 && hits.lastHit == now && hits.rateLimited == 0)
        let policy = firewall.policyCounters[packet().policyIndex]
        #expect(policy.packets == 1 && policy.bytes == 60)
        #expect(firewall.policyCounters[outbound.policyIndex].packets == 1)
        firewall.resetCounters()
        #expect(firewall.ruleCounters[0] == Firewall.RuleCounters())
        #expect(firewall.policyCounters.allSatisfy { $0.packets == 0 })
    }

    @Test func aRateLimitAdmitsItsBurstPerSourceThenItsRate() {
        let limit = FirewallRateLimit(packets: 10, per: .seconds(1), burst: 3)
        let firewall = Firewall(rules: [FirewallRuleDescriptor(action: .accept, limit: limit)], policies: []) { _ in 0 }
        var now = Instant(nanoseconds: 1_000_000_000)
        let admitted = (0..<5).filter { _ in firewall.evaluate(packet(), now: now).action == .accept }.count
        #expect(admitted == 3, "the burst")
        #expect(firewall.evaluate(packet(source: 0x0A00_0203), now: now).action == .accept, "another source has its own bucket")
        now = now + .milliseconds(100)
        #expect(firewall.evaluate(packet(), now: now).action == .accept, "one emission interval later, one more")
        #expect(firewall.evaluate(packet(), now: now) == Firewall.Decision(action: .drop, rule: 0, rateLimited: true))
        #expect(firewall.ruleCounters[0].rateLimited == 3)
        #expect(firewall.ruleCounters[0].packets == 8, "limited packets still count as the rule's hits")
    }

    @Test func theLimiterTableIsBoundedAndEvictsTheLeastRecentlyUsed() {
        var limiter = SourceRateLimiter(sets: 1)
        let limit = FirewallRateLimit(packets: 1, per: .seconds(10), burst: 1)
        let now = Instant(nanoseconds: 1)
        var admitted: [Bool] = []
        for source in UInt32(1)...4 { admitted.append(limiter.admit(rule: 0, source: source, limit: limit, now: now)) }
        #expect(admitted == [true, true, true, true])
        let again = limiter.admit(rule: 0, source: 1, limit: limit, now: now)
        #expect(!again, "four ways hold four sources, each with its bucket spent")
        #expect(limiter.evictions == 0)
        let fifth = limiter.admit(rule: 0, source: 5, limit: limit, now: Instant(nanoseconds: 2))
        #expect(fifth)
        #expect(limiter.evictions == 1, "a fifth source evicts one")
    }

    @Test func logLinesAreRateLimited() {
        let firewall = Firewall(rules: [FirewallRuleDescriptor(action: .drop, log: true)], policies: []) { _ in 0 }
        var logged = 0
        firewall.onLog = { record in
            #expect(record.rule == 0 && record.action == .drop)
            logged += 1
        }
        for _ in 0..<100 { _ = firewall.evaluate(packet(), now: Instant(nanoseconds: 1)) }
        #expect(logged == 20, "a burst of twice the rate")
        #expect(firewall.logsSuppressed == 80)
        _ = firewall.evaluate(packet(), now: Instant(nanoseconds: 1_000_000_001))
        #expect(logged == 21, "tokens come back with time")
    }

    @Test func rangeSearchFindsMembersAndGaps() {
        let bounds: [UInt32] = [1, 3, 10, 10, 20, 30, 0xFFFF_FFF0, 0xFFFF_FFFF]
        for (value, expected) in [(0, false), (1, true), (3, true), (4, false), (10, true), (11, false), (25, true), (31, false),
                                  (0xFFFF_FFFF, true)] as [(UInt32, Bool)] {
            #expect(FirewallRangeSearch.contains(bounds, value) == expected, "\(value)")
        }
        #expect(!FirewallRangeSearch.contains([], 5))
    }
}

/// The stack with a firewall: what it extracts from packets, the states it
/// reads from its flows, and what each verdict does on the wire.
@Suite struct StackFirewallTests {
    let peer = IPv4Address(10, 0, 2, 2)

    func tcp(_ fixture: StackFixture, port: UInt16, flags: TCPSegment.Flags) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 20)
        bytes.withUnsafeMutableBytes { raw in
            TCPSegment.emit(into: raw, sourcePort: 40000, destinationPort: port, sequenceNumber: 100, acknowledgmentNumber: 0,
                            flags: flags, window: 8000, payloadLength: 0, source: peer, destination: IPv4Address(10, 0, 2, 15))
        }
        return fixture.ipv4Frame(to: .public, from: peer, protocolNumber: 6, payload: bytes)
    }

    @Test func dropsRejectsAndAcceptsAsClassifiedAndReadsConnectionState() throws {
        let fixture = StackFixture()
        fixture.teach(.public, peer)
        var seen: [FirewallPacket] = []
        let firewall = Firewall(
            rules: [FirewallRuleDescriptor(action: .drop), FirewallRuleDescriptor(action: .reject)], policies: []
        ) { packet in
            seen.append(packet)
            guard packet.direction == .inbound else { return -1 }
            return packet.destinationPort == 22 ? 0 : packet.destinationPort == 23 ? 1 : -1
        }
        fixture.stack.install(FirewallHook(firewall))
        let publicNIC = fixture.device(.public)
        publicNIC.sent.removeAll()

        publicNIC.inject(tcp(fixture, port: 22, flags: .syn))
        fixture.run()
        #expect(publicNIC.sent.isEmpty, "dropped: no reset, nothing")
        #expect(fixture.stack.counters[.firewallDropped] == 1)
        #expect(seen.last?.state == .new && seen.last?.interface == .public && seen.last?.destinationPort == 22)
        #expect(seen.last?.source == peer.value && seen.last?.length == 40)

        publicNIC.inject(tcp(fixture, port: 23, flags: .syn))
        fixture.run()
        #expect(fixture.stack.counters[.firewallRejected] == 1)
        let reset = try #require(publicNIC.sent.last)
        try parse(reset) { frame in
            let segment = try TCPSegment(parsing: try IPv4Packet(parsing: frame.payload).payload)
            #expect(segment.flags.contains(.rst) && segment.sourcePort == 23)
        }
        #expect(seen.last(where: { $0.direction == .outbound })?.state == .established, "the reset leaves as part of the flow it ends")

        publicNIC.inject(tcp(fixture, port: 80, flags: .ack))
        fixture.run()
        #expect(seen.last(where: { $0.direction == .inbound })?.state == .invalid, "an ACK for no flow")
        #expect(firewall.ruleCounters[0].packets == 1 && firewall.ruleCounters[1].packets == 1)
        #expect(fixture.allBuffersReturned)
    }

    @Test func rejectsOtherProtocolsWithAdministrativelyProhibited() throws {
        let fixture = StackFixture()
        fixture.teach(.public, peer)
        fixture.stack.install(FirewallHook(Firewall(rules: [FirewallRuleDescriptor(action: .reject)], policies: []) {
            $0.direction == .inbound && $0.protocolNumber == 17 ? 0 : -1
        }))
        var datagram = [UInt8](repeating: 0, count: 8)
        datagram.withUnsafeMutableBytes { raw in
            UDPDatagram.emit(into: raw, sourcePort: 5555, destinationPort: 53, payloadLength: 0, source: peer,
                             destination: IPv4Address(10, 0, 2, 15))
        }
        fixture.device(.public).sent.removeAll()
        fixture.device(.public).inject(fixture.ipv4Frame(to: .public, from: peer, protocolNumber: 17, payload: datagram))
        fixture.run()
        let reply = try #require(fixture.device(.public).sent.last)
        try parse(reply) { frame in
            let message = try ICMPv4Message(parsing: try IPv4Packet(parsing: frame.payload).payload)
            #expect(message.type == 3 && message.code == 13)
        }
    }

    @Test func filtersOutboundPacketsAndCountsUnparseableOnes() throws {
        let fixture = StackFixture()
        fixture.teach(.public, peer)
        let firewall = Firewall(rules: [FirewallRuleDescriptor(action: .drop)], policies: []) {
            $0.direction == .outbound && $0.protocolNumber == 1 ? 0 : -1
        }
        fixture.stack.install(FirewallHook(firewall))
        var echo: [UInt8] = [8, 0, 0, 0, 0, 1, 0, 1]
        echo.withUnsafeMutableBytes { try! ICMPv4Message(parsing: $0).fillChecksum() }
        fixture.device(.public).sent.removeAll()
        fixture.device(.public).inject(fixture.ipv4Frame(to: .public, from: peer, protocolNumber: 1, payload: echo))
        // A TCP packet too short to hold its header.
        fixture.device(.public).inject(fixture.ipv4Frame(to: .public, from: peer, protocolNumber: 6, payload: [1, 2, 3, 4]))
        fixture.run()
        #expect(fixture.device(.public).sent.isEmpty, "the echo reply was dropped on its way out")
        #expect(firewall.ruleCounters[0].packets == 1)
        #expect(firewall.invalidPackets == 1 && fixture.stack.counters[.firewallInvalid] == 1)
        #expect(fixture.allBuffersReturned)
    }
}
