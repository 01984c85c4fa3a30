import KernelCore

/// A line format for packets and decisions, shared by the host (the
/// interpreter) and classifier programs compiled for the host, so their
/// outputs compare as text.
public enum FirewallTrace {
    /// `set direction interface protocol source destination sport dport icmp state length time`
    public static func line(set: Int, _ packet: FirewallPacket, time: Instant) -> String {
        "\(set) \(packet.direction.rawValue) \(packet.interface.rawValue) \(packet.protocolNumber) \(packet.source) "
            + "\(packet.destination) \(packet.sourcePort) \(packet.destinationPort) \(packet.icmpType) "
            + "\(packet.state.rawValue) \(packet.length) \(time.nanoseconds)"
    }

    /// `action rule rate-limited`
    public static func line(_ decision: Firewall.Decision) -> String {
        "\(decision.action.rawValue) \(decision.rule) \(decision.rateLimited ? 1 : 0)"
    }

    /// Every counter of a firewall, one line per rule and per policy.
    public static func counters(set: Int, _ firewall: Firewall) -> [String] {
        var lines: [String] = []
        for (index, counter) in firewall.ruleCounters.enumerated() {
            lines.append("rule \(set) \(index) \(counter.packets) \(counter.bytes) \(counter.lastHit?.nanoseconds ?? 0) \(counter.rateLimited)")
        }
        for (index, counter) in firewall.policyCounters.enumerated() {
            lines.append("policy \(set) \(index) \(counter.packets) \(counter.bytes)")
        }
        return lines
    }

    /// The `main.swift` of a program that runs the trace file named by its
    /// first argument through the classifiers `types` and prints what
    /// `line(_:)` and `counters(set:_:)` would.
    public static func driver(types: [String]) -> String {
        """
        import Foundation

        let firewalls: [Firewall] = [
        \(types.map { "    \($0).makeFirewall()!," }.joined(separator: "\n"))
        ]
        let text = try! String(contentsOfFile: CommandLine.arguments[1], encoding: .utf8)
        var output = ""
        for line in text.split(separator: "\\n") {
            let f = line.split(separator: " ").map { UInt64($0)! }
            let packet = FirewallPacket(
                direction: TrafficDirection(rawValue: UInt8(f[1]))!, interface: InterfaceRole(rawValue: Int(f[2]))!,
                protocolNumber: UInt8(f[3]), source: UInt32(f[4]), destination: UInt32(f[5]), sourcePort: UInt16(f[6]),
                destinationPort: UInt16(f[7]), icmpType: UInt8(f[8]), state: ConnectionState(rawValue: UInt8(f[9]))!,
                length: Int(f[10]))
            let decision = firewalls[Int(f[0])].evaluate(packet, now: Instant(nanoseconds: f[11]))
            output += "\\(decision.action.rawValue) \\(decision.rule) \\(decision.rateLimited ? 1 : 0)\\n"
        }
        for (set, firewall) in firewalls.enumerated() {
            for (index, counter) in firewall.ruleCounters.enumerated() {
                output += "rule \\(set) \\(index) \\(counter.packets) \\(counter.bytes) \\(counter.lastHit?.nanoseconds ?? 0) \\(counter.rateLimited)\\n"
            }
            for (index, counter) in firewall.policyCounters.enumerated() {
                output += "policy \\(set) \\(index) \\(counter.packets) \\(counter.bytes)\\n"
            }
        }
        print(output, terminator: "")

        """
    }
}
