import ArgumentParser
import Foundation
import SkerryKit

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Show a running appliance's backends, services and firewall counters.",
        discussion: """
            Reads the appliance's metrics from its telemetry port (docs/telemetry.md). One summary by default; \
            --json for every sample; --watch to print a fresh summary every --interval seconds, for dumb \
            terminals and logs, reconnecting with backoff and marking the data stale while the appliance \
            cannot be reached.
            """)

    @Argument(help: ArgumentHelp("The appliance's telemetry port.", valueName: "HOST:PORT"))
    var address: TelemetryAddress

    @Flag(help: "Print every sample as JSON.")
    var json = false

    @Flag(help: "Print a summary every --interval seconds until interrupted.")
    var watch = false

    @Option(help: "Seconds between summaries with --watch.")
    var interval: Double = 2

    func validate() throws {
        if json && watch { throw ValidationError("--json and --watch do not go together") }
        if interval < 0.2 || interval > 3600 { throw ValidationError("--interval must be between 0.2 and 3600 seconds") }
    }

    func run() throws {
        if !watch {
            let metrics = try fetch()
            print(json ? StatsReport.json(metrics, address: address.description) : StatsReport.summary(metrics))
            return
        }
        var lastGood: Date?
        var backoff = interval
        while true {
            let stamp = ISO8601DateFormatter().string(from: Date())
            do {
                let metrics = try fetch()
                lastGood = Date()
                backoff = interval
                print("--- \(address.description) at \(stamp)")
                print(StatsReport.summary(metrics))
            } catch {
                let age = lastGood.map { String(format: "%.0f s", Date().timeIntervalSince($0)) } ?? "no data yet"
                print("--- \(address.description) at \(stamp): STALE (\(age)): \(error); retrying in \(Int(backoff)) s")
                backoff = min(backoff * 2, max(interval, 30))
            }
            fflush(nil)
            Thread.sleep(forTimeInterval: lastGood == nil || backoff == interval ? interval : backoff)
        }
    }

    private func fetch() throws -> MetricsText {
        guard let response = HTTPProbe.exchange(host: address.host, port: address.port, path: "/metrics", timeout: 5) else {
            throw CLIError("no answer from \(address.description)")
        }
        guard response.status == 200 else { throw CLIError("HTTP \(response.status) from \(address.description)") }
        do {
            return try MetricsText(parsing: response.body)
        } catch {
            throw CLIError("unreadable metrics from \(address.description): \(error)")
        }
    }
}

/// The text and JSON forms of `skerry stats`.
enum StatsReport {
    static func summary(_ metrics: MetricsText) -> String {
        var lines: [String] = []
        let uptime = metrics.value("skerry_uptime_seconds") ?? 0
        let heap = (metrics.value("skerry_heap_bytes", ["kind": "used"]) ?? 0) / 1_048_576
        lines.append(String(format: "uptime %.1f s, heap %.1f MiB used", uptime, heap))
        for sample in metrics.samples(named: "skerry_service_connections_total") {
            let service = sample.labels["service"] ?? "?"
            let labels = ["service": service]
            lines.append("service \(service): \(int(metrics.value("skerry_service_connections_active", labels))) active, "
                + "\(int(sample.value)) total, \(int(metrics.value("skerry_service_connections_refused_total", labels))) refused, "
                + "\(int(metrics.value("skerry_service_connection_rate", labels)))/s")
        }
        let backends = metrics.samples(named: "skerry_backend_up")
        if !backends.isEmpty {
            lines.append(row(["backend", "state", "admin", "weight", "active", "total", "failed", "checks-failed"]))
            for sample in backends {
                let labels = ["service": sample.labels["service"] ?? "", "backend": sample.labels["backend"] ?? ""]
                let admin = ["enabled", "draining", "disabled"].first {
                    metrics.value("skerry_backend_admin_state", labels.merging(["state": $0]) { $1 }) == 1
                } ?? "?"
                lines.append(row([
                    "\(labels["service"]!)/\(labels["backend"]!)", sample.value == 1 ? "UP" : "DOWN", admin,
                    int(metrics.value("skerry_backend_weight", labels)), int(metrics.value("skerry_backend_connections_active", labels)),
                    int(metrics.value("skerry_backend_connections_total", labels)),
                    int(metrics.value("skerry_backend_failed_connects_total", labels)),
                    int(metrics.value("skerry_backend_check_failures_total", labels)),
                ]))
            }
        }
        let rules = metrics.samples(named: "skerry_firewall_rule_packets_total")
        if !rules.isEmpty {
            lines.append(row(["rule", "action", "packets", "bytes", "rate-limited"], widths: [24, 8, 12, 14, 12]))
            for sample in rules {
                let labels = ["rule": sample.labels["rule"] ?? ""]
                lines.append(row([
                    labels["rule"]!, sample.labels["action"] ?? "", int(sample.value),
                    int(metrics.value("skerry_firewall_rule_bytes_total", labels)),
                    int(metrics.value("skerry_firewall_rule_rate_limited_total", labels)),
                ], widths: [24, 8, 12, 14, 12]))
            }
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ metrics: MetricsText, address: String) -> String {
        let samples = metrics.samples.map { sample -> [String: Any] in
            ["name": sample.name, "labels": sample.labels, "value": sample.value]
        }
        let families = metrics.families.values.sorted { $0.name < $1.name }.map { ["name": $0.name, "type": $0.type, "help": $0.help] }
        let object: [String: Any] = ["address": address, "families": families, "samples": samples]
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    private static func int(_ value: Double?) -> String { value.map { String(Int64($0)) } ?? "-" }

    private static func row(_ cells: [String], widths: [Int] = [18, 6, 9, 7, 7, 8, 7, 13]) -> String {
        zip(cells, widths).map { cell, width in cell.count >= width ? cell + " " : cell.padding(toLength: width, withPad: " ", startingAt: 0) }
            .joined().trimmingCharacters(in: .whitespaces)
    }
}
