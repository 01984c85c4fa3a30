import KernelCore

/// A deterministic random source (SplitMix64), so that a generated rule
/// set or packet stream is reproduced from its seed.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

/// Random rule sets and packets for property tests and benchmarks.
///
/// `adversarial` rule sets draw every field from small pools with
/// overlapping ranges, negations, both directions and rate limits, and
/// packets from the same pools and their edges, so that rules overlap and
/// packets land on range boundaries. `realistic` rule sets look like a
/// large site's: blocklists, per-network allowances and port policies.
public struct FirewallRuleGenerator {
    public var random: SeededRandom

    public init(seed: UInt64) { random = SeededRandom(seed: seed) }

    // MARK: Adversarial

    private static let addressPool: [ValueRange] = [
        ValueRange(0x0A00_0000, 0x0A00_FFFF), ValueRange(0x0A00_0100, 0x0A00_01FF), ValueRange(0x0A00_0102),
        ValueRange(0x0A00_0180, 0x0A00_01BF), ValueRange(0x0A01_0000, 0x0A01_00FF), ValueRange(0x0A00_0105, 0x0A01_0010),
        ValueRange(0xC0A8_0000, 0xC0A8_FFFF),
    ]
    private static let portPool: [ValueRange] = [
        ValueRange(22), ValueRange(80), ValueRange(443), ValueRange(1024, 65535), ValueRange(8000, 8100), ValueRange(0, 1023),
        ValueRange(53), ValueRange(8080),
    ]

    public mutating func adversarialRuleSet(ruleCount: Int) -> FirewallRuleSet {
        var set = FirewallRuleSet()
        for index in 0..<ruleCount {
            var rule = FirewallRule(
                name: "r\(index)", location: ConfigLocation(file: "random", line: index + 1, column: 1),
                action: FirewallAction.allCases.randomElement(using: &random)!)
            if chance(0.4) { rule.directions = [TrafficDirection.allCases.randomElement(using: &random)!] }
            if chance(0.5) { rule.interfaces = pick(from: InterfaceRole.allCases) }
            let protocols: [UInt32]? = chance(0.7) ? pick(from: [6, 17, 1, 47]) : nil
            if let protocols { rule.matches[.protocolNumber] = ValueSet(values: protocols) }
            if chance(0.5) { rule.matches[.source] = valueSet(FirewallRuleGenerator.addressPool, domain: MatchField.source.domain) }
            if chance(0.5) {
                rule.matches[.destination] = valueSet(FirewallRuleGenerator.addressPool, domain: MatchField.destination.domain)
            }
            if let protocols, protocols.allSatisfy({ $0 == 6 || $0 == 17 }) {
                if chance(0.3) { rule.matches[.sourcePort] = valueSet(FirewallRuleGenerator.portPool, domain: MatchField.sourcePort.domain) }
                if chance(0.6) {
                    rule.matches[.destinationPort] = valueSet(FirewallRuleGenerator.portPool, domain: MatchField.destinationPort.domain)
                }
            }
            if protocols == [1], chance(0.6) { rule.matches[.icmpType] = ValueSet(values: pick(from: [0, 3, 8, 11])) }
            if chance(0.4) { rule.matches[.state] = ValueSet(values: pick(from: [0, 1, 2, 3])) }
            if chance(0.15) {
                rule.limit = FirewallRateLimit(packets: UInt32.random(in: 1...5, using: &random), per: .seconds(1),
                                               burst: UInt32.random(in: 1...3, using: &random))
            }
            rule.log = chance(0.1)
            set.rules.append(rule)
        }
        for direction in TrafficDirection.allCases {
            for interface in InterfaceRole.allCases where chance(0.5) {
                set.policies.append(FirewallPolicy(direction, interface, FirewallAction.allCases.randomElement(using: &random)!))
            }
        }
        return set
    }

