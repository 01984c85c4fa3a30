import KernelCore

/// The clauses a rule takes after its action, each at most once.
enum RuleClause: String, CaseIterable {
    case `in`, out, on, proto, from, to, icmpType = "icmp-type", state, limit, log

    /// Clauses that set the same thing share a key: `in` and `out` are both the direction.
    var key: String { self == .in || self == .out ? "direction" : rawValue }
}

extension FirewallParser {
    static let statements = ["set", "policy", "rule"]
    static let maximumNameLength = 48
    static let maximumRate: UInt64 = 1_000_000

    mutating func parseStatement() {
        let token = next()
        switch token.kind {
        case .newline:
            return
        case .word where token.text == "set":
            parseSet()
        case .word where token.text == "policy":
            parsePolicy()
        case .word where token.text == "rule":
            parseRule()
        default:
            let hint = token.kind == .word ? Vocabulary.suggestion(for: token.text, in: Self.statements) : ""
            report(token, "expected 'set', 'policy' or 'rule', found \(token.shown)\(hint)")
            skipStatement()
        }
    }

    // MARK: set NAME { ELEMENT, ... }

    mutating func parseSet() {
        guard let name = expectName("a set name after 'set'") else { return skipStatement() }
        let earlier = setIndex[name.text].map { sets[$0] }
        if let earlier { report(name, "set '\(name.text)' is already defined on line \(earlier.name.line)") }
        guard peek().kind == .open else {
            report(peek(), "expected '{' after the set name, found \(peek().shown)")
            return skipStatement()
        }
        guard let (open, items) = parseItems("an address or a port") else {
            if earlier == nil { add(NamedSet(name: name, kind: nil, values: ValueSet([]))) }
            return skipStatement()
        }
        if items.isEmpty, let open { report(open, "set '\(name.text)' is empty") }
        var kind: SetKind?
        var ranges: [ValueRange] = []
        var damaged = items.isEmpty
        for item in items {
            guard let (itemKind, range) = setElement(item) else {
                damaged = true
                continue
            }
            if let kind, kind != itemKind {
                let article = itemKind == .addresses ? "an address" : "a port"
                report(item, "set '\(name.text)' mixes addresses and ports: '\(item.text)' is \(article), the elements before it are \(kind.noun)")
                damaged = true
                continue
            }
            kind = itemKind
            ranges.append(range)
        }
        if earlier == nil { add(NamedSet(name: name, kind: damaged ? nil : kind, values: ValueSet(ranges))) }
        endOfStatement()
    }

    private mutating func add(_ set: NamedSet) {
        setIndex[set.name.text] = sets.count
        sets.append(set)
    }

    /// An element of a set: an address (it has dots) or a port (it starts with a digit).
    private mutating func setElement(_ item: RuleToken) -> (SetKind, ValueRange)? {
        guard item.kind == .word else {
            if !item.text.isEmpty { report(item, "a set cannot contain another set; list the elements of \(item.shown) instead") }
            return nil
        }
        let kind: SetKind
        if item.text.contains(".") {
            kind = .addresses
        } else if item.text.first?.isNumber == true {
            kind = .ports
        } else {
            report(item, "'\(item.text)' is not an address or a port")
            return nil
        }
        do throws(LiteralError) {
            return (kind, kind == .addresses ? try RuleLiteral.addresses(item.text) : try RuleLiteral.ports(item.text))
        } catch {
            report(item, error.message)
            return nil
        }
    }

    // MARK: policy (in|out) on IFACES ACTION

