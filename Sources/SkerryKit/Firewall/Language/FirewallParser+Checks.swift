import KernelCore

/// Checks that need the whole file: set references, what `port` and
/// `icmp-type` require of a rule's protocols, and rules or sets that can
/// never take effect.
extension FirewallParser {
    static let portProtocols = ValueSet(values: [6, 17])
    static let icmpProtocol = ValueSet(values: [1])

    /// The rules, with every list resolved against the sets, and whether
    /// each had a mistake (so some of its conditions are missing).
    mutating func resolveRules() -> (rules: [FirewallRule], damaged: [Bool]) {
        var rules: [FirewallRule] = []
        var damaged: [Bool] = []
        for draft in drafts {
            let before = problems.count
            rules.append(resolve(draft))
            damaged.append(draft.isDamaged || problems.count > before)
        }
        return (rules, damaged)
    }

    private mutating func resolve(_ draft: RuleDraft) -> FirewallRule {
        var rule = draft.rule
        for (field, list) in draft.lists.sorted(by: { $0.key < $1.key }) {
            guard let values = resolve(list, as: field) else { continue }
            if values.isEmpty {
                let noun = field == .source || field == .destination ? "address" : "port"
                report(list.start, "'!' leaves no \(noun) to match, so the rule can never match")
            } else if values != ValueSet([field.domain]) {
                rule.matches[field] = values
            }
        }
        guard !draft.unreadable.contains(.protocolNumber) else { return rule }
        let protocols = rule.values(.protocolNumber)
        if let port = draft.clauses["port"], !Self.portProtocols.isSuperset(of: protocols) {
            report(port, "'port' needs 'proto tcp', 'proto udp' or 'proto { tcp, udp }'")
        }
        if let icmpType = draft.clauses[RuleClause.icmpType.key], protocols != Self.icmpProtocol {
            report(icmpType, "'icmp-type' needs 'proto icmp'")
        }
        return rule
    }

    /// The list's values, or nil when part of it could not be read (and was reported).
    private mutating func resolve(_ list: ValueList, as field: MatchField) -> ValueSet? {
        let wanted: SetKind = field == .source || field == .destination ? .addresses : .ports
        var ranges = list.literals
        var complete = !list.isDamaged && !list.references.contains { $0.text.isEmpty }
        for reference in list.references where !reference.text.isEmpty {
            guard let index = setIndex[reference.text] else {
                // Past the error limit nothing more is shown, so no suggestion is looked for.
                let shown = problems.count <= ConfigDiagnostic.errorLimit
                report(reference, shown ? unknownSetMessage(reference.text) : "unknown set '$\(reference.text)'")
                unknownReference = true
                complete = false
                continue
            }
            sets[index].isUsed = true
            guard let kind = sets[index].kind else {
                complete = false
                continue
            }
            guard kind == wanted else {
                report(reference, "\(reference.shown) is a set of \(kind.noun), not \(wanted.noun)")
                complete = false
                continue
            }
            ranges += sets[index].values.ranges
        }
        guard complete else { return nil }
        let values = ValueSet(ranges)
        return list.negated ? values.complement(within: field.domain) : values
    }

    private func unknownSetMessage(_ name: String) -> String {
        "unknown set '$\(name)'" + Vocabulary.suggestion(for: name, in: sets.map(\.name.text), prefix: "$")
    }

    // MARK: Warnings

    /// A rule every packet of which an earlier rule already takes.
    mutating func checkShadowedRules(_ rules: [FirewallRule]) {
        // Bitmasks first: an earlier rule can only cover a later one if it
        // applies wherever the later one does and constrains no field the
        // later one leaves open. Most pairs fail that without touching a set.
        let scopes = rules.map { rule in
            rule.directions.reduce(0) { mask, direction in
                rule.interfaces.reduce(mask) { $0 | 1 << PolicyKey(direction, $1).index }
            }
        }
        let constrained = rules.map { rule in rule.matches.keys.reduce(0) { $0 | 1 << $1.rawValue } }
        // Each rule's bounding box, field by field: a cover's box holds the covered one's.
        let fieldCount = MatchField.allCases.count
        var lows = [UInt32](repeating: 0, count: rules.count * fieldCount)
        var highs = [UInt32](repeating: 0, count: rules.count * fieldCount)
        for (index, rule) in rules.enumerated() {
            for field in MatchField.allCases {
                let ranges = rule.values(field).ranges
                lows[index * fieldCount + field.rawValue] = ranges.first?.lower ?? 1
                highs[index * fieldCount + field.rawValue] = ranges.last?.upper ?? 0
            }
        }
        func boxContains(_ outer: Int, _ inner: Int) -> Bool {
            for field in 0..<fieldCount {
                let a = outer * fieldCount + field
                let b = inner * fieldCount + field
                if lows[a] > lows[b] || highs[a] < highs[b] { return false }
            }
            return true
        }
        for (index, rule) in rules.enumerated() {
            let candidates = (0..<index).lazy.filter {
                scopes[index] & ~scopes[$0] == 0 && constrained[$0] & ~constrained[index] == 0 && boxContains($0, index)
            }
            guard let earlierIndex = candidates.first(where: { rule.isCovered(by: rules[$0]) }) else { continue }
            let earlier = rules[earlierIndex]
            warn(
                line: rule.location.line, column: rule.location.column,
                "rule '\(rule.name)' can never match: rule '\(earlier.name)' (line \(earlier.location.line)) matches everything it matches")
        }
    }

    /// A set nothing refers to. Not said of a set with a mistake of its own
    /// (already reported), nor when some reference is missing or names no
    /// set: it may be the one meant.
    mutating func checkUnusedSets() {
        guard !abandonedRule, !unknownReference else { return }
        for set in sets where !set.isUsed && set.kind != nil { warn(set.name, "set '\(set.name.text)' is never used") }
    }
}
