import Testing
@testable import KernelCore

/// A hook that records what it saw and answers with a fixed verdict; a
/// consuming hook keeps the buffer until `release`.
final class RecordingHook: InboundHook, OutboundHook {
    let name: String
    var verdict: HookVerdict
    var log: Log
    var kept: [PacketBuffer] = []

    final class Log {
        var entries: [String] = []
    }

    init(_ name: String, _ verdict: HookVerdict, log: Log) {
        self.name = name
        self.verdict = verdict
        self.log = log
    }

    func inbound(_ packet: IPv4Packet, buffer: PacketBuffer, on interface: NetworkInterface, stack: NetworkStack,
                 now: Instant) -> HookVerdict {
        log.entries.append("\(name) in \(interface.role.name) proto \(packet.protocolNumber)")
        if verdict == .consume { kept.append(buffer) }
        return verdict
    }

    func outbound(_ buffer: PacketBuffer, on interface: NetworkInterface, stack: NetworkStack, now: Instant) -> HookVerdict {
        let packet = try! IPv4Packet(parsing: buffer.frame.slice(EthernetFrame.headerLength, buffer.length))
        log.entries.append("\(name) out \(interface.role.name) proto \(packet.protocolNumber)")
        if verdict == .consume { kept.append(buffer) }
        return verdict
    }

    func release(to pool: PacketPool) {
        for buffer in kept { pool.give(buffer) }
        kept.removeAll()
    }
}

@Suite struct HookChainTests {
    let peer = IPv4Address(10, 0, 1, 2)

