import ArgumentParser
import Foundation
import KernelCore
import SkerryKit

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Show a running appliance's backends, services, firewall counters and events.",
        discussion: """
            Subscribes to the appliance's telemetry stream on its telemetry port (docs/telemetry.md). \
            One summary by default; --json for a one-shot dump of everything the appliance reports; \
            --watch to print a fresh summary every --interval seconds, for dumb terminals and logs, with \
            rates worked out between snapshots, events as they arrive, and the data marked STALE with its \
            age while the appliance cannot be reached (it reconnects with backoff). --watch prints each \
            snapshot once: an interval with no new snapshot prints nothing, or a STALE line.
            --json keys everything by name, e.g. jq '.backends["web/web2"].state'.

            """ + ExitStatuses.help(ExitStatuses.stats))

    @Argument(help: ArgumentHelp("The appliance's telemetry port.", valueName: "HOST:PORT"))
    var address: TelemetryAddress

    @Flag(help: "Print one snapshot as JSON, keyed by name: backends as service/backend, counters, rules, policies as direction/interface.")
    var json = false

    @Flag(help: "Print a summary every --interval seconds until interrupted.")
    var watch = false

    // Unconditional, so a negative number reaches the range check instead of reading as an option.
    @Option(parsing: .unconditional, help: "Seconds between snapshots with --watch (0.1 to 60).")
    var interval: Double = 2

    @Option(parsing: .unconditional, help: "Seconds to wait for the appliance before giving up (without --watch).")
    var timeout: Double = 10

    func validate() throws {
        if json && watch { throw ValidationError("--json and --watch do not go together") }
        if let problem = SecondsOption.interval().problem(interval) { throw ValidationError(problem) }
        if let problem = SecondsOption.timeout().problem(timeout) { throw ValidationError(problem) }
    }

    func run() throws {
        if watch {
            watchUntilSignalled()
            throw ExitStatus.interrupted.exitCode
        }
        let model: TelemetryModel
        do {
            model = try Self.fetch(address, timeout: timeout)
        } catch {
            throw CLIError(error.explained(at: address.description), status: ExitStatus(error))
        }
        print(json ? StatsDocument(model, address: address.description).json : StatsReport.summary(model))
    }

    /// Connects, subscribes, and returns the model once the first snapshot is in.
    static func fetch(_ address: TelemetryAddress, timeout: Double) throws(TelemetryStreamError) -> TelemetryModel {
        let connection = try TelemetryConnection(host: address.host, port: address.port, timeout: timeout)
        try connection.subscribe(interval: 1, events: false)
        var model = TelemetryModel()
        model.apply(.hello(connection.hello))
        let deadline = Date().addingTimeInterval(timeout)
        while model.snapshot == nil {
            model.apply(try connection.receive(timeout: max(0.1, deadline.timeIntervalSinceNow)))
        }
        return model
    }

    /// Prints each new snapshot once, events as they come, and STALE lines while
    /// the appliance cannot be reached, until SIGINT, SIGTERM or SIGHUP.
    private func watchUntilSignalled() {
        _ = SignalTrap.install()
        let signals = SignalTrap.count
        let monitor = TelemetryMonitor(host: address.host, port: address.port, interval: interval)
        var printedEvents = 0
        var lastPrinted = Date.distantPast
        var printedSnapshot: Date?
        while SignalTrap.count == signals {
            monitor.step(timeout: min(interval, 0.5))
            let model = monitor.model
            let events = model.events.count
            if events != printedEvents {
                for event in model.events.suffix(max(0, events - printedEvents)) { print("event: \(model.describe(event))") }
                printedEvents = events
                fflush(nil)
            }
            guard Date().timeIntervalSince(lastPrinted) >= interval * 0.9 else { continue }
            let stamp = ISO8601DateFormatter().string(from: Date())
            if monitor.isConnected, let age = model.age(), age < max(2 * interval, 3) {
                // A snapshot is printed once: an interval without a new one prints nothing.
                guard model.updated != printedSnapshot else { continue }
                printedSnapshot = model.updated
                print("--- \(address.description) at \(stamp), snapshot \(model.snapshot?.sequence ?? 0)")
                print(StatsReport.summary(model))
            } else {
                let age = model.age().map { String(format: "%.0f s old", $0) } ?? "no data yet"
                let reason = monitor.lastError.map { ": \($0)" } ?? ""
                let retry = monitor.retryAt.map { String(format: "; retrying in %.0f s", max(0, $0.timeIntervalSinceNow)) } ?? ""
                print("--- \(address.description) at \(stamp): STALE (\(age))\(reason)\(retry)")
            }
            lastPrinted = Date()
            fflush(nil)
        }
    }
}

