import Foundation
import KernelCore

/// An appliance file and the rule file it names, checked in one pass: every
/// error and warning of both, and warnings where the two disagree, sorted by
/// file (the appliance file first) and then position.
public struct ApplianceCheck: Sendable {
    public var appliance: ApplianceDescription
    /// The appliance's firewall, when it names one.
    public var ruleSet: FirewallRuleSet?
    /// The rule file's text, which the generated classifier quotes.
    public var ruleText = ""
    /// Warnings of both files and of the services against the firewall, in order.
    public var warnings: [ConfigDiagnostic] = []

    /// Checks the appliance file at `path` and its rule file. Throws every
    /// error, with the warnings found beside them, when there is an error.
    public static func run(_ path: String) throws(ConfigErrors) -> ApplianceCheck {
        try run(file: path, text: ConfigDiagnostic.readSource(path))
    }

    /// Checks appliance `text` (read from `file`) and the rule file it names.
    public static func run(file: String, text: String) throws(ConfigErrors) -> ApplianceCheck {
        let (appliance, applianceProblems) = ApplianceParser.check(file: file, text: text)
        var check = ApplianceCheck(appliance: appliance)
        var diagnostics = applianceProblems
        // The parser has already reported a rule file it cannot read.
        if let rules = appliance.firewallRules, let ruleText = try? SourceFile.read(rules) {
            let (ruleSet, ruleErrors) = FirewallParser.check(file: rules, text: ruleText)
            diagnostics += ruleErrors + ruleSet.warnings
            check.ruleSet = ruleSet
            check.ruleText = ruleText
            if !diagnostics.contains(where: { $0.severity == .error }) {
                diagnostics += ServiceReach.warnings(appliance, ruleSet, sourceText: text)
            }
        }
        let ordered = ConfigDiagnostic.inFileOrder(diagnostics)
        if ordered.contains(where: { $0.severity == .error }) { throw ConfigErrors(diagnostics: ordered) }
        check.warnings = ordered
        return check
    }
}
