import KernelCore

/// Lists of values: their syntax (one element, or `{ a, b, ... }` across
/// lines) and what their elements mean in each clause.
extension FirewallParser {
    /// One element, or `{ ELEMENT, ... }`, which may span lines and end in a
    /// comma. With `commaList`, also `a,b,c` without braces. Returns the `{`
    /// (if any) and the element tokens, or nil, after reporting, when the
    /// list cannot be read.
    mutating func parseItems(_ what: String, commaList: Bool = false) -> (open: RuleToken?, items: [RuleToken])? {
        let first = peek()
        if first.kind == .word || first.kind == .reference {
            position += 1
            var items = [first]
            while commaList && peek().kind == .comma {
                position += 1
                guard peek().kind == .word else {
                    report(peek(), "expected \(what) after ',', found \(peek().shown)")
                    return nil
                }
                items.append(next())
            }
            return (nil, items)
        }
        guard first.kind == .open else {
            report(first, "expected \(what) or '{', found \(first.shown)")
            return nil
        }
        position += 1
        var items: [RuleToken] = []
        while true {
            skipNewlines()
            let token = peek()
            if token.kind == .close {
                position += 1
                return (first, items)
            }
            guard token.kind == .word || token.kind == .reference, !isStatementStart(position) else {
                return abandonList(first, at: token, "expected \(what) or '}', found \(token.shown)")
            }
            position += 1
            items.append(token)
            skipNewlines()
            let separator = peek()
            if separator.kind == .comma {
                position += 1
            } else if separator.kind != .close {
                return abandonList(first, at: separator, "expected ',' or '}' after \(token.shown), found \(separator.shown)")
            }
        }
    }

    /// Reports a list that went wrong at `token` — as never closed when the
    /// file or a new statement comes first — and moves past its `}`.
    private mutating func abandonList(_ open: RuleToken, at token: RuleToken, _ message: String) -> (open: RuleToken?, items: [RuleToken])? {
        if token.kind == .end || isStatementStart(position) {
            report(open, "this '{' is never closed")
            return nil
        }
        report(token, message)
        while peek().kind != .end, !isStatementStart(position) {
            if next().kind == .close { break }
        }
        return nil
    }

    /// A rule's list, which must not be empty.
    private mutating func parseRuleItems(_ what: String, commaList: Bool = false) -> [RuleToken]? {
        guard let (open, items) = parseItems(what, commaList: commaList) else { return nil }
        if items.isEmpty, let open {
            report(open, "this list is empty, so nothing can match it")
            return nil
        }
        return items
    }

    /// `admin`, `public`, `private`, `any` or a list of them; each role with the token that names it.
    mutating func parseInterfaces() -> [(InterfaceRole, RuleToken)]? {
        guard let items = parseRuleItems("an interface") else { return nil }
        var roles: [(InterfaceRole, RuleToken)] = []
        for item in items {
            if item.isWord("any") {
                roles += InterfaceRole.allCases.map { ($0, item) }
            } else if item.kind == .word, let role = InterfaceRole(name: Array(item.text.utf8)) {
                roles.append((role, item))
            } else {
                let names = InterfaceRole.allCases.map { "\($0.name)" } + ["any"]
                report(item, item.kind == .word
                    ? Vocabulary.unknown("interface", item.text, expected: names)
                    : "unknown interface \(item.shown) (expected \(Vocabulary.spoken(names)))")
            }
        }
        return roles
    }

    /// Protocols or ICMP types: names from `names` or numbers up to 255.
    mutating func parseBytes(_ what: String, names: [(String, UInt32)]) -> ParsedValues? {
        guard let items = parseRuleItems("a \(what)") else { return nil }
        var values: [UInt32] = []
        for item in items {
            do throws(LiteralError) {
                guard item.kind == .word else { throw LiteralError(message: "a \(what) cannot be a set (\(item.shown))") }
                values.append(try RuleLiteral.byte(item.text, what: what, names: names))
            } catch {
                report(item, error.message)
            }
        }
        return (ValueSet(values: values), values.count == items.count)
    }

    /// `established,related` or `{ established, related }`.
    mutating func parseStates() -> ParsedValues? {
        guard let items = parseRuleItems("a connection state", commaList: true) else { return nil }
        var values: [UInt32] = []
        for item in items {
            if item.kind == .word, let state = ConnectionState.allCases.first(where: { "\($0.name)" == item.text }) {
                values.append(UInt32(state.rawValue))
            } else {
                let names = ConnectionState.allCases.map { "\($0.name)" }
                report(item, item.kind == .word
                    ? Vocabulary.unknown("state", item.text, expected: names)
                    : "unknown state \(item.shown) (expected \(Vocabulary.spoken(names)))")
            }
        }
        return (ValueSet(values: values), values.count == items.count)
    }

    /// Addresses or ports, optionally negated with `!`: literals (and `any`
    /// for addresses) are read now, `$name` references once all sets are known.
    mutating func parseValueList(_ field: MatchField) -> ValueList? {
        let isAddress = field == .source || field == .destination
        var list = ValueList(start: peek(), negated: peek().kind == .not)
        if list.negated { position += 1 }
        guard let items = parseRuleItems(isAddress ? "an address" : "a port") else { return nil }
        for item in items {
            if item.kind == .reference {
                list.references.append(item)
            } else if isAddress && item.text == "any" {
                list.literals.append(field.domain)
            } else {
                do throws(LiteralError) {
                    list.literals.append(isAddress ? try RuleLiteral.addresses(item.text) : try RuleLiteral.ports(item.text))
                } catch {
                    report(item, error.message)
                    list.isDamaged = true
                }
            }
        }
        return list
    }
}
