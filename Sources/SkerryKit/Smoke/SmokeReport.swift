import Foundation

/// The runner's reports: KTAP on stdout, JUnit XML for CI systems.
public enum SmokeReport {
    /// KTAP: one subtest per suite, one test line per step, failures with
    /// what was expected and seen and the last console lines, as comments;
    /// control characters escaped, one line per line.
    public static func ktap(_ results: [SmokeResult]) -> String {
        var lines = ["KTAP version 1", "1..\(results.count)"]
        for (suiteIndex, result) in results.enumerated() {
            lines.append("    KTAP version 1")
            lines.append("    # Subtest: \(result.suite)")
            lines.append("    1..\(result.steps.count)")
            for (index, step) in result.steps.enumerated() {
                switch step.status {
                case .passed: lines.append("    ok \(index + 1) \(step.name)")
                case .skipped: lines.append("    ok \(index + 1) \(step.name) # SKIP an earlier step failed")
                case .failed:
                    lines.append("    not ok \(index + 1) \(step.name)")
                    lines.append("    # expected: \(step.expected ?? "")")
                    lines.append("    # seen:     \(step.seen ?? "")")
                }
            }
            if let failure = result.failure { lines.append("    # \(failure)") }
            if !result.passed {
                lines.append("    # last console lines:")
                lines += result.lastConsoleLines.map { "    #   \($0)" }
                if let log = result.consoleLog { lines.append("    # console log: \(log)") }
            }
            lines.append("\(result.passed ? "ok" : "not ok") \(suiteIndex + 1) \(result.suite)")
        }
        // Names, patterns and console lines come from the script and the kernel: their control characters are escaped.
        return lines.map(TerminalText.escaped).joined(separator: "\n") + "\n"
    }

    /// JUnit XML (the schema Jenkins and GitLab read): a testsuite per suite, a testcase per step.
    public static func junit(_ results: [SmokeResult]) -> String {
        var xml = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>"]
        let failures = results.reduce(0) { $0 + $1.steps.filter { $0.status == .failed }.count + ($1.failure == nil ? 0 : 1) }
        let tests = results.reduce(0) { $0 + $1.steps.count + ($1.failure == nil ? 0 : 1) }
        xml.append("<testsuites name=\"skerry smoke\" tests=\"\(tests)\" failures=\"\(failures)\" errors=\"0\" "
            + "time=\"\(format(results.reduce(0) { $0 + $1.seconds }))\">")
        for (index, result) in results.enumerated() {
            let failed = result.steps.filter { $0.status == .failed }.count + (result.failure == nil ? 0 : 1)
            let skipped = result.steps.filter { $0.status == .skipped }.count
            xml.append("  <testsuite name=\"\(escape(result.suite))\" id=\"\(index)\" tests=\"\(result.steps.count + (result.failure == nil ? 0 : 1))\" "
                + "failures=\"\(failed)\" errors=\"0\" skipped=\"\(skipped)\" time=\"\(format(result.seconds))\">")
            for step in result.steps {
                xml.append("    <testcase name=\"\(escape(step.name))\" classname=\"\(escape(result.suite))\" time=\"\(format(step.seconds))\">")
                switch step.status {
                case .passed: break
                case .skipped: xml.append("      <skipped message=\"an earlier step failed\"/>")
                case .failed:
                    let message = "expected \(step.expected ?? ""), saw \(step.seen ?? "")"
                    xml.append("      <failure message=\"\(escape(message))\" type=\"smoke\">\(escape(message + "\n" + result.lastConsoleLines.joined(separator: "\n")))</failure>")
                }
                xml.append("    </testcase>")
            }
            if let failure = result.failure {
                xml.append("    <testcase name=\"suite\" classname=\"\(escape(result.suite))\" time=\"0\">")
                xml.append("      <failure message=\"\(escape(failure))\" type=\"smoke\">\(escape(result.lastConsoleLines.joined(separator: "\n")))</failure>")
                xml.append("    </testcase>")
            }
            if let log = result.consoleLog { xml.append("    <system-out>console log: \(escape(log))</system-out>") }
            xml.append("  </testsuite>")
        }
        xml.append("</testsuites>")
        return xml.joined(separator: "\n") + "\n"
    }

    static func format(_ seconds: Double) -> String { String(format: "%.3f", seconds) }

    static func escape(_ text: String) -> String { text.xmlEscaped }
}
