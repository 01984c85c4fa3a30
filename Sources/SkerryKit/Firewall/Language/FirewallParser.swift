import Foundation
import KernelCore

/// Reads the firewall language (docs/firewall.md) into a `FirewallRuleSet`,
/// reporting every problem with its position.
///
/// Parsing runs in two steps: statements are read in file order (sets are
/// checked at once; rules keep their address and port lists as written),
/// then rules are resolved against all the sets, and the rule set is
/// checked as a whole for rules that can never match and sets never used.
public struct FirewallParser {
    let lexer: RuleLexer
    var tokens: [RuleToken] = []
    var position = 0
    var problems: [ConfigDiagnostic] = []
    var warnings: [ConfigDiagnostic] = []
    var sets: [NamedSet] = []
    /// Each set's index in `sets`, by name: a lookup costs the same however many sets there are.
    var setIndex: [String: Int] = [:]
    var ruleNames: [String: RuleToken] = [:]
    var drafts: [RuleDraft] = []
    var policies: [(policy: FirewallPolicy, token: RuleToken)] = []
    /// A rule statement was abandoned part-way, so set references after the mistake went unseen.
    var abandonedRule = false
    /// A `$name` names no set.
    var unknownReference = false

    init(file: String, text: String) {
        lexer = RuleLexer(file: file, text: text)
    }

    /// Parses and checks; throws every error found, with the warnings found
    /// beside them, in file order. Without errors, warnings are returned in
    /// the rule set.
    public static func parse(file: String, text: String) throws(ConfigErrors) -> FirewallRuleSet {
        let (ruleSet, errors) = check(file: file, text: text)
        if !errors.isEmpty { throw ConfigErrors(diagnostics: ConfigDiagnostic.inFileOrder(errors + ruleSet.warnings)) }
        return ruleSet
    }

    /// Reads `path`, or throws one diagnostic saying why it cannot.
    public static func load(_ path: String) throws(ConfigErrors) -> FirewallRuleSet {
        try parse(file: path, text: ConfigDiagnostic.readSource(path))
    }

    /// The rules as far as they could be read, with their warnings, and every error, in file order.
    static func check(file: String, text: String) -> (FirewallRuleSet, errors: [ConfigDiagnostic]) {
        var parser = FirewallParser(file: file, text: text)
        return parser.run()
    }

    mutating func run() -> (FirewallRuleSet, errors: [ConfigDiagnostic]) {
        (tokens, problems) = lexer.tokens()
        while peek().kind != .end {
            // Past the limit the rest is not read: a file of garbage costs no more than a short one.
            guard problems.count <= ConfigDiagnostic.errorLimit else {
                abandonedRule = true
                break
            }
            parseStatement()
        }
        let (rules, damaged) = resolveRules()
        var ruleSet = FirewallRuleSet(rules: rules, policies: policies.map(\.policy))
        ruleSet.source = lexer.file
        // Beside errors, only what the mistakes cannot distort is checked:
        // rules read in full, and unused sets when no rule was cut short.
        checkShadowedRules(rules.indices.filter { !damaged[$0] }.map { rules[$0] })
        checkUnusedSets()
        ruleSet.warnings = ConfigDiagnostic.inFileOrder(warnings)
        return (ruleSet, ConfigDiagnostic.inFileOrder(problems))
    }

    // MARK: Tokens

    func peek() -> RuleToken { tokens[min(position, tokens.count - 1)] }

    /// The current token, moving past it unless it is the end of the file.
    mutating func next() -> RuleToken {
        let token = peek()
        if token.kind != .end { position += 1 }
        return token
    }

    var atEndOfStatement: Bool { peek().kind == .newline || peek().kind == .end }

    /// A statement keyword first on its line: where reading can resume.
    func isStatementStart(_ index: Int) -> Bool {
        guard index < tokens.count, tokens[index].kind == .word, ["set", "policy", "rule"].contains(tokens[index].text) else {
            return false
        }
        return index == 0 || tokens[index - 1].kind == .newline
    }

    mutating func skipNewlines() {
        while peek().kind == .newline { position += 1 }
    }

    /// Anything left on the line is a mistake: report it once and move on.
    mutating func endOfStatement() {
        guard !atEndOfStatement else { return }
        report(peek(), "unexpected \(peek().shown) at the end of the statement")
        skipStatement()
    }

    /// Moves to the end of the statement: the next line end outside braces,
    /// or the next statement keyword that starts a line (a `{` left open).
    mutating func skipStatement() {
        var depth = 0
        while peek().kind != .end, !isStatementStart(position) {
            switch peek().kind {
            case .open: depth += 1
            case .close: depth = max(0, depth - 1)
            case .newline where depth == 0: return
            default: break
            }
            position += 1
        }
    }

    // MARK: Diagnostics

    mutating func report(_ token: RuleToken, _ message: String) {
        problems.append(lexer.diagnostic(line: token.line, column: token.column, message))
    }

    mutating func warn(_ token: RuleToken, _ message: String) {
        warn(line: token.line, column: token.column, message)
    }

    mutating func warn(line: Int, column: Int, _ message: String) {
        warnings.append(lexer.diagnostic(line: line, column: column, message, severity: .warning))
    }
}
