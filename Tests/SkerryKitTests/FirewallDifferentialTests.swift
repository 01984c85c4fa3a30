import Foundation
import KernelCore
import Testing

@testable import SkerryKit

/// The generated classifier against the reference interpreter: thousands
/// of random rule sets and packets, decisions and counters compared.
@Suite struct FirewallDifferentialTests {
    @Test func generatedCodeAgreesWithTheInterpreter() throws {
        let setCount = Int(ProcessInfo.processInfo.environment["FIREWALL_DIFF_SETS"] ?? "") ?? 1000
        let packetsPerSet = 150
        var generator = FirewallRuleGenerator(seed: 0x5EED_F1E1)
        var units: [(name: String, text: String)] = []
        var trace: [String] = []
        var expected: [String] = []
        var counters: [String] = []
        for set in 0..<setCount {
            let ruleSet = generator.adversarialRuleSet(ruleCount: Int.random(in: 1...24, using: &generator.random))
            units.append(("FW\(set).swift", FirewallCodegen(ruleSet: ruleSet, typeName: "FW\(set)").generate().source))
            let firewall = FirewallInterpreter(ruleSet).makeFirewall()
            var time = Instant(nanoseconds: 1_000_000_000)
            for _ in 0..<packetsPerSet {
                let packet = generator.adversarialPacket(length: Int.random(in: 20...1500, using: &generator.random))
                time = time + .milliseconds(UInt64.random(in: 0...400, using: &generator.random))
                trace.append(FirewallTrace.line(set: set, packet, time: time))
                expected.append(FirewallTrace.line(firewall.evaluate(packet, now: time)))
            }
            counters += FirewallTrace.counters(set: set, firewall)
        }
        let directory = try TemporaryDirectory(prefix: "skerry-fw-diff")
        let traceFile = URL(fileURLWithPath: directory.path).appendingPathComponent("trace.txt")
        try (trace.joined(separator: "\n") + "\n").write(to: traceFile, atomically: true, encoding: .utf8)
        let build = HostClassifierBuild(layout: try #require(ProjectLayout.find()), toolchain: try Toolchain.locate())
        let program = try build.compile(
            units + [("main.swift", FirewallTrace.driver(types: (0..<setCount).map { "FW\($0)" }))], optimized: false,
            in: URL(fileURLWithPath: directory.path))
        defer { directory.remove() }
        let run = try CapturedRun.run(program, [traceFile.path])
        #expect(run.termination == .exited(0))
        let lines = run.output.split(separator: "\n").map(String.init)
        let decisions = Array(lines.prefix(trace.count))
        var mismatches = 0
        for index in 0..<min(decisions.count, expected.count) where decisions[index] != expected[index] {
            mismatches += 1
            if mismatches <= 5 {
                Issue.record("packet \(trace[index]): generated \(decisions[index]), interpreter \(expected[index])")
            }
        }
        #expect(decisions.count == expected.count)
        #expect(mismatches == 0)
        #expect(Array(lines.dropFirst(trace.count)) == counters)
    }
}
