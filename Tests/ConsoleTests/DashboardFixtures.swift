import Foundation
import KernelCore
import SkerryConsole
import SkerryKit

/// Dashboard inputs made the way the real ones are: a synthetic appliance
/// built from the kernel core, encoded by the kernel's stream, decoded by
/// the host's decoder into a model. Times are fixed so frames are stable.
enum DashboardFixtures {
    static let epoch = Date(timeIntervalSince1970: 1_800_000_000)

    /// A model after `snapshots` one-second snapshots of a busy appliance; the dashboard observes each.
    static func live(backends: Int = 6, rules: Int = 40, snapshots: Int = 30, dashboard: Dashboard? = nil) -> (TelemetryModel, Date) {
        let appliance = SyntheticAppliance(services: 2, backends: backends, rules: rules, seed: 8)
        let actions = AdminActions(token: Array("fixture-admin-token".utf8), balancer: appliance.balancer)
        let stream = TelemetryStream(applianceName: "fixture", actions: actions) { appliance.source() }
        appliance.balancer.onEvent = { event in
            stream.publish(TelemetryEvent(event, in: appliance.balancer), uptime: appliance.now.since(.zero))
        }
        let session = stream.open(peer: IPv4Address(10, 0, 1, 2), now: appliance.now)
        var decoder = TelemetryDecoder()
        var model = TelemetryModel()
        var clock = epoch
        func pump() {
            var bytes: [UInt8] = []
            session.send({ bytes.append(contentsOf: $0); return $0.count }, now: appliance.now)
            decoder.append(bytes)
            while let message = try? decoder.next() { model.apply(message, at: clock) }
        }
        let hello = TelemetryDecoder.clientHello + TelemetryDecoder.subscribeRequest(intervalMilliseconds: 1000, events: true)
        hello.withUnsafeBytes { stream.receive($0, from: session, now: appliance.now) }
        pump()
        for second in 0..<snapshots {
            appliance.exercise(milliseconds: 1000, connections: 20 + (second * 7) % 30, packets: 200 + (second * 37) % 300)
            if second == snapshots - 5 {
                appliance.balancer.setAdministrative(.draining, service: appliance.balancer.services[0], backend: appliance.balancer.services[0].backends[1])
            }
            clock = epoch.addingTimeInterval(Double(second + 1))
            stream.tick(now: appliance.now)
            pump()
            if let dashboard {
                dashboard.observe(DashboardInput(model: model, telemetry: TelemetryStatus(address: "127.0.0.1:9180", connected: true), now: clock))
            }
        }
        return (model, clock)
    }

    static let vm = VMStatus(image: "Samples/web", accelerator: "tcg", state: .running, readyAfter: 0.087)

    static let console = (1...60).map { "[   \(String(format: "%5.3f", Double($0) / 10))] console line \($0)" } + [
        "balancer: s0/b01 set to DRAIN", "firewall: rule-3 drop in on public tcp 192.0.2.7:40162 -> 10.0.2.15:22 new",
    ]

    static func normal(dashboard: Dashboard) -> DashboardInput {
        let (model, now) = live(dashboard: dashboard)
        return DashboardInput(model: model, telemetry: TelemetryStatus(address: "127.0.0.1:9180", connected: true), vm: vm,
                              console: console, consoleWritable: true, now: now.addingTimeInterval(0.4), interval: 1)
    }

    static func empty() -> DashboardInput {
        DashboardInput(telemetry: TelemetryStatus(address: "127.0.0.1:9180", connected: false),
                       vm: VMStatus(image: "Samples/web", accelerator: "tcg", state: .booting), now: epoch)
    }

    static func stale(dashboard: Dashboard) -> DashboardInput {
        let (model, now) = live(dashboard: dashboard)
        return DashboardInput(model: model, telemetry: TelemetryStatus(address: "127.0.0.1:9180", connected: false,
                                                                      error: "127.0.0.1:9180 closed the stream",
                                                                      retryAt: now.addingTimeInterval(16)),
                              vm: vm, console: console, now: now.addingTimeInterval(12), interval: 1)
    }
}
