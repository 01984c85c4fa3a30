import Foundation
import KernelCore
import Testing

@testable import SkerryKit

/// The generated classifier against the reference interpreter: thousands
/// of random rule sets and packets, decisions and counters compared.
@Suite struct FirewallDifferentialTests {
    /// Rule sets per compiled program: few programs, yet enough of them to
    /// keep every processor compiling.
    static let setsPerProgram = 100

    @Test func generatedCodeAgreesWithTheInterpreter() throws {
        let setCount = Int(ProcessInfo.processInfo.environment["FIREWALL_DIFF_SETS"] ?? "") ?? 1000
        let packetsPerSet = 150
        var generator = FirewallRuleGenerator(seed: 0x5EED_F1E1)
        var batches: [DifferentialBatch] = []
        for set in 0..<setCount {
            if set % Self.setsPerProgram == 0 { batches.append(DifferentialBatch(firstSet: set)) }
            let ruleSet = generator.adversarialRuleSet(ruleCount: Int.random(in: 1...24, using: &generator.random))
            let firewall = FirewallInterpreter(ruleSet).makeFirewall()
            var packets: [(FirewallPacket, Instant)] = []
            var time = Instant(nanoseconds: 1_000_000_000)
            for _ in 0..<packetsPerSet {
                let packet = generator.adversarialPacket(length: Int.random(in: 20...1500, using: &generator.random))
                time = time + .milliseconds(UInt64.random(in: 0...400, using: &generator.random))
                packets.append((packet, time))
            }
            batches[batches.count - 1].add(ruleSet, firewall, packets)
        }
        let directory = try TemporaryDirectory(prefix: "skerry-fw-diff")
        defer { directory.remove() }
        let build = try ClassifierBatchBuild(layout: try #require(ProjectLayout.find()), toolchain: try Toolchain.locate(),
                                             in: URL(fileURLWithPath: directory.path))
        let runs = try build.run(batches.map(\.program))
        var decisionCount = 0
        for (batch, run) in zip(batches, runs) {
            #expect(run.termination == .exited(0), "sets \(batch.sets)")
            let lines = run.output.split(separator: "\n").map(String.init)
            let decisions = Array(lines.prefix(batch.expected.count))
            var mismatches = 0
            for index in 0..<min(decisions.count, batch.expected.count) where decisions[index] != batch.expected[index] {
                mismatches += 1
                if mismatches <= 5 {
                    Issue.record("sets \(batch.sets), packet \(batch.trace[index]): generated \(decisions[index]), interpreter \(batch.expected[index])")
                }
            }
            #expect(decisions.count == batch.expected.count, "sets \(batch.sets)")
            #expect(mismatches == 0, "sets \(batch.sets)")
            #expect(Array(lines.dropFirst(batch.expected.count)) == batch.counters, "sets \(batch.sets)")
            decisionCount += decisions.count
        }
        #expect(decisionCount == setCount * packetsPerSet)
    }
}

/// Rule sets compiled into one program: their classifiers, the packets
/// traced through them, and what the interpreter decided and counted.
/// Sets are numbered within the batch, as the program's driver numbers them.
struct DifferentialBatch {
    let firstSet: Int
    private(set) var units: [(name: String, text: String)] = []
    private(set) var trace: [String] = []
    private(set) var expected: [String] = []
    private(set) var counters: [String] = []

    init(firstSet: Int) { self.firstSet = firstSet }

    /// The rule sets' numbers in the whole run.
    var sets: Range<Int> { firstSet..<(firstSet + units.count) }

    mutating func add(_ ruleSet: FirewallRuleSet, _ firewall: Firewall, _ packets: [(FirewallPacket, Instant)]) {
        let set = units.count
        let typeName = "FW\(firstSet + set)"
        units.append(("\(typeName).swift", FirewallCodegen(ruleSet: ruleSet, typeName: typeName).generate().source))
        for (packet, time) in packets {
            trace.append(FirewallTrace.line(set: set, packet, time: time))
            expected.append(FirewallTrace.line(firewall.evaluate(packet, now: time)))
        }
        counters += FirewallTrace.counters(set: set, firewall)
    }

    var program: ClassifierBatchBuild.Program {
        let driver = FirewallTrace.driver(types: sets.map { "FW\($0)" })
        return .init(sources: units + [("main.swift", driver)], trace: trace.joined(separator: "\n") + "\n")
    }
}