    mutating func parsePolicy() {
        let directionToken = peek()
        guard directionToken.isWord("in") || directionToken.isWord("out") else {
            let hint = directionToken.kind == .word ? Vocabulary.suggestion(for: directionToken.text, in: ["in", "out"]) : ""
            report(directionToken, "expected 'in' or 'out' after 'policy', found \(directionToken.shown)\(hint)")
            return skipStatement()
        }
        position += 1
        let direction: TrafficDirection = directionToken.text == "in" ? .inbound : .outbound
        guard peek().isWord("on") else {
            report(peek(), "expected 'on' after 'policy \(directionToken.text)', found \(peek().shown)")
            return skipStatement()
        }
        position += 1
        guard let interfaces = parseInterfaces(), let (action, actionToken) = expectAction() else { return skipStatement() }
        for (interface, token) in interfaces {
            if let earlier = policies.first(where: { $0.policy.direction == direction && $0.policy.interface == interface }) {
                report(token, "the policy for '\(directionToken.text)' on \(interface.name) is already set on line \(earlier.token.line)")
            } else {
                policies.append((FirewallPolicy(direction, interface, action), token))
            }
        }
        if action == .reject && direction == .outbound { warn(actionToken, "reject on outbound traffic acts as drop") }
        endOfStatement()
    }

    // MARK: rule NAME: ACTION CLAUSE...

    mutating func parseRule() {
        let before = problems.count
        var kept = false
        defer { if !kept { abandonedRule = true } }
        guard let name = expectName("a rule name after 'rule'") else { return skipStatement() }
        if let earlier = ruleNames[name.text] {
            report(name, "rule '\(name.text)' is already defined on line \(earlier.line)")
        } else {
            ruleNames[name.text] = name
        }
        guard peek().kind == .colon else {
            report(peek(), "expected ':' after the rule name, found \(peek().shown)")
            return skipStatement()
        }
        position += 1
        guard let (action, actionToken) = expectAction() else { return skipStatement() }
        let location = ConfigLocation(file: lexer.file, line: name.line, column: name.column)
        var draft = RuleDraft(rule: FirewallRule(name: name.text, location: location, action: action), actionToken: actionToken)
        while !atEndOfStatement {
            let keyword = next()
            guard keyword.kind == .word, let clause = RuleClause(rawValue: keyword.text) else {
                report(keyword, unknownClauseMessage(keyword))
                return skipStatement()
            }
            if let earlier = draft.clauses[clause.key] {
                report(keyword, earlier.text == keyword.text
                    ? "'\(keyword.text)' is given twice"
                    : "the direction is given twice; leave out 'in' and 'out' to match both directions")
            } else {
                draft.clauses[clause.key] = keyword
            }
            guard parseClause(clause, into: &draft) else { return skipStatement() }
        }
        if action == .reject && draft.rule.directions == [.outbound] {
            warn(actionToken, "reject on outbound traffic acts as drop")
        }
        draft.isDamaged = problems.count > before
        drafts.append(draft)
        kept = true
    }

    private func unknownClauseMessage(_ token: RuleToken) -> String {
        if token.isWord("port") { return "'port' must follow 'from' or 'to', as in 'to port 22'" }
        let clauses = RuleClause.allCases.map(\.rawValue)
        guard token.kind == .word else { return "expected \(Vocabulary.spoken(clauses)), found \(token.shown)" }
        return Vocabulary.unknown("clause", token.text, expected: clauses)
    }

    /// Reads one clause's values; false when the rest of the statement cannot be read.
    private mutating func parseClause(_ clause: RuleClause, into draft: inout RuleDraft) -> Bool {
        switch clause {
        case .in:
            draft.rule.directions = [.inbound]
        case .out:
            draft.rule.directions = [.outbound]
        case .on:
            guard let interfaces = parseInterfaces() else { return false }
            draft.rule.interfaces = InterfaceRole.allCases.filter { role in interfaces.contains { $0.0 == role } }
        case .proto:
            guard let values = parseBytes("protocol", names: RuleLiteral.protocolNames) else { return false }
            draft.setMatch(.protocolNumber, values)
        case .icmpType:
            guard let values = parseBytes("ICMP type", names: RuleLiteral.icmpTypeNames) else { return false }
            draft.setMatch(.icmpType, values)
        case .state:
            guard let values = parseStates() else { return false }
            draft.setMatch(.state, values)
        case .from, .to:
            return parseEndpoint(clause == .from ? .source : .destination, into: &draft)
        case .limit:
            return parseLimit(into: &draft)
        case .log:
            draft.rule.log = true
        }
        return true
    }

