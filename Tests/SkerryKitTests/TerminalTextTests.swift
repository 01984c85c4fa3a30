import Foundation
import KernelCore
import Testing
@testable import SkerryKit

/// Text from files reaches the terminal with its control characters escaped:
/// a file cannot retitle the window, move the cursor or clear the screen.
@Suite struct TerminalTextTests {
    static let title = "\u{1b}]0;owned\u{07}"

    /// No byte a terminal acts on, other than the line ends and tabs the renderer writes itself.
    func isInert(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { $0 == "\n" || $0 == "\t" || ($0.value >= 0x20 && $0.value != 0x7F && !(0x80...0x9F).contains($0.value)) }
    }

    @Test func controlCharactersAreShownAsEscapes() {
        #expect(TerminalText.escaped(Self.title) == "\\e]0;owned\\a")
        #expect(TerminalText.escaped("a\u{0}b\u{7f}c\u{9b}2J\rd\ne") == "a\\x00b\\x7fc\\u{009b}2J\\rd\\ne")
        #expect(TerminalText.escaped("tab\there, caf\u{e9}, \u{202e}txt.exe") == "tab\there, caf\u{e9}, \\u{202e}txt.exe")
        #expect(TerminalText.escaped("plain text: rule web-1 accept") == "plain text: rule web-1 accept")
    }

    func firewallDiagnostics(_ text: String) -> [ConfigDiagnostic] {
        do {
            _ = try FirewallParser.parse(file: "fw.rules", text: text)
            return []
        } catch {
            return error.diagnostics
        }
    }

    /// The escaped source line and the column its caret points at, for each rendered diagnostic.
    func carets(_ diagnostics: [ConfigDiagnostic]) -> [(line: String, under: Substring)] {
        diagnostics.map { diagnostic in
            let lines = diagnostic.description.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let caret = lines[2].count - 1
            return (lines[1], lines[1].dropFirst(caret))
        }
    }

    @Test func aFirewallDiagnosticEscapesTheLineAndTheMessage() {
        let found = firewallDiagnostics("rule a: accept\nrule b: accept from $nothing # \(Self.title)\n")
        let rendered = found.map(\.description).joined(separator: "\n")
        #expect(found.count == 1 && isInert(rendered), "\(rendered.debugDescription)")
        #expect(rendered.contains("    rule b: accept from $nothing # \\e]0;owned\\a\n"), "\(rendered)")
        #expect(carets(found).first?.under.hasPrefix("$nothing") == true, "\(rendered)")
    }

    /// Escapes before the column widen the line: the caret moves with them.
    @Test func theCaretStaysUnderItsColumnAfterEscapes() {
        let raw = "rule b: accept \(Self.title) from $nothing"
        let found = firewallDiagnostics(raw + "\n")
        let rendered = found.map(\.description).joined(separator: "\n")
        #expect(found.count >= 2 && isInert(rendered), "\(rendered.debugDescription)")
        #expect(found.first?.message.contains("'\u{1b}'") == true, "\(found.first?.message ?? "")")
        #expect(found.first?.description.contains("unexpected character '\\e'") == true, "\(rendered)")
        for (diagnostic, (line, under)) in zip(found, carets(found)) {
            #expect(line == "    rule b: accept \\e]0;owned\\a from $nothing")
            let rest = TerminalText.escaped(String(raw.dropFirst(diagnostic.location.column - 1)))
            #expect(under == rest, "column \(diagnostic.location.column) in \(rendered)")
        }
        #expect(carets(found).contains { $0.under.hasPrefix("\\a") }, "\(rendered)")
    }

    @Test func anApplianceDiagnosticEscapesTheLine() {
        let text = "appliance web\nnic public address 10.0.2.15/24\(Self.title)\n"
        var rendered = ""
        do {
            _ = try ApplianceParser.parse(file: "appliance.conf", text: text)
        } catch {
            rendered = error.description
        }
        #expect(rendered.contains("\\e]0;owned\\a"), "\(rendered)")
        #expect(isInert(rendered), "\(rendered.debugDescription)")
    }

    @Test func aSmokeDiagnosticEscapesWhatItQuotes() {
        let text = """
            suite: s
            appliance: Samples/web
            timeout: "\\e]0;owned\\a"
            steps:
              - shutdown: clean
            """
        var rendered = ""
        do {
            _ = try SmokeParser.parse(text, file: "s.yaml")
        } catch {
            rendered = error.description
        }
        #expect(rendered.contains("\\e]0;owned\\a"), "\(rendered)")
        #expect(isInert(rendered), "\(rendered.debugDescription)")
    }

    @Test func theKTAPReportEscapesNamesAndConsoleLines() {
        let step = SmokeResult.Step(name: "http \(Self.title)", status: .failed, expected: "200", seen: "5\u{1b}[2J", seconds: 0.1)
        let result = SmokeResult(suite: "s\(Self.title)", file: "s.yaml", steps: [step], failure: nil,
                                 lastConsoleLines: ["kernel \u{1b}[31mred"], consoleLog: nil, seconds: 1)
        let report = SmokeReport.ktap([result])
        #expect(isInert(report), "\(report.debugDescription)")
        #expect(report.contains("# Subtest: s\\e]0;owned\\a") && report.contains("#   kernel \\e[31mred"), "\(report)")
    }

    @Test func compiledRulesQuoteTheFileEscaped() throws {
        let text = "rule a: accept in proto tcp to port 80 # \(Self.title)\n"
        let ruleSet = try FirewallParser.parse(file: "fw.rules", text: text)
        let source = FirewallCodegen(ruleSet: ruleSet, sourceText: text).generate().source
        #expect(isInert(source), "\(source.debugDescription)")
        #expect(source.contains("\\e]0;owned\\a"))
    }
}
