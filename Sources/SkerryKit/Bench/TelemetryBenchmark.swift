import Foundation
import KernelCore

/// What one telemetry snapshot costs the appliance: the time to encode it
/// and its bytes on the wire, for a synthetic appliance (64 backends, 5,000
/// rules by default) with realistic counters, next to `/metrics` for the
/// same state. The encoder is the kernel's portable core, compiled for the host.
public struct TelemetryBenchmark: Sendable {
    public var services = 4
    public var backends = 64
    public var rules = 5_000
    public var repeats = 201
    /// Firewall decisions between two snapshots of the "busy" case.
    public var packetsPerSnapshot = 1_000

    public init() {}

    public struct Measurement: Sendable {
        public var name: String
        public var bytes: Int
        public var microseconds: Double
        /// Rules the snapshot carried.
        public var rules: Int
    }

    public func run() -> [Measurement] {
        let appliance = SyntheticAppliance(services: services, backends: backends, rules: rules, seed: 42)
        for _ in 0..<5 { appliance.exercise(connections: 2_000, packets: 50_000) }
        var writer = TelemetryFrameWriter()
        writer.bytes.reserveCapacity(1 << 20)

        func measure(_ name: String, prepare: () -> Void = {}, _ encode: (inout TelemetryFrameWriter, MetricsSource) -> Void)
            -> Measurement
        {
            var samples: [Double] = []
            var bytes = 0
            for _ in 0..<repeats {
                prepare()
                let source = appliance.source()
                writer.bytes.removeAll(keepingCapacity: true)
                let start = DispatchTime.now().uptimeNanoseconds
                encode(&writer, source)
                samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000)
                bytes = writer.bytes.count
            }
            return Measurement(name: name, bytes: bytes, microseconds: Statistics.median(samples), rules: 0)
        }

        var results: [Measurement] = []
        results.append(measure("schema (once per subscription)") { TelemetryEncoder.schema(&$0, $1) })
        results.append(measure("snapshot, every rule (first, or after a reset)") {
            TelemetryEncoder.snapshot(&$0, $1, sequence: 1, rulesSince: nil)
        })
        var since = appliance.now
        var busy = measure("snapshot, \(packetsPerSnapshot) firewall decisions since the last", prepare: {
            since = appliance.now
            appliance.exercise(milliseconds: 1000, connections: 100, packets: packetsPerSnapshot)
        }) { TelemetryEncoder.snapshot(&$0, $1, sequence: 2, rulesSince: since) }
        busy.rules = appliance.firewall?.ruleCounters.filter { ($0.lastHit ?? .zero) >= since }.count ?? 0
        results.append(busy)
        results.append(measure("snapshot, idle since the last", prepare: { since = appliance.now + .milliseconds(1) }) {
            TelemetryEncoder.snapshot(&$0, $1, sequence: 3, rulesSince: since)
        })
        var metrics = measure("GET /metrics, same state (Prometheus text)") { out, source in
            out.bytes = ApplianceMetrics.write(source).bytes
        }
        metrics.rules = rules
        results.append(metrics)
        results[1].rules = rules
        return results
    }
}
