import Foundation
import SkerryKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

final class TelemetryScenario: @unchecked Sendable {
    var first: TelemetryModel?
    var afterTraffic: TelemetryModel?
    var refused: Telemetry.AdminResult?
    var drained: Telemetry.AdminResult?
    var events: [Telemetry.Event] = []
    var afterDrain: [String: Int] = [:]
    var metrics: String?
    var publicStream: TelemetryStreamError?
    var publicMetrics: HTTPProbe.Response?
    var statsJSON: String?
    var statsSummary: String?
    var adminEnable: CapturedRun?
    var adminRefused: CapturedRun?
    var failure: String?
}

/// The telemetry port of the web sample, from the host through the admin NIC.
@Suite(.serialized) struct TelemetryIntegrationTests {
    static let sample = SkerryCLI.packageRoot.appendingPathComponent("Samples/web").path
    static let token = "sample-admin-token-change-me"

    @Test func theStreamReportsTrafficAndTakesAdminActionsWithTheToken() throws {
        sampleBackendPorts.lock()
        defer { sampleBackendPorts.unlock() }
        let backends = BackendProcess.webSample()
        for backend in backends { try backend.start() }
        defer { for backend in backends { backend.stop() } }

        let scenario = TelemetryScenario()
        var ports: [String: UInt16] = [:]
        var started = false
        // The public NIC's forward of the telemetry port must lead nowhere.
        let run = SkerryCLI.run(
            ["boot", Self.sample, "--accel", "tcg", "--json", "--forward", "public:tcp:80", "--forward", "admin:tcp:9100",
             "--forward", "public:tcp:9100", "--input", "--timeout", "150"],
            keepInputOpen: true, timeout: 180
        ) { line, child in
            guard let event = SkerryCLI.event(line) else { return }
            if event["event"] as? String == "forward", event["transport"] as? String == "tcp",
                let role = event["role"] as? String, let guest = event["guestPort"] as? Int, let host = event["hostPort"] as? Int
            {
                ports["\(role):\(guest)"] = UInt16(host)
            }
            guard !started, (event["line"] as? String)?.hasSuffix("web/web3 is UP") == true,
                let web = ports["public:80"], let telemetry = ports["admin:9100"], let exposed = ports["public:9100"]
            else { return }
            started = true
            let input = child.standardInput
            Thread.detachNewThread {
                defer { _ = "status\nshutdown\n".withCString { write(input, $0, strlen($0)) } }
                do {
                    try Self.exercise(scenario, web: web, telemetry: telemetry, exposed: exposed)
                } catch {
                    scenario.failure = "\(error)"
                }
            }
        }
        #expect(run.code == 0, "\(run.stderr.suffix(800))")
        #expect(started)
        #expect(scenario.failure == nil, "\(scenario.failure ?? "")")

        // Subscribed, traffic makes the counters rise.
        let first = try #require(scenario.first?.snapshot)
        let after = try #require(scenario.afterTraffic?.snapshot)
        #expect(scenario.first?.hello?.appliance == "web" && scenario.first?.hello?.adminEnabled == true)
        #expect(after.services[0][.totalConnections] == first.services[0][.totalConnections] + 9, "counters rise with traffic")
        #expect(after.backends.allSatisfy { $0.up })
        let webRule = try #require(scenario.afterTraffic?.rule("web"))
        #expect(webRule.packets >= 9)
        // Rates are worked out between snapshots: the admin NIC carries the stream itself.
        #expect((scenario.afterTraffic?.rates?.nicTransmitBytes.first ?? 0) > 0, "\(String(describing: scenario.afterTraffic?.rates))")

        // A wrong token is refused and changes nothing; the right one drains web2, which then gets nothing.
        #expect(scenario.refused?.code == .unauthorized, "\(String(describing: scenario.refused))")
        #expect(scenario.drained == Telemetry.AdminResult(request: 2, code: .ok, message: "web/web2 is draining"))
        #expect(scenario.afterDrain["web2"] == nil && scenario.afterDrain.values.reduce(0, +) == 6, "\(scenario.afterDrain)")
        #expect(scenario.events.contains { $0.kind == .administrative(service: 0, backend: 1, state: .draining) }, "\(scenario.events)")
        #expect(scenario.events.contains {
            $0.kind == .adminAction(action: .drain, service: 0, backend: 1, weight: 0, peer: "10.0.1.2", channel: .stream)
        })
        #expect(run.consoleLines.contains("admin: web/web2 set to DRAIN by 10.0.1.2 over the telemetry stream"))

        // The public side reaches neither the stream nor /metrics.
        #expect(scenario.publicStream != nil, "the telemetry stream answered through the public NIC")
        #expect(scenario.publicMetrics?.status != 200, "/metrics answered through the public NIC")

        // /metrics holds to Prometheus's own parser.
        let parsed = try Self.prometheusParse(try #require(scenario.metrics))
        let families = try #require(parsed["families"] as? [String: String])
        let samples = try #require(parsed["samples"] as? [[Any]])
        #expect(families["skerry_backend_connections_active"] == "gauge")
        #expect(families["skerry_backend_connections"] == "counter", "the parser strips _total off counter families")
        let active = samples.first { ($0[0] as? String) == "skerry_backend_connections_active" && ($0[1] as? [String: String]) == ["service": "web", "backend": "web1"] }
        #expect(active != nil, "conventional names and labels")
        #expect(samples.count > 100)

        // The command line, over the same stream.
        let json = try #require(scenario.statsJSON.flatMap { $0.data(using: .utf8) })
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any], "\(scenario.statsJSON ?? "")")
        // jq '.backends["web/web1"].state', as README has it.
        let backendValues = try #require(object["backends"] as? [String: [String: Any]])
        #expect(Set(backendValues.keys) == ["web/web1", "web/web2", "web/web3"] && backendValues["web/web1"]?["state"] as? String == "UP",
                "skerry stats --json reports the backends by name")
        let summary = scenario.statsSummary?.split(separator: "\n").map(String.init) ?? []
        #expect(summary.contains { $0.hasPrefix("web/web1") && $0.contains(" UP ") && $0.contains(" enabled ") }, "\(summary)")
        #expect(summary.contains { $0.hasPrefix("web/web2") && $0.contains(" draining ") }, "\(summary)")
        #expect(summary.contains { $0.hasPrefix("web ") && $0.contains(" accept ") }, "the firewall's rules: \(summary)")
        #expect(scenario.adminEnable?.termination == .exited(0) && scenario.adminEnable?.output.contains("web/web2 is enabled") == true,
                "\(String(describing: scenario.adminEnable))")
        #expect(scenario.adminRefused?.termination == .exited(77) && scenario.adminRefused?.output.contains("unauthorized") == true,
                "\(String(describing: scenario.adminRefused))")
        #expect(run.consoleLines.contains { $0.hasPrefix("telemetry: admin port 9100: telemetry stream, GET /metrics; admin actions need the admin token") })
        // The serial shell answers `status`.
        #expect(run.consoleLines.contains { $0.hasPrefix("uptime ") && $0.contains(" s, loop load ") })
    }

    static func exercise(_ scenario: TelemetryScenario, web: UInt16, telemetry: UInt16, exposed: UInt16) throws {
        let watcher = try TelemetryConnection(host: "127.0.0.1", port: telemetry)
        try watcher.subscribe(interval: 0.2, events: true)
        var model = TelemetryModel()
        model.apply(.hello(watcher.hello))
        func settle(_ seconds: Double) throws {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                let message = try watcher.receive(timeout: 5)
                model.apply(message)
                if case .event(let event) = message { scenario.events.append(event) }
            }
        }
        try settle(0.5)
        scenario.first = model
        for _ in 0..<9 { _ = fetchBackendName(port: web) }
        try settle(1.5)
        scenario.afterTraffic = model

        let admin = try TelemetryConnection(host: "127.0.0.1", port: telemetry)
        scenario.refused = try admin.admin(token: "not-the-admin-token", action: .drain, service: "web", backend: "web2")
        scenario.drained = try admin.admin(token: Self.token, action: .drain, service: "web", backend: "web2")
        for _ in 0..<6 {
            if let name = fetchBackendName(port: web) { scenario.afterDrain[name, default: 0] += 1 }
        }
        try settle(0.6)
        scenario.metrics = HTTPProbe.exchange(port: telemetry, path: "/metrics")?.body
        do {
            _ = try TelemetryConnection(host: "127.0.0.1", port: exposed, timeout: 3)
        } catch {
            scenario.publicStream = error
        }
        scenario.publicMetrics = HTTPProbe.exchange(port: exposed, path: "/metrics", timeout: 3)

        let address = "127.0.0.1:\(telemetry)"
        scenario.statsJSON = (try? CapturedRun.run(SkerryCLI.executable, ["stats", address, "--json"]))?.output
        scenario.statsSummary = (try? CapturedRun.run(SkerryCLI.executable, ["stats", address]))?.output
        scenario.adminEnable = try? CapturedRun.run(SkerryCLI.executable, ["admin", address, "enable", "web/web2", "--token", Self.token])
        scenario.adminRefused = try? CapturedRun.run(
            SkerryCLI.executable, ["admin", address, "disable", "web/web2", "--token", "not-the-token-at-all"])
    }

    /// Runs prometheus_client's parser (installed by scripts/setup) over `text`.
    static func prometheusParse(_ text: String) throws -> [String: Any] {
        let root = SkerryCLI.packageRoot.appendingPathComponent(".build/python")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scripts/prometheus_parse.py").path
        let venv = root.appendingPathComponent("bin/python3").path
        let python = FileManager.default.isExecutableFile(atPath: venv) ? venv : "/usr/bin/env"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = python == venv ? [script] : ["python3", script]
        process.environment = ProcessInfo.processInfo.environment.merging(["PYTHONPATH": root.appendingPathComponent("packages").path]) { $1 }
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let messages = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0, let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CLIErrorForTests("prometheus_client rejected /metrics (run scripts/setup to install it): \(messages)")
        }
        return object
    }
}

struct CLIErrorForTests: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
