import Foundation
import KernelCore
import Testing
@testable import SkerryKit

/// The appliance and its firewall checked in one pass, and the warnings where they disagree.
@Suite struct ApplianceCheckTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A directory holding appliance.conf and fw.rules; removed by the caller.
    func appliance(_ conf: String, rules: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("skerry-check-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try conf.write(to: directory.appendingPathComponent("appliance.conf"), atomically: true, encoding: .utf8)
        try rules.write(to: directory.appendingPathComponent("fw.rules"), atomically: true, encoding: .utf8)
        return directory
    }

    static func service(port: Int = 80, extra: String = "") -> String {
        "appliance web\nservice web {\n    port \(port)\n\(extra)    backend web1 10.0.3.2:8081\n}\nfirewall fw.rules\n"
    }

    @Test func errorsOfBothFilesComeTogetherInFileOrder() throws {
        let directory = try appliance(
            Self.service(extra: "    algorithm least-connection\n"),
            rules: "rule web: accept in proto tcp\nrule http: accept in on public proto tcp to port 80\nrule bad: accept on publc\n")
        defer { try? FileManager.default.removeItem(at: directory) }
        let conf = directory.appendingPathComponent("appliance.conf").path
        let rules = directory.appendingPathComponent("fw.rules").path
        #expect { try ApplianceCheck.run(conf) } throws: { error in
            let diagnostics = (error as? ConfigErrors)?.diagnostics ?? []
            return diagnostics.map { "\($0.location) \($0.severity)" } == ["\(conf):4:15 error", "\(rules):2:6 warning", "\(rules):3:21 error"]
        }
    }

    /// The firewall drops a service's port by its default policy: a warning naming the service, port and policy, at the port.
    @Test func aServiceTheFirewallDropsIsAWarning() throws {
        let directory = try appliance(Self.service(port: 8080), rules: "policy in on public drop\nrule web: accept in on public proto tcp to port 80\n")
        defer { try? FileManager.default.removeItem(at: directory) }
        let conf = directory.appendingPathComponent("appliance.conf").path
        let check = try ApplianceCheck.run(conf)
        #expect(check.warnings.map(\.description) == ["""
            \(conf):3:10: warning: service web listens on public tcp/8080 but the firewall drops it: no rule accepts it and policy in public is drop
                    port 8080
                         ^
            """])
    }

    /// What the firewall decides, not how the rules are written: sets, ranges, negation, a rule
    /// for some sources only, and an earlier rule that takes the packet first.
    @Test(arguments: [
        ("policy in on public drop\nset p { 70-90 }\nrule web: accept in on public proto tcp to port $p\n", nil),
        ("policy in on public drop\nrule web: accept in proto { tcp, udp } to port !22\n", nil),
        ("policy in on public drop\nrule web: accept in on public proto tcp from 192.0.2.0/24 to port 80\n", nil),
        ("policy in on public drop\nrule all: accept\n", nil),
        ("rule other: drop in on admin\n", nil),
        ("policy in on public drop\nrule replies: accept in on public state established\n", "no rule accepts it and policy in public is drop"),
        ("policy in on public reject\nrule web: accept in on private proto tcp to port 80\n", "no rule accepts it and policy in public is reject"),
        ("policy in on public drop\nrule web: accept in on public proto udp to port 80\n", "no rule accepts it and policy in public is drop"),
        ("rule block: drop in on public proto tcp to port 1-1000\nrule web: accept in on public proto { tcp, udp } to port 80\n",
         "rule 'block' (RULES:1:6) drops it"),
    ] as [(String, String?)])
    func theFirewallsOwnDecisionSays(rules: String, reason: String?) throws {
        let directory = try appliance(Self.service(), rules: rules)
        defer { try? FileManager.default.removeItem(at: directory) }
        let check = try ApplianceCheck.run(directory.appendingPathComponent("appliance.conf").path)
        let expected = reason.map {
            "service web listens on public tcp/80 but the firewall drops it: "
                + $0.replacingOccurrences(of: "RULES", with: directory.appendingPathComponent("fw.rules").path)
        }
        #expect(check.warnings.map(\.message) == (expected.map { [$0] } ?? []))
    }

    /// Every shipped sample builds without a warning.
    @Test func theSamplesHaveNoWarnings() throws {
        let samples = try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("Samples").path)
            .map { Self.root.appendingPathComponent("Samples/\($0)/appliance.conf").path }
            .filter { FileManager.default.fileExists(atPath: $0) }
        #expect(samples.count >= 2)
        for sample in samples {
            let check = try ApplianceCheck.run(sample)
            #expect(check.warnings.isEmpty, "\(sample): \(check.warnings)")
            #expect(check.ruleSet != nil)
        }
    }

    @Test func anUnreadableFileSaysWhy() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("skerry-missing-\(UUID().uuidString)").path
        #expect(SourceFile.problem(missing) == .notFound)
        #expect(SourceFile.problem(FileManager.default.temporaryDirectory.path) == .isDirectory)
        #expect(SourceFile.Problem(errno: EACCES) == .permissionDenied && "\(SourceFile.Problem.permissionDenied)" == "permission denied")
        #expect { try ApplianceCheck.run(missing) } throws: { error in
            "\(error)" == "\(missing):1:1: error: cannot read the file: no such file"
        }
        #expect { try SmokeParser.load(FileManager.default.temporaryDirectory.path) } throws: { error in
            "\(error)" == "\(FileManager.default.temporaryDirectory.path):1:1: error: cannot read the file: it is a directory"
        }
    }

    @Test func suggestionsComeFromTheVocabulary() {
        #expect(Vocabulary.closest(to: "least-connection", in: ["round-robin", "least-connections"]) == "least-connections")
        #expect(Vocabulary.closest(to: "publc", in: ["admin", "public", "private"]) == "public")
        #expect(Vocabulary.closest(to: "dmz", in: ["admin", "public", "private"]) == nil)
        #expect(Vocabulary.closest(to: "public", in: ["public"]) == nil)
        #expect(Vocabulary.editDistance("kitten", "sitting") == 3 && Vocabulary.editDistance("", "abc") == 3)
        #expect(Vocabulary.unknown("algorithm", "random", expected: ["a", "b", "c"]) == "unknown algorithm 'random' (expected a, b or c)")
    }
}
