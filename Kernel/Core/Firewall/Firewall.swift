/// The firewall at run time: a compiled classifier picks the first
/// matching rule, and this applies it — rate limits, counters, logging,
/// the default policies.
///
/// The classifier is generated from the rule file (`skerry build`) or is
/// the host's reference interpreter; both return the index of the first
/// matching rule, or -1 when none matches and the interface's default
/// policy decides. Everything here is sized at creation: evaluating a
/// packet allocates nothing.
public final class Firewall {
    public typealias Classifier = (FirewallPacket) -> Int32

    public struct RuleCounters: Sendable, Equatable {
        public var packets: UInt64 = 0
        public var bytes: UInt64 = 0
        /// When the rule last matched; `nil` if it never has.
        public var lastHit: Instant?
        /// Matches over the rule's per-source limit, dropped.
        public var rateLimited: UInt64 = 0
        public init() {}
    }

    public struct PolicyCounters: Sendable, Equatable {
        public var packets: UInt64 = 0
        public var bytes: UInt64 = 0
        public init() {}
    }

    /// The outcome for one packet.
    public struct Decision: Sendable, Equatable {
        public var action: FirewallAction
        /// The deciding rule, or -1 for the default policy.
        public var rule: Int32
        /// Dropped because the source went over the rule's limit.
        public var rateLimited: Bool
    }

    /// A match on a rule marked `log`, passed to `onLog` within the log rate.
    public struct LogRecord {
        public var packet: FirewallPacket
        public var rule: Int32
        public var action: FirewallAction
        public var rateLimited: Bool
    }

    public let rules: [FirewallRuleDescriptor]
    /// Default actions by `PolicyKey.index`.
    public let policies: [FirewallAction]
    public private(set) var ruleCounters: [RuleCounters]
    /// By `PolicyKey.index`.
    public private(set) var policyCounters: [PolicyCounters]
    /// Packets the stack could not classify (a transport header cut short), dropped.
    public private(set) var invalidPackets: UInt64 = 0
    /// Log records suppressed by the log rate.
    public private(set) var logsSuppressed: UInt64 = 0
    /// Matches over any rule's limit, and how often the counters were reset:
    /// telemetry reports limit hits and resends every rule after a reset.
    public private(set) var rateLimitedTotal: UInt64 = 0
    public private(set) var resets: UInt64 = 0
    /// Log lines allowed per second across all rules, with bursts of twice that.
    public var logRate: UInt64 = 10
    public var onLog: ((LogRecord) -> Void)?

    private let classifier: Classifier
    private var limiter = SourceRateLimiter()
    private var logTokens: UInt64 = 20
    private var logRefilled = Instant.zero

    public init(rules: [FirewallRuleDescriptor], policies: [FirewallPolicy], classifier: @escaping Classifier) {
        self.rules = rules
        let slots = PolicyKey.allCases.count
        var table = Array(repeating: FirewallAction.accept, count: slots)
        for policy in policies {
            table[policy.key.index] = policy.action
        }
        self.policies = table
        self.classifier = classifier
        ruleCounters = Array(repeating: RuleCounters(), count: rules.count)
        policyCounters = Array(repeating: PolicyCounters(), count: slots)
    }

    /// The default action for packets in `key`'s slot that no rule matches.
    public func policy(_ key: PolicyKey) -> FirewallAction { policies[key.index] }

    /// What the default policy in `key`'s slot has decided.
    public func policyCounters(for key: PolicyKey) -> PolicyCounters { policyCounters[key.index] }

    /// Classifies `packet`, counts it, and returns what to do with it.
    public func evaluate(_ packet: FirewallPacket, now: Instant) -> Decision {
        let rule = classifier(packet)
        guard rule >= 0, Int(rule) < rules.count else {
            let index = packet.policyIndex
            policyCounters[index].packets &+= 1
            policyCounters[index].bytes &+= UInt64(packet.length)
            return Decision(action: policies[index], rule: -1, rateLimited: false)
        }
        let index = Int(rule)
        let descriptor = rules[index]
        ruleCounters[index].packets &+= 1
        ruleCounters[index].bytes &+= UInt64(packet.length)
        ruleCounters[index].lastHit = now
        var decision = Decision(action: descriptor.action, rule: rule, rateLimited: false)
        if let limit = descriptor.limit, !limiter.admit(rule: rule, source: packet.source, limit: limit, now: now) {
            ruleCounters[index].rateLimited &+= 1
            rateLimitedTotal &+= 1
            decision = Decision(action: .drop, rule: rule, rateLimited: true)
        }
        if descriptor.log { log(packet, decision, now: now) }
        return decision
    }

    /// Counts a packet the stack dropped because it could not be classified.
    public func countInvalid() {
        invalidPackets &+= 1
    }

    /// Zeroes every counter and forgets rate-limit state.
    public func resetCounters() {
        for index in ruleCounters.indices { ruleCounters[index] = RuleCounters() }
        for index in policyCounters.indices { policyCounters[index] = PolicyCounters() }
        invalidPackets = 0
        logsSuppressed = 0
        rateLimitedTotal = 0
        resets &+= 1
        limiter.reset()
    }

    private func log(_ packet: FirewallPacket, _ decision: Decision, now: Instant) {
        let elapsed = now.since(logRefilled)
        if elapsed >= .milliseconds(100) {
            let earned = elapsed.nanoseconds / 1_000_000 * logRate / 1_000
            if earned > 0 {
                logTokens = min(logRate * 2, logTokens + earned)
                logRefilled = now
            }
        }
        guard logTokens > 0 else {
            logsSuppressed &+= 1
            return
        }
        logTokens -= 1
        onLog?(LogRecord(packet: packet, rule: decision.rule, action: decision.action, rateLimited: decision.rateLimited))
    }
}