    /// A packet whose fields come from the pools, their edges, or anywhere.
    public mutating func adversarialPacket(length: Int = 60) -> FirewallPacket {
        let protocolNumber = [6, 17, 1, 47, 6, 6].randomElement(using: &random)!
        var packet = FirewallPacket(
            direction: TrafficDirection.allCases.randomElement(using: &random)!,
            interface: InterfaceRole.allCases.randomElement(using: &random)!, protocolNumber: UInt8(protocolNumber),
            source: edgeValue(FirewallRuleGenerator.addressPool, domain: MatchField.source.domain),
            destination: edgeValue(FirewallRuleGenerator.addressPool, domain: MatchField.destination.domain),
            state: ConnectionState.allCases.randomElement(using: &random)!, length: length)
        if protocolNumber == 6 || protocolNumber == 17 {
            packet.sourcePort = UInt16(edgeValue(FirewallRuleGenerator.portPool, domain: MatchField.sourcePort.domain))
            packet.destinationPort = UInt16(edgeValue(FirewallRuleGenerator.portPool, domain: MatchField.destinationPort.domain))
        }
        if protocolNumber == 1 { packet.icmpType = [0, 3, 8, 11, 5].randomElement(using: &random)! }
        return packet
    }

    // MARK: Realistic

    /// `count` rules in the shape of a large site's rule file: per-network
    /// blocks, per-network service allowances, port policies, ICMP and
    /// private-side rules, ending with the usual established/related accept.
    public mutating func realisticRuleSet(ruleCount: Int) -> FirewallRuleSet {
        var set = FirewallRuleSet()
        set.policies = [FirewallPolicy(.inbound, .public, .drop), FirewallPolicy(.inbound, .private, .drop),
                        FirewallPolicy(.inbound, .admin, .drop)]
        func add(_ rule: FirewallRule) { set.rules.append(rule) }
        var established = FirewallRule(name: "established", location: location(1), action: .accept)
        established.directions = [.inbound]
        established.matches[.state] = ValueSet(values: [1, 2])
        add(established)
        // Keys of the rules so far, so that no rule repeats an earlier one's match.
        var seen = Set<String>()
        while set.rules.count < ruleCount {
            let index = set.rules.count
            let kind = Int.random(in: 0..<10, using: &random)
            var rule = FirewallRule(name: "rule-\(index)", location: location(index + 1), action: .drop)
            rule.directions = [.inbound]
            switch kind {
            case 0...3:  // block a network
                rule.name = "block-\(index)"
                rule.interfaces = [.public]
                rule.matches[.source] = ValueSet([cidr(prefix: [24, 28, 32].randomElement(using: &random)!)])
            case 4...6:  // allow a network to a service
                rule.name = "allow-\(index)"
                rule.action = .accept
                rule.interfaces = [.public]
                rule.matches[.protocolNumber] = ValueSet(values: [6])
                rule.matches[.source] = ValueSet([cidr(prefix: [16, 20, 24].randomElement(using: &random)!)])
                let port = UInt32.random(in: 1024...60000, using: &random)
                rule.matches[.destinationPort] = ValueSet([ValueRange(port, port + UInt32.random(in: 0...10, using: &random))])
            case 7:  // reject a port
                rule.name = "reject-port-\(index)"
                rule.action = .reject
                rule.interfaces = [.public]
                rule.matches[.protocolNumber] = ValueSet(values: [[6], [17]].randomElement(using: &random)!)
                rule.matches[.destinationPort] = ValueSet(values: [UInt32.random(in: 1...65535, using: &random)])
            case 8:  // ICMP from a network, limited
                rule.name = "icmp-\(index)"
                rule.action = .accept
                rule.interfaces = [.public]
                rule.matches[.protocolNumber] = ValueSet(values: [1])
                rule.matches[.icmpType] = ValueSet(values: [8])
                rule.matches[.source] = ValueSet([cidr(prefix: 16)])
                rule.limit = FirewallRateLimit(packets: 10, per: .seconds(1), burst: 20)
            default:  // private-side allowance for one backend
                rule.name = "backend-\(index)"
                rule.action = .accept
                rule.interfaces = [.private]
                rule.matches[.protocolNumber] = ValueSet(values: [6])
                rule.matches[.source] = ValueSet([ValueRange(0x0A00_0300 | UInt32.random(in: 2...254, using: &random))])
                rule.matches[.sourcePort] = ValueSet(values: [UInt32.random(in: 8000...9000, using: &random)])
            }
            let key = "\(rule.action) \(rule.interfaces) " + rule.matches.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            if seen.insert(key).inserted { add(rule) }
        }
        return set
    }

