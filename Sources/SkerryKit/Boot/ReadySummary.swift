import Foundation

/// Where a ready appliance can be reached from the host: its services,
/// telemetry and test services on 127.0.0.1, its console socket, and the
/// `skerry top` command that watches it. `skerry boot` prints it once, as
/// text or as a `ready` JSON event.
public struct ReadySummary {
    /// An endpoint and the host port that reaches it.
    public struct Placed {
        public var endpoint: ApplianceBootPlan.Endpoint
        public var hostPort: UInt16

        public var address: String { "\(ReadySummary.host):\(hostPort)" }

        var json: [String: Any] {
            ["name": endpoint.name, "role": endpoint.role.name.description, "transport": endpoint.transport.rawValue,
             "guestPort": Int(endpoint.guestPort), "host": ReadySummary.host, "hostPort": Int(hostPort)]
        }
    }

    /// Forwards listen on loopback only.
    public static let host = "127.0.0.1"

    public var services: [Placed] = []
    public var telemetry: Placed?
    public var testServices: [Placed] = []
    public var console: ConsoleAddress?
    /// `skerry top --attach …`, when the telemetry port is forwarded.
    public var attachCommand: String?

    public init() {}

    /// One line per fact, without a prefix.
    public var lines: [String] {
        var lines = services.map { "service \($0.endpoint.name) on \($0.address)" }
        if let telemetry { lines.append("telemetry on \(telemetry.address)") }
        if !testServices.isEmpty { lines.append(testServicesLine) }
        if let console { lines.append("serial console on \(console)") }
        if let attachCommand {
            lines.append(console == nil
                ? "watch it: \(attachCommand)   (boot with --console unix:PATH to type into its console from there too)"
                : "watch it: \(attachCommand)")
        }
        return lines
    }

    /// `echo on 127.0.0.1:P (tcp and udp), discard on 127.0.0.1:Q, …`: a
    /// name once, with its protocols when they share a host port.
    var testServicesLine: String {
        var groups: [(name: String, hostPort: UInt16, transports: [String])] = []
        for placed in testServices {
            if let index = groups.firstIndex(where: { $0.name == placed.endpoint.name && $0.hostPort == placed.hostPort }) {
                groups[index].transports.append(placed.endpoint.transport.rawValue)
            } else {
                groups.append((placed.endpoint.name, placed.hostPort, [placed.endpoint.transport.rawValue]))
            }
        }
        return groups.map { group in
            let both = group.transports.count > 1 ? " (\(group.transports.sorted().joined(separator: " and ")))" : ""
            let single = group.transports.count == 1 && group.transports[0] != PortForward.Transport.tcp.rawValue
                ? " (\(group.transports[0]))" : ""
            return "\(group.name) on \(ReadySummary.host):\(group.hostPort)\(both)\(single)"
        }.joined(separator: ", ")
    }

    /// The `ready` JSON event; `time` is seconds after QEMU started.
    public func json(time: Double) -> [String: Any] {
        var object: [String: Any] = [
            "event": "ready", "time": BootEvent.rounded(time), "services": services.map(\.json),
            "testServices": testServices.map(\.json),
        ]
        if let telemetry { object["telemetry"] = telemetry.json }
        if let console { object["console"] = console.description }
        if let attachCommand { object["attach"] = attachCommand }
        return object
    }

    /// `word` as one shell word: quoted when it holds anything but safe characters.
    static func shellWord(_ word: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-:+=,@%")
        if !word.isEmpty && word.allSatisfy(safe.contains) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
