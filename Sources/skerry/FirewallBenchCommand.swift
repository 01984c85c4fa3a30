import ArgumentParser
import Foundation
import SkerryKit

struct FirewallBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "firewall",
        abstract: "Per-packet classification cost at 10 to 5,000 rules: generated code against the interpreter.",
        discussion: """
            Generates realistic rule sets, compiles their classifiers for the host with -O, and times them \
            and the reference interpreter on the same packets. Build with `swift build -c release` first.
            """)

    @Option(help: "Samples per rule set (the median is reported).")
    var repeats: Int = 11

    @Option(help: "Rule-set sizes, comma-separated.")
    var sizes: String = "10,100,1000,5000"

    func run() throws {
        guard let layout = ProjectLayout.find() else { throw CLIError("run inside the Skerry tree") }
        var benchmark = FirewallBenchmark()
        benchmark.repeats = max(3, repeats)
        benchmark.sizes = sizes.split(separator: ",").compactMap { Int($0) }
        guard !benchmark.sizes.isEmpty else { throw ValidationError("--sizes needs numbers, like 10,100,1000,5000") }
        let results = try benchmark.run(build: HostClassifierBuild(layout: layout, toolchain: try Toolchain.locate())) {
            FileHandle.standardError.write(Data("skerry: \($0)\n".utf8))
        }
        print("firewall classification, ns per packet (median of \(benchmark.repeats) samples, \(benchmark.packetCount) packets)")
        print("   rules   generated  interpreter   speed-up  leaves  max/leaf  agree")
        for result in results {
            print(String(format: "%8d %11.1f %12.1f %9.0fx %7d %9d  ", result.rules, result.generatedNanoseconds,
                         result.interpretedNanoseconds, result.interpretedNanoseconds / result.generatedNanoseconds,
                         result.shape.leaves, result.shape.largestLeaf) + (result.decisionsAgree ? "yes" : "NO"))
        }
        if let first = results.first, let last = results.last, results.count > 1 {
            print(String(format: "generated cost at %d rules / at %d rules: %.2fx (target <= 1.50x)", last.rules, first.rules,
                         last.generatedNanoseconds / first.generatedNanoseconds))
            print(String(format: "interpreter / generated at %d rules: %.0fx (target >= 20x)", last.rules,
                         last.interpretedNanoseconds / last.generatedNanoseconds))
        }
        if results.contains(where: { !$0.decisionsAgree }) { throw CLIError("generated and interpreted decisions differ") }
    }
}
