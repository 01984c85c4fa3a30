import KernelCore

/// Whether clients can reach each service through the firewall: a service
/// whose new connections the firewall drops on the public NIC is a warning,
/// decided by the firewall's reference interpreter.
enum ServiceReach {
    static func warnings(_ appliance: ApplianceDescription, _ ruleSet: FirewallRuleSet, sourceText: String) -> [ConfigDiagnostic] {
        let lexer = ConfigLexer(file: appliance.source, text: sourceText)
        var warnings: [ConfigDiagnostic] = []
        for service in appliance.services where service.port != 0 {
            guard let reason = blockReason(service.port, appliance, ruleSet) else { continue }
            let location = service.portLocation ?? ConfigLocation(file: appliance.source, line: 1, column: 1)
            var warning = lexer.diagnostic(
                line: location.line, column: location.column,
                "service \(service.name) listens on public tcp/\(service.port) but the firewall drops it: \(reason)")
            warning.severity = .warning
            warnings.append(warning)
        }
        return warnings
    }

    /// Why a new TCP connection to `port` on the public address is not
    /// accepted, or nil when some client's is.
    static func blockReason(_ port: UInt16, _ appliance: ApplianceDescription, _ ruleSet: FirewallRuleSet) -> String? {
        let interpreter = FirewallInterpreter(ruleSet)
        let publicNIC = appliance.interfaces[InterfaceRole.public.rawValue]
        // A client on the public network's gateway (where QEMU's forwarded
        // connections come from), and one packet from each accepting rule's
        // own sets: a rule that accepts only some sources still counts.
        let client = FirewallPacket(
            direction: .inbound, interface: .public, protocolNumber: 6,
            source: (publicNIC.gateway ?? publicNIC.address.network).value, destination: publicNIC.address.address.value,
            sourcePort: 40000, destinationPort: port, state: .new)
        let witnesses = ruleSet.rules.filter { $0.action == .accept }.compactMap { witness(client, within: $0) }
        for packet in [client] + witnesses {
            let index = interpreter.classify(packet)
            if index >= 0, ruleSet.rules[Int(index)].action == .accept { return nil }
        }
        let index = interpreter.classify(client)
        let policy = ruleSet.policy(.inbound, .public)
        guard index >= 0 else {
            return policy == .accept ? nil : "no rule accepts it and policy in public is \(policy.name)"
        }
        let rule = ruleSet.rules[Int(index)]
        return "rule '\(rule.name)' (\(rule.location)) \(rule.action.name)s it"
    }

    /// `packet`, with its source address and port moved into what `rule`
    /// matches; nil when the rule cannot match it whatever the source.
    static func witness(_ packet: FirewallPacket, within rule: FirewallRule) -> FirewallPacket? {
        var packet = packet
        let fixed: [MatchField] = [.protocolNumber, .destination, .destinationPort, .state]
        guard rule.applies(to: packet.direction, on: packet.interface),
            fixed.allSatisfy({ rule.values($0).contains($0.value(of: packet)) }),
            let source = rule.values(.source).ranges.first?.lower,
            let sourcePort = rule.values(.sourcePort).ranges.first?.lower
        else { return nil }
        if !rule.values(.source).contains(packet.source) { packet.source = source }
        if !rule.values(.sourcePort).contains(UInt32(packet.sourcePort)) { packet.sourcePort = UInt16(sourcePort) }
        return packet
    }
}
