/// What the runtime needs to know about a compiled rule: its action and
/// the side effects of a match. Matching itself lives in the generated
/// classifier; names live beside it for display.
public struct FirewallRuleDescriptor: Sendable, Equatable {
    public var action: FirewallAction
    /// Report matches on the console (rate-limited across all rules).
    public var log: Bool
    /// Packets per source allowed through this rule, if limited.
    public var limit: FirewallRateLimit?

    public init(action: FirewallAction, log: Bool = false, limit: FirewallRateLimit? = nil) {
        self.action = action
        self.log = log
        self.limit = limit
    }
}

/// `packets` per `per`, with bursts of up to `burst` packets, for each
/// source address separately.
public struct FirewallRateLimit: Sendable, Equatable {
    public var packets: UInt32
    public var per: Interval
    public var burst: UInt32

    public init(packets: UInt32, per: Interval, burst: UInt32) {
        self.packets = max(1, packets)
        self.per = per
        self.burst = max(1, burst)
    }

    /// Time between packets at the sustained rate.
    var emissionInterval: UInt64 { max(1, per.nanoseconds / UInt64(packets)) }
}

/// The default action for traffic of one direction on one interface.
public struct FirewallPolicy: Sendable, Equatable {
    public var direction: TrafficDirection
    public var interface: InterfaceRole
    public var action: FirewallAction

    public init(_ direction: TrafficDirection, _ interface: InterfaceRole, _ action: FirewallAction) {
        self.direction = direction
        self.interface = interface
        self.action = action
    }

    /// The slot this policy fills.
    public var key: PolicyKey { PolicyKey(direction, interface) }
}