    func udp(to port: UInt16, from source: IPv4Address, destination: IPv4Address = IPv4Address(10, 0, 1, 15)) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 12)
        bytes.withUnsafeMutableBytes { raw in
            UDPDatagram.emit(into: raw, sourcePort: 5555, destinationPort: port, payloadLength: 4, source: source,
                             destination: destination)
        }
        return bytes
    }

    func echoRequest() -> [UInt8] {
        var echo: [UInt8] = [8, 0, 0, 0, 0xBE, 0xEF, 0, 1] + Array("ping".utf8)
        echo.withUnsafeMutableBytes { try! ICMPv4Message(parsing: $0).fillChecksum() }
        return echo
    }

    @Test func inboundHooksRunInOrderThenTheStackDelivers() {
        let fixture = StackFixture()
        let log = RecordingHook.Log()
        let first = RecordingHook("first", .pass, log: log)
        let second = RecordingHook("second", .pass, log: log)
        fixture.stack.inbound.append(first)
        fixture.stack.inbound.append(second)
        var delivered = 0
        fixture.stack.bindUDP(port: 7, on: [.admin]) { _ in delivered += 1 }
        fixture.device(.admin).inject(fixture.ipv4Frame(to: .admin, from: peer, protocolNumber: 17, payload: udp(to: 7, from: peer)))
        fixture.run()
        #expect(log.entries == ["first in admin proto 17", "second in admin proto 17"])
        #expect(delivered == 1)
        #expect(fixture.stack.inbound.counts.map(\.passed) == [1, 1])
        #expect(fixture.allBuffersReturned)
    }

    /// A packet the stack drops before the chain (not for this address) never reaches a hook.
    @Test func hooksSeeOnlyPacketsForTheInterfacesAddress() {
        let fixture = StackFixture()
        let log = RecordingHook.Log()
        fixture.stack.inbound.append(RecordingHook("only", .pass, log: log))
        let elsewhere = IPv4Address(10, 0, 1, 99)
        fixture.device(.admin).inject(fixture.ipv4Frame(to: .admin, from: peer, protocolNumber: 17,
                                                        payload: udp(to: 7, from: peer, destination: elsewhere), destination: elsewhere))
        fixture.run()
        #expect(log.entries.isEmpty)
        #expect(fixture.stack.counters[.ipv4NotForUs] == 1)
        #expect(fixture.stack.inbound.counts[0] == HookCounts())
    }

    @Test func aDroppingHookEndsTheChainAndTheStackFreesTheBuffer() {
        let fixture = StackFixture()
        let log = RecordingHook.Log()
        fixture.stack.inbound.append(RecordingHook("dropper", .drop, log: log))
        fixture.stack.inbound.append(RecordingHook("after", .pass, log: log))
        var delivered = 0
        fixture.stack.bindUDP(port: 7, on: [.admin]) { _ in delivered += 1 }
        for _ in 0..<3 {
            fixture.device(.admin).inject(fixture.ipv4Frame(to: .admin, from: peer, protocolNumber: 17, payload: udp(to: 7, from: peer)))
        }
        fixture.run()
        #expect(log.entries == Array(repeating: "dropper in admin proto 17", count: 3))
        #expect(delivered == 0)
        #expect(fixture.stack.counters[.udpDelivered] == 0 && fixture.stack.counters[.udpNoListener] == 0)
        #expect(fixture.stack.inbound.counts[0].dropped == 3 && fixture.stack.inbound.counts[1] == HookCounts())
        #expect(fixture.allBuffersReturned)
    }

    @Test func aConsumingHookOwnsTheBuffer() {
        let fixture = StackFixture()
        let log = RecordingHook.Log()
        let consumer = RecordingHook("consumer", .consume, log: log)
        fixture.stack.inbound.append(consumer)
        fixture.stack.inbound.append(RecordingHook("after", .pass, log: log))
        fixture.device(.public).inject(fixture.ipv4Frame(to: .public, from: peer, protocolNumber: 17,
                                                         payload: udp(to: 53, from: peer, destination: IPv4Address(10, 0, 2, 15))))
        fixture.run()
        #expect(log.entries == ["consumer in public proto 17"])
        #expect(consumer.kept.count == 1)
        #expect(!fixture.allBuffersReturned, "the stack did not free a buffer the hook kept")
        #expect(fixture.stack.counters[.udpNoListener] == 0, "nothing was delivered or refused")
        #expect(fixture.device(.public).sent.isEmpty)
        #expect(fixture.stack.inbound.counts[0].consumed == 1)
        consumer.release(to: fixture.pool)
        #expect(fixture.allBuffersReturned)
    }

    @Test func outboundHooksSeeWhatLeavesAndMayDropIt() throws {
        let fixture = StackFixture()
        fixture.teach(.admin, peer)
        fixture.device(.admin).sent.removeAll()
        let log = RecordingHook.Log()
        let gate = RecordingHook("gate", .drop, log: log)
        let after = RecordingHook("after", .pass, log: log)
        fixture.stack.outbound.append(gate)
        fixture.stack.outbound.append(after)
        fixture.device(.admin).inject(fixture.ipv4Frame(to: .admin, from: peer, protocolNumber: 1, payload: echoRequest()))
        fixture.run()
        #expect(log.entries == ["gate out admin proto 1"])
        #expect(fixture.device(.admin).sent.isEmpty, "the echo reply was dropped on the way out")
        #expect(fixture.stack.counters[.icmpEchoReplies] == 1)
        #expect(fixture.allBuffersReturned)

        gate.verdict = .pass
        fixture.device(.admin).inject(fixture.ipv4Frame(to: .admin, from: peer, protocolNumber: 1, payload: echoRequest()))
        fixture.run()
        #expect(log.entries.suffix(2) == ["gate out admin proto 1", "after out admin proto 1"])
        #expect(fixture.device(.admin).sent.count == 1)
        try parse(fixture.device(.admin).sent[0]) { frame in
            let packet = try IPv4Packet(parsing: frame.payload)
            #expect(packet.destination == peer)
        }
        #expect(fixture.stack.outbound.counts == [
            { var c = HookCounts(); c.dropped = 1; c.passed = 1; return c }(),
            { var c = HookCounts(); c.passed = 1; return c }(),
        ])

        gate.verdict = .consume
        fixture.device(.admin).inject(fixture.ipv4Frame(to: .admin, from: peer, protocolNumber: 1, payload: echoRequest()))
        fixture.run()
        #expect(gate.kept.count == 1 && fixture.device(.admin).sent.count == 1)
        gate.release(to: fixture.pool)
        #expect(fixture.allBuffersReturned)
    }

    /// The firewall reads a flow a hook tracks as established; without the hook the same packet is invalid.
    @Test func theFirewallAsksTheHooksWhichFlowsTheyTrack() {
        final class Tracker: InboundHook {
            var tracked = false
            func inbound(_ packet: IPv4Packet, buffer: PacketBuffer, on interface: NetworkInterface, stack: NetworkStack,
                         now: Instant) -> HookVerdict { .pass }
            func tracksTCP(local: IPv4Address, localPort: UInt16, remote: IPv4Address, remotePort: UInt16,
                           on interface: NetworkInterface) -> Bool { tracked && localPort == 80 }
        }
        for tracked in [false, true] {
            let fixture = StackFixture()
            var states: [ConnectionState] = []
            let firewall = Firewall(rules: [FirewallRuleDescriptor(action: .drop)], policies: []) { packet in
                if packet.direction == .inbound { states.append(packet.state) }
                return 0
            }
            fixture.stack.install(FirewallHook(firewall))
            let tracker = Tracker()
            tracker.tracked = tracked
            fixture.stack.inbound.append(tracker)
            var segment = [UInt8](repeating: 0, count: 20)
            let local = IPv4Address(10, 0, 2, 15)
            segment.withUnsafeMutableBytes { raw in
                TCPSegment.emit(into: raw, sourcePort: 40000, destinationPort: 80, sequenceNumber: 1, acknowledgmentNumber: 1,
                                flags: [.ack], window: 1000, payloadLength: 0, source: peer, destination: local)
            }
            fixture.device(.public).inject(fixture.ipv4Frame(to: .public, from: peer, protocolNumber: 6, payload: segment))
            fixture.run()
            #expect(states == [tracked ? .established : .invalid])
            #expect(fixture.stack.counters[.firewallDropped] == 1)
            #expect(fixture.stack.inbound.counts[0].dropped == 1 && fixture.stack.inbound.counts[1] == HookCounts(),
                    "the firewall, first on the chain, ended it")
        }
    }
}

