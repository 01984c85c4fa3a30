import Foundation
import SkerryKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

final class TelemetryScenario: @unchecked Sendable {
    var before: String?
    var after: String?
    var withoutToken: HTTPProbe.Response?
    var withToken: HTTPProbe.Response?
    var afterDrain: [String: Int] = [:]
    var statsJSON: String?
    var statsSummary: String?
    var adminEnable: CapturedRun?
    var adminRefused: CapturedRun?
}

/// The telemetry port of the web sample, from the host through the admin NIC.
@Suite(.serialized) struct TelemetryIntegrationTests {
    static let sample = SkerryCLI.packageRoot.appendingPathComponent("Samples/web").path
    static let token = "sample-admin-token-change-me"

    @Test func metricsRiseWithTrafficAndADrainNeedsTheToken() throws {
        sampleBackendPorts.lock()
        defer { sampleBackendPorts.unlock() }
        let backends = [BackendProcess(name: "web1", port: 8081), BackendProcess(name: "web2", port: 8082), BackendProcess(name: "web3", port: 8083)]
        for backend in backends { try backend.start() }
        defer { for backend in backends { backend.stop() } }

        let scenario = TelemetryScenario()
        var ports: [String: UInt16] = [:]
        var started = false
        let run = SkerryCLI.run(
            ["boot", Self.sample, "--accel", "tcg", "--json", "--forward", "public:tcp:80", "--forward", "admin:tcp:9100",
             "--input", "--timeout", "120"],
            keepInputOpen: true, timeout: 150
        ) { line, child in
            guard let event = SkerryCLI.event(line) else { return }
            if event["event"] as? String == "forward", event["transport"] as? String == "tcp",
                let role = event["role"] as? String, let guest = event["guestPort"] as? Int, let host = event["hostPort"] as? Int
            {
                ports["\(role):\(guest)"] = UInt16(host)
            }
            guard !started, (event["line"] as? String)?.hasSuffix("web/web3 is UP") == true,
                let web = ports["public:80"], let telemetry = ports["admin:9100"]
            else { return }
            started = true
            let input = child.standardInput
            Thread.detachNewThread {
                scenario.before = HTTPProbe.exchange(port: telemetry, path: "/metrics")?.body
                for _ in 0..<9 { _ = fetchBackendName(port: web) }
                scenario.after = HTTPProbe.exchange(port: telemetry, path: "/metrics")?.body
                scenario.withoutToken = HTTPProbe.exchange(port: telemetry, method: "POST", path: "/admin/drain/web/web2")
                scenario.withToken = HTTPProbe.exchange(
                    port: telemetry, method: "POST", path: "/admin/drain/web/web2", headers: ["Authorization": "Bearer \(Self.token)"])
                for _ in 0..<6 {
                    if let name = fetchBackendName(port: web) { scenario.afterDrain[name, default: 0] += 1 }
                }
                // The same through the command line.
                let address = "127.0.0.1:\(telemetry)"
                scenario.statsJSON = (try? CapturedRun.run(SkerryCLI.executable, ["stats", address, "--json"]))?.output
                scenario.statsSummary = (try? CapturedRun.run(SkerryCLI.executable, ["stats", address]))?.output
                scenario.adminEnable = try? CapturedRun.run(
                    SkerryCLI.executable, ["admin", address, "enable", "web/web2", "--token", Self.token])
                scenario.adminRefused = try? CapturedRun.run(
                    SkerryCLI.executable, ["admin", address, "disable", "web/web2", "--token", "not-the-token-at-all"])
                _ = "shutdown\n".withCString { write(input, $0, strlen($0)) }
            }
        }
        #expect(run.code == 0, "\(run.stderr.suffix(800))")
        #expect(started)
        func value(_ metrics: String?, _ sample: String) -> Int? {
            guard let line = metrics?.split(separator: "\n").first(where: { $0.hasPrefix(sample + " ") }) else { return nil }
            return Int(line.split(separator: " ").last ?? "")
        }
        let total = "skerry_service_connections_total{service=\"web\"}"
        let before = try #require(value(scenario.before, total), "\(scenario.before?.prefix(400) ?? "no metrics")")
        #expect(value(scenario.after, total) == before + 9, "counters rise with traffic")
        #expect(value(scenario.after, "skerry_backend_up{service=\"web\",backend=\"web1\"}") == 1)
        #expect((value(scenario.after, "skerry_firewall_rule_packets_total{rule=\"web\",action=\"accept\"}") ?? 0) >= 9)
        #expect(scenario.withoutToken?.status == 401, "\(String(describing: scenario.withoutToken))")
        #expect(scenario.withToken?.status == 200 && scenario.withToken?.body == "web/web2 is DRAIN\n")
        #expect(scenario.afterDrain["web2"] == nil && scenario.afterDrain.values.reduce(0, +) == 6, "\(scenario.afterDrain)")
        #expect(run.consoleLines.contains("admin: web/web2 set to DRAIN by 10.0.1.2 over HTTP"))
        let json = try #require(scenario.statsJSON.flatMap { $0.data(using: .utf8) })
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any], "\(scenario.statsJSON ?? "")")
        let samples = try #require(object["samples"] as? [[String: Any]])
        let web1 = samples.first {
            $0["name"] as? String == "skerry_backend_up" && ($0["labels"] as? [String: String])?["backend"] == "web1"
        }
        #expect(web1?["value"] as? Double == 1, "skerry stats --json reports the backends")
        let summary = scenario.statsSummary?.split(separator: "\n").map(String.init) ?? []
        #expect(summary.contains { $0.hasPrefix("web/web1") && $0.contains(" UP ") && $0.contains(" enabled ") }, "\(summary)")
        #expect(summary.contains { $0.hasPrefix("web/web2") && $0.contains(" draining ") }, "\(summary)")
        #expect(summary.contains { $0.hasPrefix("web ") && $0.contains(" accept ") }, "the firewall's rules: \(summary)")
        #expect(scenario.adminEnable?.termination == .exited(0) && scenario.adminEnable?.output.contains("web/web2 is enabled") == true,
                "\(String(describing: scenario.adminEnable))")
        #expect(scenario.adminRefused?.termination == .exited(1) && scenario.adminRefused?.output.contains("HTTP 401") == true,
                "\(String(describing: scenario.adminRefused))")
        #expect(run.consoleLines.contains { $0.hasPrefix("telemetry: admin port 9100: GET /metrics; admin actions need the admin token") })
    }
}