/// The text form of `skerry stats` (the JSON form is `StatsDocument`).
enum StatsReport {
    static func summary(_ model: TelemetryModel) -> String {
        guard let schema = model.schema, let snapshot = model.snapshot else { return "no data yet" }
        var lines: [String] = []
        let name = model.hello?.appliance ?? "?"
        var head = String(format: "%@: up %.1f s, heap %.1f MiB used, %.1f MiB free, peak %.1f MiB", name,
                          Double(snapshot.uptimeMilliseconds) / 1000, mib(snapshot.heapUsed), mib(snapshot.heapFree), mib(snapshot.heapPeak))
        if let rates = model.rates { head += String(format: ", event loop %.1f%% busy", rates.loopLoad * 100) }
        lines.append(head)
        lines.append(row(["nic", "model", "link", "rx-packets", "rx-bytes", "tx-packets", "tx-bytes", "rx/s", "tx/s"],
                         widths: [8, 10, 5, 11, 12, 11, 12, 10, 10]))
        for (index, nic) in schema.nics.enumerated() where index < snapshot.nics.count {
            let values = snapshot.nics[index]
            let rates = model.rates
            let counters = values.counters
            lines.append(row([nic.role, nic.model, values.linkUp ? "up" : "down", "\(counters[.rxPackets])", "\(counters[.rxBytes])",
                              "\(counters[.txPackets])", "\(counters[.txBytes])", rate(rates?.nicReceiveBytes, index),
                              rate(rates?.nicTransmitBytes, index)],
                             widths: [8, 10, 5, 11, 12, 11, 12, 10, 10]))
        }
        for (index, nic) in schema.nics.enumerated() where index < snapshot.nics.count {
            lines.append(counterLine("nic \(nic.role)", schema.deviceCounters, snapshot.nics[index].counters))
        }
        for (index, service) in schema.services.enumerated() where index < snapshot.services.count {
            let values = snapshot.services[index]
            lines.append("service \(service.name) (port \(service.port), \(service.algorithm)): \(values[.activeConnections]) active, "
                + "\(values[.totalConnections]) total, \(values[.refusedConnections]) refused, \(values[.redispatched]) redispatched, "
                + "\(Format.rate(Double(values[.connectionRate])))" + (service.check.map { ", check \($0)" } ?? ""))
        }
        if !schema.services.isEmpty {
            lines.append(row(["backend", "state", "admin", "weight", "active", "total", "failed", "checks-failed", "latency", "redisp",
                              "check"]))
            for (index, names) in schema.backendNames.enumerated() where index < snapshot.backends.count {
                let backend = snapshot.backends[index]
                lines.append(row([
                    "\(names.service)/\(names.backend)", "\((backend.up ? BackendHealth.Status.up : .down).name)", "\(backend.administrative.label)", "\(backend.weight)",
                    "\(backend.traffic[.activeConnections])", "\(backend.traffic[.totalConnections])", "\(backend.traffic[.failedConnects])",
                    "\(backend.checkFailures)", backend.checkLatencyMicroseconds.map { String(format: "%.1fms", Double($0) / 1000) } ?? "-",
                    "\(backend.traffic[.redispatched])", backend.checkReason ?? "-",
                ] + model.backendMarks(index)))
            }
        }
        if let table = snapshot.connectionTable {
            lines.append("connections: \(table.entries) of \(schema.connectionCapacity) tracked, "
                + "\(table.halfOpen) of \(schema.halfOpenLimit) half-open")
            lines.append(counterLine("conntrack", schema.conntrackCounters, table.counters))
        }
        if let balancer = snapshot.balancer { lines.append(counterLine("balancer", schema.balancerCounters, balancer)) }
        if let telemetry = snapshot.telemetry { lines.append(counterLine("telemetry", schema.telemetryCounters, telemetry)) }
        if let firewall = snapshot.firewall {
            let widths = [24, 8, 12, 14, 12, 10]
            lines.append(row(["rule", "action", "packets", "bytes", "rate-limited", "last-hit"], widths: widths))
            // The rules that matched anything, busiest first; all of them when none has.
            let order = schema.rules.indices.sorted { (firewall.rules[$0]?.packets ?? 0) > (firewall.rules[$1]?.packets ?? 0) }
            let shown = order.filter { (firewall.rules[$0]?.packets ?? 0) > 0 }.prefix(20)
            for index in shown.isEmpty ? Array(order.prefix(20)) : Array(shown) {
                let rule = schema.rules[index]
                let values = firewall.rules[index]
                lines.append(row([rule.name, "\(rule.action.name)", "\(values?.packets ?? 0)", "\(values?.bytes ?? 0)", "\(values?.rateLimited ?? 0)",
                                  values?.lastHitAgeMilliseconds.map { String(format: "%.1fs ago", Double($0) / 1000) } ?? "never"],
                                 widths: widths))
            }
            if schema.rules.count > 20 { lines.append("(\(schema.rules.count) rules; the 20 busiest shown)") }
            for (index, policy) in schema.policies.enumerated() where index < firewall.policies.count && firewall.policies[index].packets > 0 {
                lines.append(row(["policy " + Telemetry.Schema.policyNames[index], "\(policy.name)", "\(firewall.policies[index].packets)",
                                  "\(firewall.policies[index].bytes)"], widths: widths))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// `label: name=value ...` for each counter of a set the schema names, in its order.
    private static func counterLine<Key: CounterKey>(_ label: String, _ names: CounterNames<Key>, _ set: CounterSet<Key>) -> String {
        label + ":" + names.keys.compactMap { $0 }.map { " \($0.name)=\(set[$0])" }.joined()
    }

    private static func mib(_ bytes: UInt64) -> Double { Double(bytes) / 1_048_576 }

    /// A bytes-a-second rate in the dashboard's units (`1.0K/s`).
    private static func rate(_ values: [Double]?, _ index: Int) -> String {
        guard let values, index < values.count else { return "-" }
        return Format.bytes(values[index]) + "/s"
    }

    private static func row(_ cells: [String], widths: [Int] = [18, 6, 9, 7, 7, 8, 7, 14, 8, 7, 19, 7, 9]) -> String {
        zip(cells, widths).map { cell, width in cell.count >= width ? cell + " " : cell.padding(toLength: width, withPad: " ", startingAt: 0) }
            .joined().trimmingCharacters(in: .whitespaces)
    }
}