    /// `ADDRS [port PORTS]` or `port PORTS` after `from` or `to`.
    private mutating func parseEndpoint(_ field: MatchField, into draft: inout RuleDraft) -> Bool {
        if !peek().isWord("port") {
            guard let list = parseValueList(field) else { return false }
            draft.lists[field] = list
        }
        guard peek().isWord("port") else { return true }
        let port = next()
        if draft.clauses["port"] == nil { draft.clauses["port"] = port }
        let portField: MatchField = field == .source ? .sourcePort : .destinationPort
        guard let list = parseValueList(portField) else { return false }
        draft.lists[portField] = list
        return true
    }

    /// `limit N/UNIT [burst M]`.
    private mutating func parseLimit(into draft: inout RuleDraft) -> Bool {
        let rate = peek()
        guard rate.kind == .word else {
            report(rate, "expected a rate like 10/second after 'limit', found \(rate.shown)")
            return false
        }
        position += 1
        let parts = rate.text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let packets = RuleLiteral.number(parts[0]) else {
            report(rate, "'\(rate.text)' is not a rate like 10/second")
            return true
        }
        let units: [(String, UInt64)] = [("second", 1), ("minute", 60), ("hour", 3600)]
        let unit = units.first { $0.0 == parts[1] }?.1
        let unitNames = units.map(\.0)
        if packets == 0 || packets > Self.maximumRate {
            report(rate, "the limit must be from 1 to \(Self.maximumRate) packets, not \(packets)")
        }
        if unit == nil {
            var unitToken = rate
            unitToken.column += parts[0].count + 1
            report(unitToken, Vocabulary.unknown("unit", String(parts[1]), expected: unitNames))
        }
        var burst = packets
        if peek().isWord("burst") {
            position += 1
            let value = peek()
            guard value.kind == .word else {
                report(value, "expected a burst after 'burst', found \(value.shown)")
                return false
            }
            position += 1
            guard let number = RuleLiteral.number(value.text), number >= 1, number <= Self.maximumRate else {
                report(value, "the burst must be from 1 to \(Self.maximumRate) packets, not \(value.shown)")
                return true
            }
            burst = number
        }
        if let unit, packets >= 1, packets <= Self.maximumRate {
            draft.rule.limit = FirewallRateLimit(packets: UInt32(packets), per: .seconds(unit), burst: UInt32(burst))
        }
        return true
    }

    // MARK: Words

    /// A name: a letter, then letters, digits, `-` and `_`, at most 48 in all.
    mutating func expectName(_ what: String) -> RuleToken? {
        let token = peek()
        guard token.kind == .word else {
            report(token, "expected \(what), found \(token.shown)")
            return nil
        }
        position += 1
        let valid = token.text.count <= Self.maximumNameLength && token.text.first?.isLetter == true
            && token.text.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
        if !valid {
            report(token, "'\(token.text)' is not a name (letters, digits, '-' and '_', starting with a letter, at most \(Self.maximumNameLength))")
        }
        return token
    }

    mutating func expectAction() -> (FirewallAction, RuleToken)? {
        let token = peek()
        guard token.kind == .word, let action = FirewallAction(name: token.text) else {
            let names = FirewallAction.allCases.map { "\($0.name)" }
            let hint = token.kind == .word ? Vocabulary.suggestion(for: token.text, in: names) : ""
            report(token, "expected an action (\(Vocabulary.spoken(names))), found \(token.shown)\(hint)")
            return nil
        }
        position += 1
        return (action, token)
    }
}

extension RuleDraft {
    /// Records a field's values; a field that allows everything is left out,
    /// and so is one with a value that could not be read.
    mutating func setMatch(_ field: MatchField, _ parsed: ParsedValues) {
        if !parsed.isComplete { unreadable.insert(field) }
        rule.matches[field] = !parsed.isComplete || parsed.values == ValueSet([field.domain]) ? nil : parsed.values
    }
}
