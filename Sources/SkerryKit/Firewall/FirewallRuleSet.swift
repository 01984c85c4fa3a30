import KernelCore

/// A field of a packet that rules can match, and the values it can take.
public enum MatchField: Int, CaseIterable, Hashable, Sendable, Comparable {
    case protocolNumber, source, destination, sourcePort, destinationPort, icmpType, state

    /// Every value the field can hold.
    public var domain: ValueRange {
        switch self {
        case .protocolNumber, .icmpType: return ValueRange(0, 255)
        case .source, .destination: return ValueRange(0, .max)
        case .sourcePort, .destinationPort: return ValueRange(0, 65535)
        case .state: return ValueRange(0, UInt32(ConnectionState.allCases.count - 1))
        }
    }

    public func value(of packet: FirewallPacket) -> UInt32 {
        switch self {
        case .protocolNumber: return UInt32(packet.protocolNumber)
        case .source: return packet.source
        case .destination: return packet.destination
        case .sourcePort: return UInt32(packet.sourcePort)
        case .destinationPort: return UInt32(packet.destinationPort)
        case .icmpType: return UInt32(packet.icmpType)
        case .state: return UInt32(packet.state.rawValue)
        }
    }

    public static func < (lhs: MatchField, rhs: MatchField) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One rule of a firewall file, checked: every field is a value set, and a
/// field that is absent matches anything.
public struct FirewallRule: Sendable {
    public var name: String
    /// Where the rule's name is written.
    public var location: ConfigLocation
    public var action: FirewallAction
    /// Directions it applies to; both when the rule names neither.
    public var directions: [TrafficDirection] = TrafficDirection.allCases
    /// Interfaces it applies to; all when the rule names none.
    public var interfaces: [InterfaceRole] = InterfaceRole.allCases
    public var matches: [MatchField: ValueSet] = [:]
    public var log = false
    public var limit: FirewallRateLimit?

    public init(name: String, location: ConfigLocation, action: FirewallAction) {
        self.name = name
        self.location = location
        self.action = action
    }

    public func applies(to direction: TrafficDirection, on interface: InterfaceRole) -> Bool {
        directions.contains(direction) && interfaces.contains(interface)
    }

    /// The set a field must fall in: the rule's, or the whole domain.
    public func values(_ field: MatchField) -> ValueSet {
        matches[field] ?? ValueSet([field.domain])
    }

    /// The rule's match condition, read straight off the rule: the semantics
    /// the generated classifier must reproduce.
    public func matches(_ packet: FirewallPacket) -> Bool {
        guard applies(to: packet.direction, on: packet.interface) else { return false }
        for (field, set) in matches where !set.contains(field.value(of: packet)) { return false }
        return true
    }

    /// Everything this rule matches, `other` matches too (so `other`, placed
    /// earlier, leaves this rule nothing).
    public func isCovered(by other: FirewallRule) -> Bool {
        directions.allSatisfy(other.directions.contains) && interfaces.allSatisfy(other.interfaces.contains)
            && MatchField.allCases.allSatisfy { other.values($0).isSuperset(of: values($0)) }
    }

    public var descriptor: FirewallRuleDescriptor {
        FirewallRuleDescriptor(action: action, log: log, limit: limit)
    }
}

/// A checked firewall file: rules in order (first match wins) and the
/// default policy of each interface and direction (accept when unstated).
public struct FirewallRuleSet: Sendable {
    public var rules: [FirewallRule] = []
    /// Policies the file states; the rest default to accept.
    public var policies: [FirewallPolicy] = []
    /// Problems that do not stop the build (shadowed rules, unused sets).
    public var warnings: [ConfigDiagnostic] = []
    /// The file it came from.
    public var source = ""

    public init(rules: [FirewallRule] = [], policies: [FirewallPolicy] = []) {
        self.rules = rules
        self.policies = policies
    }

    public func policy(_ direction: TrafficDirection, _ interface: InterfaceRole) -> FirewallAction {
        policies.last { $0.direction == direction && $0.interface == interface }?.action ?? .accept
    }
}
