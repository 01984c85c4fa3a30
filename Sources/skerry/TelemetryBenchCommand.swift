import ArgumentParser
import Foundation
import SkerryKit

struct TelemetryBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "telemetry",
        abstract: "The cost of one telemetry snapshot: encode time and bytes on the wire, 64 backends and 5,000 rules.",
        discussion: """
            Builds a synthetic appliance with the kernel's portable core, drives real packets and health checks \
            through it, and times the stream encoder (schema, full and incremental snapshots) and /metrics on \
            the same state. Build with `swift build -c release` first.
            """)

    @Option(help: "Backends (up to 64).")
    var backends = 64

    @Option(help: "Firewall rules.")
    var rules = 5_000

    @Option(help: "Samples per case (the median is reported).")
    var repeats = 201

    func run() throws {
        var benchmark = TelemetryBenchmark()
        benchmark.backends = max(1, min(backends, SyntheticAppliance.maximumBackends))
        benchmark.rules = max(0, rules)
        benchmark.repeats = max(5, repeats)
        print("telemetry, \(benchmark.backends) backends in \(benchmark.services) services, \(benchmark.rules) rules "
            + "(median of \(benchmark.repeats) samples)")
        print("case                                                   bytes   encode µs  rules sent")
        for result in benchmark.run() {
            print(result.name.padding(toLength: 50, withPad: " ", startingAt: 0)
                + String(format: "%11d %11.1f %11d", result.bytes, result.microseconds, result.rules))
        }
    }
}
