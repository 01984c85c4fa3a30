import KernelCore
import SkerryKit

/// One backend as the Backends view lists it.
public struct BackendRow: Sendable {
    public var index: Int
    public var service: String
    public var name: String
    public var values: Telemetry.BackendValues
    public var limit: Int
    public var rate: Double
    public var history: [Double]

    public var label: String { "\(service)/\(name)" }
    /// Bytes both ways, the IN and OUT columns together.
    public var bytes: UInt64 {
        // Saturating: totals come from the appliance, which must not be able to trap the dashboard.
        let (sum, overflow) = values.traffic[.bytesToBackend].addingReportingOverflow(values.traffic[.bytesToClient])
        return overflow ? .max : sum
    }
}

/// One firewall rule, or a default-policy row, as the Firewall view lists it.
public struct RuleRow: Sendable {
    /// The rule's place in the firewall's order, from 0; nil for a default policy.
    public var number: Int?
    public var name: String
    public var action: FirewallAction
    public var packets: UInt64
    public var bytes: UInt64
    public var rate: Double
    public var lastHitMilliseconds: UInt64?
    public var history: [Double]
    public var isPolicy: Bool
}

extension Dashboard {
    /// The backends, filtered and sorted as the operator asked.
    public func backendRows(_ input: DashboardInput) -> [BackendRow] {
        guard let schema = input.model.schema, let snapshot = input.model.snapshot else { return [] }
        let rates = input.model.rates
        var rows: [BackendRow] = []
        var index = 0
        for service in schema.services {
            for backend in service.backends {
                defer { index += 1 }
                guard index < snapshot.backends.count else { continue }
                rows.append(BackendRow(
                    index: index, service: service.name, name: backend.name, values: snapshot.backends[index],
                    limit: backend.maximumConnections,
                    rate: rates.map { index < $0.backendConnections.count ? $0.backendConnections[index] : 0 } ?? 0,
                    history: index < history.backendRates.count ? history.backendRates[index] : []))
            }
        }
        let filter = state.filter[.backends, default: ""].lowercased()
        if !filter.isEmpty { rows = rows.filter { $0.label.lowercased().contains(filter) || "\($0.values.administrative.label)".contains(filter) } }
        let ascending: (BackendRow, BackendRow) -> Bool
        switch state.backendSort {
        case .name: ascending = { ($0.label, $0.index) < ($1.label, $1.index) }
        case .state: ascending = { ($0.values.up ? 1 : 0, "\($0.values.administrative.label)", $0.index) < ($1.values.up ? 1 : 0, "\($1.values.administrative.label)", $1.index) }
        case .active: ascending = { ($1.values.traffic[.activeConnections], $0.index) < ($0.values.traffic[.activeConnections], $1.index) }
        case .total: ascending = { ($1.values.traffic[.totalConnections], $0.index) < ($0.values.traffic[.totalConnections], $1.index) }
        case .rate: ascending = { ($1.rate, $0.index) < ($0.rate, $1.index) }
        case .bytes: ascending = { ($1.bytes, $0.index) < ($0.bytes, $1.index) }
        }
        rows.sort(by: ascending)
        if state.reversed[.backends] == true { rows.reverse() }
        return rows
    }

    /// The rules (and, after them, the default policies), filtered and sorted.
    /// Sorted as indices with plain keys: 5,000 rules fit in a frame's budget.
    public func ruleRows(_ input: DashboardInput) -> [RuleRow] {
        guard let schema = input.model.schema, let firewall = input.model.snapshot?.firewall else { return [] }
        let rates = input.model.rates?.rulePackets ?? []
        let count = schema.rules.count
        var packets = [UInt64](repeating: 0, count: count)
        var bytes = [UInt64](repeating: 0, count: count)
        var ages = [UInt64](repeating: .max, count: count)
        for (index, values) in firewall.rules where index < count {
            packets[index] = values.packets
            bytes[index] = values.bytes
            ages[index] = values.lastHitAgeMilliseconds ?? .max
        }
        let rate = { (index: Int) in index < rates.count ? rates[index] : 0 }
        let (kept, policies) = filteredRules(schema, firewall)
        var order = kept
        switch state.ruleSort {
        case .order: break
        case .hits: order.sort { (packets[$1], $0) < (packets[$0], $1) }
        case .name: order.sort { (schema.rules[$0].name, $0) < (schema.rules[$1].name, $1) }
        case .rate: order.sort { (rate($1), $0) < (rate($0), $1) }
        case .bytes: order.sort { (bytes[$1], $0) < (bytes[$0], $1) }
        case .lastHit: order.sort { (ages[$0], $0) < (ages[$1], $1) }
        }
        if state.reversed[.firewall] == true { order.reverse() }
        var rows: [RuleRow] = []
        rows.reserveCapacity(order.count + 6)
        for index in order {
            rows.append(RuleRow(number: index, name: schema.rules[index].name, action: schema.rules[index].action, packets: packets[index],
                                bytes: bytes[index], rate: rate(index), lastHitMilliseconds: ages[index] == .max ? nil : ages[index],
                                history: history.ruleRates[index] ?? [], isPolicy: false))
        }
        for index in policies {
            rows.append(RuleRow(number: nil, name: Self.policyName(index), action: schema.policies[index], packets: firewall.policies[index].packets,
                                bytes: firewall.policies[index].bytes, rate: 0, lastHitMilliseconds: nil, history: [], isPolicy: true))
        }
        return rows
    }

    /// How many rows `ruleRows` gives, without sorting them.
    func ruleRowCount(_ input: DashboardInput) -> Int {
        guard let schema = input.model.schema, let firewall = input.model.snapshot?.firewall else { return 0 }
        let (rules, policies) = filteredRules(schema, firewall)
        return rules.count + policies.count
    }

    /// The rules and default policies the Firewall view's filter keeps, in schema order.
    private func filteredRules(_ schema: Telemetry.Schema, _ firewall: Telemetry.FirewallValues) -> (rules: [Int], policies: [Int]) {
        let filter = state.filter[.firewall, default: ""].lowercased()
        var rules = Array(0..<schema.rules.count)
        if !filter.isEmpty {
            rules = rules.filter { schema.rules[$0].name.lowercased().contains(filter) || "\(schema.rules[$0].action.name)".contains(filter) }
        }
        let policies = schema.policies.indices.filter { index in
            index < firewall.policies.count
                && (filter.isEmpty || Self.policyName(index).contains(filter) || "\(schema.policies[index].name)".contains(filter))
        }
        return (rules, policies)
    }

    private static func policyName(_ index: Int) -> String { "policy " + Telemetry.Schema.policyNames[index] }
}
