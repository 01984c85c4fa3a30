import KernelCore

/// What a named set holds, inferred from its elements.
enum SetKind: Sendable {
    case addresses, ports

    var noun: String { self == .addresses ? "addresses" : "ports" }
}

/// `set NAME { ... }`, checked.
struct NamedSet {
    var name: RuleToken
    /// Nil when an element could not be read (and was reported), so uses are not checked against it.
    var kind: SetKind?
    var values: ValueSet
    var isUsed = false
}

/// An address or port list as written: literals and `$name` references,
/// possibly negated. Its value is known once every set is defined.
struct ValueList {
    /// The first token of the list (the `!` when negated), where a list that
    /// leaves nothing is reported.
    var start: RuleToken
    var negated: Bool
    var literals: [ValueRange] = []
    var references: [RuleToken] = []
    /// Some literal could not be read (and was reported).
    var isDamaged = false
}

/// Values read from a list, and whether every element could be read.
typealias ParsedValues = (values: ValueSet, isComplete: Bool)

/// A `rule` statement as parsed: everything settled except the address and
/// port lists, which may name sets defined further down the file.
struct RuleDraft {
    var rule: FirewallRule
    var actionToken: RuleToken
    /// The keyword of each clause given, for checks that point at one.
    var clauses: [String: RuleToken] = [:]
    var lists: [MatchField: ValueList] = [:]
    /// Fields with a value that could not be read, so checks that depend on them are skipped.
    var unreadable: Set<MatchField> = []
    /// Some part of the statement was reported as a mistake.
    var isDamaged = false
}
