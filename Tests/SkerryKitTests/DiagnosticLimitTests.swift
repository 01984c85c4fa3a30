import Foundation
import Testing
@testable import SkerryKit

/// The bounds that keep diagnostics cheap and short whatever a file holds.
@Suite struct DiagnosticLimitTests {
    /// Plain Levenshtein, the reference the bounded one is checked against.
    func reference(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for i in a.indices {
            var current = [i + 1]
            for j in b.indices {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (a[i] == b[j] ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }

    @Test func theBoundedDistanceAgreesWithLevenshtein() {
        var state: UInt64 = 0x1234_5678_9ABC_DEF1
        func random(_ bound: Int) -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(bound))
        }
        let alphabet = Array("abc-")
        for _ in 0..<2_000 {
            let a = (0..<random(9)).map { _ in alphabet[random(alphabet.count)] }
            let b = (0..<random(9)).map { _ in alphabet[random(alphabet.count)] }
            let exact = reference(a, b)
            for bound in 0...4 {
                let bounded = Vocabulary.editDistance(a, b, atMost: bound)
                #expect(bounded == (exact <= bound ? exact : nil), "\(String(a)) \(String(b)) within \(bound)")
            }
        }
        #expect(Vocabulary.editDistance("least-connection", "least-connections") == 1)
    }

    @Test func suggestionsStayWhereTheyWereAndLongWordsGetNone() {
        #expect(Vocabulary.closest(to: "publc", in: ["admin", "public", "private"]) == "public")
        #expect(Vocabulary.closest(to: "least-connection", in: ["round-robin", "least-connections"]) == "least-connections")
        #expect(Vocabulary.closest(to: "operater", in: ["operators", "x"]) == "operators")
        #expect(Vocabulary.closest(to: "tcp", in: ["tcp"]) == nil)
        let long = String(repeating: "a", count: Vocabulary.longestSuggestedWord)
        #expect(Vocabulary.closest(to: long + "b", in: [long + "c", long]) == nil)
        #expect(Vocabulary.closest(to: long.dropLast() + "b", in: [long]) == long)
        let start = Date()
        #expect(Vocabulary.closest(to: String(repeating: "b", count: 20_000), in: [String(repeating: "a", count: 20_000)]) == nil)
        #expect(Vocabulary.closest(to: "abc", in: Array(repeating: String(repeating: "a", count: 20_000), count: 1_000)) == nil)
        #expect(Date().timeIntervalSince(start) < 1)
    }

    func error(_ file: String, _ line: Int, _ severity: ConfigDiagnostic.Severity = .error) -> ConfigDiagnostic {
        ConfigDiagnostic(location: ConfigLocation(file: file, line: line, column: 1), message: "m\(line)", sourceLine: "x", severity: severity)
    }

    @Test func eachFileStopsAfterFiftyErrors() {
        let a = (1...60).map { error("a", $0) } + [error("a", 61, .warning)]
        let b = (1...50).map { error("b", $0) } + [error("b", 51, .warning)]
        let limited = ConfigErrors(diagnostics: a + b).diagnostics
        let fromA = limited.filter { $0.location.file == "a" }, fromB = limited.filter { $0.location.file == "b" }
        #expect(fromA.count == 51 && fromA.prefix(50).map(\.message) == (1...50).map { "m\($0)" })
        #expect(fromA.last?.message == ConfigDiagnostic.tooManyErrors && fromA.last?.location.line == 51)
        #expect(ConfigDiagnostic.tooManyErrors == "too many errors (more than 50); stopping")
        #expect(fromB.count == 51 && fromB.last?.severity == .warning, "exactly fifty errors keep what follows")
    }

    @Test func theParsersStopReadingAtTheLimit() {
        let text = (1...500).map { "rul r\($0): accept" }.joined(separator: "\n")
        let (_, errors) = FirewallParser.check(file: "f", text: text)
        #expect(errors.count == ConfigDiagnostic.errorLimit + 1)
        let (_, problems) = ApplianceParser.check(file: "a", text: (1...500).map { "nick \($0)" }.joined(separator: "\n"))
        #expect(problems.count <= ConfigDiagnostic.errorLimit + 3 && problems.count > ConfigDiagnostic.errorLimit)
    }

    @Test func aLongLineIsShownAroundItsColumnWithTheCaretUnderIt() {
        let line = String(repeating: "a", count: 500) + "\u{1b}XYZ" + String(repeating: "b", count: 500)
        let diagnostic = ConfigDiagnostic(location: ConfigLocation(file: "f", line: 1, column: 502), message: "here", sourceLine: line)
        let rendered = diagnostic.description.split(separator: "\n").map(String.init)
        #expect(rendered[1].hasPrefix("    …a") && rendered[1].hasSuffix("b…"), "\(rendered[1])")
        #expect(rendered[1].count <= 4 + ConfigDiagnostic.shownLineWidth + 2 + 1)
        let caret = rendered[2].count - 1
        #expect(rendered[1].dropFirst(caret).hasPrefix("XYZ"), "\(rendered)")
        let start = ConfigDiagnostic(location: ConfigLocation(file: "f", line: 1, column: 3), message: "", sourceLine: line).description
        #expect(start.split(separator: "\n")[1].hasPrefix("    aaa") && start.split(separator: "\n")[2] == "      ^")
    }

    @Test func aLongMessageKeepsItsStartAndEnd() {
        let message = "unknown set '$" + String(repeating: "b", count: 5_000) + "'; did you mean '$x'?"
        let heading = ConfigDiagnostic(location: ConfigLocation(file: "f", line: 1, column: 1), message: message, sourceLine: "").description
        #expect(heading.count <= "f:1:1: error: ".count + ConfigDiagnostic.shownMessageLength)
        #expect(heading.hasPrefix("f:1:1: error: unknown set '$bbb") && heading.hasSuffix("bbb'; did you mean '$x'?") && heading.contains("…"))
    }

    @Test func textIsToldFromBinaryByTheFirstKiB() {
        #expect(SourceFile.looksLikeText(ArraySlice(Array("rule a: accept\n".utf8)), complete: true))
        #expect(!SourceFile.looksLikeText(ArraySlice(Array("rule\0".utf8)), complete: true))
        #expect(!SourceFile.looksLikeText(ArraySlice([0x72, 0xFF, 0x75]), complete: true))
        let cut = Array("é".utf8).prefix(1)
        #expect(SourceFile.looksLikeText(ArraySlice(Array("ab".utf8) + cut), complete: false))
        #expect(!SourceFile.looksLikeText(ArraySlice(Array("ab".utf8) + cut), complete: true))
        #expect("\(SourceFile.Problem.notText)" == "not a text file" && "\(SourceFile.Problem.tooLarge)" == "larger than 16 MiB")
    }
}
