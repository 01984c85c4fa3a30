import Foundation
import SkerryKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

final class HealthLatencyScenario: @unchecked Sendable {
    /// Each backend's reported check latency, read once a second (once per check).
    var latencies: [String: [Double]] = [:]
    /// `skerry stats` as the operator sees it, after the checks were read.
    var stats: String?
    var failure: String?
}

/// The web sample checks its three loopback backends (`skerry backends`),
/// which answer a connect in a few milliseconds: the latency it reports must
/// be that connect time, not the appliance's 100 ms tick.
@Suite(.serialized) struct HealthLatencyTests {
    static let sample = SkerryCLI.packageRoot.appendingPathComponent("Samples/web").path
    static let checks = 6

    /// The bound is the median of 18 checks (six per backend) below 50 ms.
    /// Under TCG on an idle machine a check takes 1-3 ms; on a loaded 2-core
    /// machine the vCPU or QEMU's slirp loop can stall for tens of
    /// milliseconds, which the median absorbs as long as most checks are
    /// not stalled. A measurement tied to the tick reads 100 ms or more on
    /// every check, twice the bound.
    @Test func loopbackBackendsReportTheirConnectTime() throws {
        sampleBackendPorts.lock()
        defer { sampleBackendPorts.unlock() }
        let backends = BackendProcess.webSample()
        for backend in backends { try backend.start() }
        defer { for backend in backends { backend.stop() } }

        let scenario = HealthLatencyScenario()
        var telemetry: UInt16?
        var started = false
        let run = SkerryCLI.run(
            ["boot", Self.sample, "--accel", "tcg", "--json", "--forward", "admin:tcp:9100", "--input", "--timeout", "150"],
            keepInputOpen: true, timeout: 180
        ) { line, child in
            guard let event = SkerryCLI.event(line) else { return }
            if event["event"] as? String == "forward", event["role"] as? String == "admin", event["transport"] as? String == "tcp",
                event["guestPort"] as? Int == 9100, let host = event["hostPort"] as? Int
            {
                telemetry = UInt16(host)
            }
            guard !started, (event["line"] as? String)?.hasSuffix("web/web3 is UP") == true, let port = telemetry else { return }
            started = true
            let input = child.standardInput
            Thread.detachNewThread {
                defer { _ = "shutdown\n".withCString { write(input, $0, strlen($0)) } }
                do {
                    try Self.collect(scenario, telemetry: port)
                } catch {
                    scenario.failure = "\(error)"
                }
            }
        }
        #expect(run.code == 0, "\(run.stderr.suffix(800))")
        #expect(started, "the three backends came UP")
        #expect(scenario.failure == nil, "\(scenario.failure ?? "")")

        #expect(scenario.latencies.keys.sorted() == ["web/web1", "web/web2", "web/web3"], "\(scenario.latencies)")
        let all = scenario.latencies.values.flatMap { $0 }
        #expect(all.count == 3 * Self.checks && all.allSatisfy { $0 > 0 }, "\(scenario.latencies)")
        let median = all.sorted()[all.count / 2]
        #expect(median < 50, "median check latency \(median) ms; each backend's, in ms: \(scenario.latencies)")

        // The operator's view: `skerry stats` lists each backend's last latency; their median is under the same bound.
        let lines = (scenario.stats ?? "").split(separator: "\n").map(String.init)
        let shown = ["web/web1", "web/web2", "web/web3"].compactMap { name in
            lines.first { $0.hasPrefix(name + " ") }.flatMap(Self.milliseconds(in:))
        }
        #expect(shown.count == 3 && shown.sorted()[1] < 50, "\(scenario.stats ?? "")")
    }

    /// Reads each backend's latency once a second from the telemetry stream, then runs `skerry stats`.
    static func collect(_ scenario: HealthLatencyScenario, telemetry: UInt16) throws {
        let watcher = try TelemetryConnection(host: "127.0.0.1", port: telemetry)
        try watcher.subscribe(interval: 0.2, events: false)
        var model = TelemetryModel()
        model.apply(.hello(watcher.hello))
        for _ in 0..<checks {
            let deadline = Date().addingTimeInterval(1.0)
            while Date() < deadline { model.apply(try watcher.receive(timeout: 5)) }
            let names = (model.schema?.backendNames ?? []).map { "\($0.service)/\($0.backend)" }
            for (name, backend) in zip(names, model.snapshot?.backends ?? []) {
                if let microseconds = backend.checkLatencyMicroseconds {
                    scenario.latencies[name, default: []].append(Double(microseconds) / 1000)
                }
            }
        }
        scenario.stats = try CapturedRun.run(SkerryCLI.executable, ["stats", "127.0.0.1:\(telemetry)"]).output
    }

    /// The last duration in a table row ("1.2ms", "850µs", "0.1s"), in milliseconds.
    static func milliseconds(in line: String) -> Double? {
        for token in line.split(separator: " ").reversed() {
            for (unit, scale) in [("µs", 0.001), ("us", 0.001), ("ms", 1.0), ("s", 1000.0)] where token.hasSuffix(unit) {
                if let value = Double(token.dropLast(unit.count)) { return value * scale }
            }
        }
        return nil
    }
}