extension HeapBaseline {
    @Suite struct HookChainHeapTests {
        /// Packets through both chains (firewall and a passing hook inbound,
        /// the firewall outbound on each echo reply) leave the heap where it was.
        @Test func packetsThroughTheChainsKeepNoMemory() {
            let fixture = StackFixture()
            let peer = IPv4Address(10, 0, 1, 2)
            fixture.teach(.admin, peer)
            let firewall = Firewall(rules: [FirewallRuleDescriptor(action: .drop)], policies: []) { packet in
                packet.direction == .inbound && packet.protocolNumber == 17 ? 0 : -1
            }
            fixture.stack.install(FirewallHook(firewall))
            final class Passing: InboundHook {
                var seen = 0
                func inbound(_ packet: IPv4Packet, buffer: PacketBuffer, on interface: NetworkInterface, stack: NetworkStack,
                             now: Instant) -> HookVerdict {
                    seen += 1
                    return .pass
                }
            }
            let passing = Passing()
            fixture.stack.inbound.append(passing)
            var echo: [UInt8] = [8, 0, 0, 0, 0xBE, 0xEF, 0, 1] + Array("ping".utf8)
            echo.withUnsafeMutableBytes { try! ICMPv4Message(parsing: $0).fillChecksum() }
            let ping = fixture.ipv4Frame(to: .admin, from: peer, protocolNumber: 1, payload: echo)
            let dropped = fixture.ipv4Frame(to: .admin, from: peer, protocolNumber: 17, payload: [0, 1, 0, 7, 0, 8, 0, 0])
            let admin = fixture.device(.admin)
            admin.onTransmit = { _ in }
            let rounds = 5_000
            let growth = heapGrowth(allowance: 4 * 1024) {
                for _ in 0..<rounds {
                    admin.inject(ping)
                    admin.inject(dropped)
                    fixture.run()
                }
            }
            #expect(growth <= 4 * 1024, "\(growth) bytes still live after \(rounds) rounds")
            #expect(firewall.ruleCounters[0].packets >= UInt64(rounds))
            #expect(fixture.stack.counters[.icmpEchoReplies] >= UInt64(rounds))
            #expect(fixture.stack.outbound.counts[0].passed >= UInt64(rounds) && passing.seen >= rounds)
            #expect(fixture.allBuffersReturned)
        }
    }
}
