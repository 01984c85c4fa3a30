import Foundation
import KernelCore

/// Per-packet classification cost of generated classifiers against the
/// reference interpreter, on the same realistic rule sets and packets.
///
/// The generated code is compiled for the host with -O together with the
/// portable core and a timing driver; the interpreter runs in this process.
/// Both classify the same packet trace, and their decisions are compared.
public struct FirewallBenchmark {
    public struct Result: Sendable {
        public var rules: Int
        public var generatedNanoseconds: Double
        public var interpretedNanoseconds: Double
        public var decisionsAgree: Bool
        public var shape: FirewallCodegen.Shape
    }

    public var sizes = [10, 100, 1000, 5000]
    public var packetCount = 4096
    public var repeats = 11
    public var seed: UInt64 = 1

    public init() {}

    public func run(build: HostClassifierBuild, log: (String) -> Void) throws -> [Result] {
        var packets: [FirewallPacket] = []
        var packetGenerator = FirewallRuleGenerator(seed: seed &+ 1)
        for _ in 0..<packetCount { packets.append(packetGenerator.realisticPacket()) }
        let trace = packets.map { FirewallTrace.line(set: 0, $0, time: .zero) }.joined(separator: "\n") + "\n"

        var ruleSets: [FirewallRuleSet] = []
        var units: [(name: String, text: String)] = []
        var shapes: [FirewallCodegen.Shape] = []
        for size in sizes {
            var generator = FirewallRuleGenerator(seed: seed)
            let ruleSet = generator.realisticRuleSet(ruleCount: size)
            ruleSets.append(ruleSet)
            let (source, shape) = FirewallCodegen(ruleSet: ruleSet, typeName: "FW\(size)").generate()
            units.append(("FW\(size).swift", source))
            shapes.append(shape)
        }
        let directory = try TemporaryDirectory(prefix: "skerry-bench-firewall")
        defer { directory.remove() }
        let url = URL(fileURLWithPath: directory.path)
        let traceFile = url.appendingPathComponent("packets.txt")
        try trace.write(to: traceFile, atomically: true, encoding: .utf8)
        log("compiling \(sizes.count) generated classifiers for the host with -O")
        let program = try build.compile(units + [("main.swift", driver)], optimized: true, in: url)
        log("timing the generated classifiers")
        let run = try CapturedRun.run(program, [traceFile.path, String(repeats)])
        guard run.termination == .exited(0) else { throw BuildError.io("the timing program failed: \(run.output.suffix(2000))") }
        var generated: [Int: (Double, [Int32])] = [:]
        for line in run.output.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 3, let size = Int(fields[0]), let nanoseconds = Double(fields[1]) else { continue }
            generated[size] = (nanoseconds, fields[2].split(separator: ",").compactMap { Int32($0) })
        }

        log("timing the interpreter")
        var results: [Result] = []
        for (index, size) in sizes.enumerated() {
            let interpreter = FirewallInterpreter(ruleSets[index])
            let decisions = packets.map { interpreter.classify($0) }
            // Fewer rounds for big rule sets: each sample is about a tenth of a second.
            let start = DispatchTime.now().uptimeNanoseconds
            var sink: Int32 = 0
            for packet in packets.prefix(256) { sink &+= interpreter.classify(packet) }
            let probe = Double(DispatchTime.now().uptimeNanoseconds - start) / 256
            let perSample = max(64, min(packets.count * 4, Int(100_000_000 / max(probe, 1))))
            var samples: [Double] = []
            for _ in 0..<repeats {
                let begin = DispatchTime.now().uptimeNanoseconds
                for offset in 0..<perSample { sink &+= interpreter.classify(packets[offset % packets.count]) }
                samples.append(Double(DispatchTime.now().uptimeNanoseconds - begin) / Double(perSample))
            }
            if sink == .min { log("") }
            guard let (nanoseconds, generatedDecisions) = generated[size] else {
                throw BuildError.io("the timing program printed nothing for \(size) rules")
            }
            results.append(Result(rules: size, generatedNanoseconds: nanoseconds,
                                  interpretedNanoseconds: Statistics.median(samples),
                                  decisionsAgree: generatedDecisions == decisions, shape: shapes[index]))
        }
        return results
    }

    /// Times each classifier over the trace: `repeats` samples of whole
    /// passes, interleaved across rule sets, median per packet; then the
    /// decisions, so the caller can check them.
    private var driver: String {
        let entries = sizes.map { "(\($0), FW\($0).classify)" }.joined(separator: ", ")
        return """
            import Foundation

            let classifiers: [(Int, (FirewallPacket) -> Int32)] = [\(entries)]
            let text = try! String(contentsOfFile: CommandLine.arguments[1], encoding: .utf8)
            let repeats = Int(CommandLine.arguments[2])!
            let packets: [FirewallPacket] = text.split(separator: "\\n").map { line in
                let f = line.split(separator: " ").map { UInt64($0)! }
                return FirewallPacket(
                    direction: TrafficDirection(rawValue: UInt8(f[1]))!, interface: InterfaceRole(rawValue: Int(f[2]))!,
                    protocolNumber: UInt8(f[3]), source: UInt32(f[4]), destination: UInt32(f[5]), sourcePort: UInt16(f[6]),
                    destinationPort: UInt16(f[7]), icmpType: UInt8(f[8]), state: ConnectionState(rawValue: UInt8(f[9]))!,
                    length: Int(f[10]))
            }
            let passes = max(1, 2_000_000 / packets.count)
            var sink: Int32 = 0
            var samples = Array(repeating: [Double](), count: classifiers.count)
            for _ in 0..<repeats {
                for (index, (_, classify)) in classifiers.enumerated() {
                    let start = DispatchTime.now().uptimeNanoseconds
                    for _ in 0..<passes {
                        for packet in packets { sink &+= classify(packet) }
                    }
                    let elapsed = DispatchTime.now().uptimeNanoseconds - start
                    samples[index].append(Double(elapsed) / Double(passes * packets.count))
                }
            }
            for (index, (size, classify)) in classifiers.enumerated() {
                let sorted = samples[index].sorted()
                let decisions = packets.map { String(classify($0)) }.joined(separator: ",")
                print("\\(size) \\(sorted[sorted.count / 2]) \\(decisions)")
            }
            if sink == Int32.min { print("sink") }

            """
    }
}
