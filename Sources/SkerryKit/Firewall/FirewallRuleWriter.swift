import KernelCore

/// Writes a rule set in the rule language (docs/firewall.md): how
/// `skerry rules generate` produces large samples, and the other half of
/// the parser's round-trip test.
public enum FirewallRuleWriter {
    public static func text(_ ruleSet: FirewallRuleSet, header: [String] = []) -> String {
        var lines = header.map { "# " + $0 }
        if !lines.isEmpty { lines.append("") }
        for policy in ruleSet.policies {
            lines.append("policy \(policy.direction.name) on \(policy.interface.name) \(policy.action.name)")
        }
        if !ruleSet.policies.isEmpty { lines.append("") }
        lines += ruleSet.rules.map(line)
        return lines.joined(separator: "\n") + "\n"
    }

    public static func line(_ rule: FirewallRule) -> String {
        var words = ["rule \(rule.name): \(rule.action.name)"]
        if rule.directions.count == 1 { words.append("\(rule.directions[0].name)") }
        if Set(rule.interfaces) != Set(InterfaceRole.allCases) {
            words.append("on " + list(rule.interfaces.map { "\($0.name)" }))
        }
        if let protocols = rule.matches[.protocolNumber] {
            words.append("proto " + list(values(protocols).map(protocolName)))
        }
        for (addressField, portField, keyword) in [(MatchField.source, MatchField.sourcePort, "from"),
                                                   (.destination, .destinationPort, "to")] {
            let addresses = rule.matches[addressField]
            let ports = rule.matches[portField]
            guard addresses != nil || ports != nil else { continue }
            var clause = keyword + " " + (addresses.map { list($0.ranges.map(address)) } ?? "any")
            if let ports { clause += " port " + list(ports.ranges.map(\.description)) }
            words.append(clause)
        }
        if let types = rule.matches[.icmpType] { words.append("icmp-type " + list(values(types).map { "\($0)" })) }
        if let states = rule.matches[.state] {
            words.append("state " + values(states).map { "\(ConnectionState(rawValue: UInt8($0))!.name)" }.joined(separator: ","))
        }
        if let limit = rule.limit {
            let unit = limit.per == .seconds(3600) ? "hour" : limit.per == .seconds(60) ? "minute" : "second"
            words.append("limit \(limit.packets)/\(unit) burst \(limit.burst)")
        }
        if rule.log { words.append("log") }
        return words.joined(separator: " ")
    }

    private static func list(_ items: [String]) -> String {
        items.count == 1 ? items[0] : "{ " + items.joined(separator: ", ") + " }"
    }

    private static func values(_ set: ValueSet) -> [UInt32] {
        set.ranges.flatMap { Array($0.lower...$0.upper) }
    }

    private static func protocolName(_ number: UInt32) -> String {
        switch number {
        case 1: return "icmp"
        case 6: return "tcp"
        case 17: return "udp"
        default: return "\(number)"
        }
    }

    /// A range as an address, a CIDR block, or `first-last`.
    private static func address(_ range: ValueRange) -> String {
        if range.lower == range.upper { return dotted(range.lower) }
        if let prefix = range.prefixLength { return "\(dotted(range.lower))/\(prefix)" }
        return "\(dotted(range.lower))-\(dotted(range.upper))"
    }
}
