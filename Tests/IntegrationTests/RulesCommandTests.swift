import Foundation
import Testing

/// `skerry rules` and the firewall's place in `skerry build`, as a user meets them.
@Suite struct RulesCommandTests {
    static let webRules = SkerryCLI.packageRoot.appendingPathComponent("Samples/web/firewall.rules").path

    func temporaryAppliance(rules: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("skerry-rules-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try """
            appliance checked
            service web {
                port 80
                backend web1 10.0.3.2:8081
            }
            firewall fw.rules
            """.write(to: directory.appendingPathComponent("appliance.conf"), atomically: true, encoding: .utf8)
        try rules.write(to: directory.appendingPathComponent("fw.rules"), atomically: true, encoding: .utf8)
        return directory
    }

    @Test func checkMatchAndCompileTheWebRules() {
        let check = SkerryCLI.run(["rules", "check", Self.webRules])
        #expect(check.code == 0 && check.stdout.contains("no errors; 8 rules, 0 warnings"), "\(check.stdout)\(check.stderr)")
        let match = SkerryCLI.run(["rules", "match", Self.webRules, "--on", "public", "--proto", "tcp",
                                   "--from", "10.0.2.2:40000", "--to", "10.0.2.15:22"])
        #expect(match.code == 2 && match.stdout.contains("rule 'block-ssh'") && match.stdout.hasSuffix(": drop\n"), "\(match.stdout)")
        let policy = SkerryCLI.run(["rules", "match", Self.webRules, "--on", "admin", "--proto", "udp", "--from", "10.0.1.9:5", "--to", "10.0.1.15:7"])
        #expect(policy.stdout.contains("default policy in on admin decides: drop"), "\(policy.stdout)")
        let compiled = SkerryCLI.run(["rules", "compile", Self.webRules])
        #expect(compiled.code == 0 && compiled.stdout.contains("enum ApplianceFirewall") && compiled.stdout.contains("// block-ssh (rule 1"))
    }

    /// A mistake in the rules stops the build at the rule file's own line and column.
    @Test func aBadRuleFileStopsTheBuildWithItsPosition() throws {
        let directory = try temporaryAppliance(rules: "policy in on public drop\nrule web: accept in on public proto tcp to port $web\n")
        defer { try? FileManager.default.removeItem(at: directory) }
        let build = SkerryCLI.run(["build", directory.path])
        #expect(build.code == 1)
        #expect(build.stderr.contains("fw.rules:2:49: error: unknown set '$web'"), "\(build.stderr)")
        #expect(build.stderr.contains("nothing was built"))
        let check = SkerryCLI.run(["rules", "check", directory.appendingPathComponent("fw.rules").path])
        #expect(check.code == 1 && check.stderr.contains(":2:49: error: "), "\(check.stderr)")
    }

    /// A rule file's control characters reach the terminal escaped, not acted on.
    @Test func controlCharactersInARuleFileAreShownEscaped() throws {
        let directory = try temporaryAppliance(rules: "policy in on public drop\nrule web: accept in on public proto tcp to port $web # \u{1b}]0;owned\u{07}\n")
        defer { try? FileManager.default.removeItem(at: directory) }
        for arguments in [["rules", "check", directory.appendingPathComponent("fw.rules").path], ["build", directory.path]] {
            let run = SkerryCLI.run(arguments)
            #expect(run.code == 1)
            #expect(run.stderr.contains("# \\e]0;owned\\a"), "\(run.stderr)")
            #expect(!run.stderr.unicodeScalars.contains { $0 == "\u{1b}" || $0 == "\u{07}" }, "\(run.stderr.debugDescription)")
        }
    }

    /// Warnings do not stop the build, and they are shown.
    @Test func warningsAreShownAndTheBuildGoesOn() throws {
        let directory = try temporaryAppliance(rules: """
            rule any-web: accept in proto tcp to port 80
            rule web: accept in on public proto tcp to port 80
            """)
        defer { try? FileManager.default.removeItem(at: directory) }
        let check = SkerryCLI.run(["rules", "check", directory.appendingPathComponent("fw.rules").path])
        #expect(check.code == 0)
        #expect(check.stderr.contains("fw.rules:2:6: warning: rule 'web' can never match: rule 'any-web' (line 1)"), "\(check.stderr)")
    }
}
