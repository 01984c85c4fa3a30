import KernelCore

/// The reference semantics of a rule set: the first rule, in file order,
/// whose conditions all hold. Slow on purpose — it is the specification
/// the generated classifier is tested against.
public struct FirewallInterpreter: Sendable {
    public let ruleSet: FirewallRuleSet

    public init(_ ruleSet: FirewallRuleSet) { self.ruleSet = ruleSet }

    /// The index of the first matching rule, or -1 for the default policy.
    public func classify(_ packet: FirewallPacket) -> Int32 {
        for (index, rule) in ruleSet.rules.enumerated() where rule.matches(packet) { return Int32(index) }
        return -1
    }

    /// A runtime whose classifier is this interpreter.
    public func makeFirewall() -> Firewall {
        Firewall(rules: ruleSet.rules.map(\.descriptor), policies: ruleSet.policies) { classify($0) }
    }
}