    /// Traffic for a realistic rule set: mostly public TCP from anywhere to
    /// common and random ports, some ICMP and private-side replies.
    public mutating func realisticPacket() -> FirewallPacket {
        let kind = Int.random(in: 0..<10, using: &random)
        let source = UInt32.random(in: 0x0B00_0000...0xDF00_0000, using: &random)
        switch kind {
        case 0...6:
            return FirewallPacket(
                direction: .inbound, interface: .public, protocolNumber: 6, source: source, destination: 0x0A00_020F,
                sourcePort: UInt16.random(in: 1024...65535, using: &random),
                destinationPort: [80, 443, 22, UInt16.random(in: 1...65535, using: &random)].randomElement(using: &random)!,
                state: [.new, .established].randomElement(using: &random)!, length: 60)
        case 7:
            return FirewallPacket(direction: .inbound, interface: .public, protocolNumber: 1, source: source,
                                  destination: 0x0A00_020F, icmpType: 8, state: .new, length: 84)
        case 8:
            return FirewallPacket(
                direction: .inbound, interface: .public, protocolNumber: 17, source: source, destination: 0x0A00_020F,
                sourcePort: 53, destinationPort: UInt16.random(in: 1...65535, using: &random), state: .new, length: 80)
        default:
            return FirewallPacket(
                direction: .inbound, interface: .private, protocolNumber: 6,
                source: 0x0A00_0300 | UInt32.random(in: 2...254, using: &random), destination: 0x0A00_030F,
                sourcePort: UInt16.random(in: 8000...9000, using: &random), destinationPort: UInt16.random(in: 1024...65535, using: &random),
                state: .new, length: 60)
        }
    }

    // MARK: Helpers

    private mutating func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &random) < probability }

    private mutating func pick<T>(from values: [T]) -> [T] {
        var chosen = values.filter { _ in chance(0.5) }
        if chosen.isEmpty { chosen = [values.randomElement(using: &random)!] }
        return chosen
    }

    private mutating func valueSet(_ pool: [ValueRange], domain: ValueRange) -> ValueSet {
        let set = ValueSet(pick(from: pool))
        let complement = set.complement(within: domain)
        return chance(0.2) && !complement.isEmpty ? complement : set
    }

    private mutating func edgeValue(_ pool: [ValueRange], domain: ValueRange) -> UInt32 {
        let range = pool.randomElement(using: &random)!
        switch Int.random(in: 0..<6, using: &random) {
        case 0: return range.lower
        case 1: return range.upper
        case 2: return range.lower == 0 ? 0 : range.lower - 1
        case 3: return range.upper == domain.upper ? range.upper : range.upper + 1
        case 4: return UInt32.random(in: domain.lower...domain.upper, using: &random)
        default: return UInt32.random(in: range.lower...range.upper, using: &random)
        }
    }

    private mutating func cidr(prefix: Int) -> ValueRange {
        let size = UInt32(1) << UInt32(32 - prefix)
        let base = UInt32.random(in: 0x0B00_0000...0xDF00_0000, using: &random) & ~(size &- 1)
        return ValueRange(base, base &+ (size &- 1))
    }

    private func location(_ line: Int) -> ConfigLocation { ConfigLocation(file: "generated", line: line, column: 1) }
}
