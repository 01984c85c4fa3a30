import Foundation
import KernelCore

/// What a booted appliance offers the host, and the forwards that reach it:
/// each balanced service and the telemetry port, from the appliance
/// description, and the admin NIC's test services. `skerry boot`, `top`,
/// `demo` and `smoke` forward these by default; a `--forward` of the same
/// guest port replaces the default one.
public struct ApplianceBootPlan: Sendable {
    /// One thing the appliance serves on a guest port.
    public struct Endpoint: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            /// A balanced service, by its name in the appliance file.
            case service(String)
            case telemetry
            /// Echo, discard or chargen on the admin NIC.
            case testService(String)
        }

        public var kind: Kind
        public var role: InterfaceRole
        public var transport: PortForward.Transport
        public var guestPort: UInt16
        /// The host port tried first when `stableHostPorts` is asked for; nil takes any free port.
        public var stableHostPort: UInt16?

        public var name: String {
            switch kind {
            case .service(let name), .testService(let name): return name
            case .telemetry: return "telemetry"
            }
        }

        /// The forward of this endpoint's guest port among `forwards`.
        public func forward(in forwards: [PortForward]) -> PortForward? {
            forwards.first { $0.role == role && $0.transport == transport && $0.guestPort == guestPort }
        }
    }

    /// The telemetry port's host port when free: the one README and `scripts/run` use.
    public static let telemetryHostPort: UInt16 = 9180

    /// A service's host port when free: 8000 + P below 1024 (80 → 8080,
    /// 443 → 8443), so no root is needed; P itself above.
    public static func stableHostPort(service port: UInt16) -> UInt16 { port < 1024 ? 8000 + port : port }

    /// The admin NIC's test services, as the kernel's `Appliance` serves them.
    public static let testServices: [Endpoint] = {
        let kinds: [(UInt16, TCPTestService.Kind)] = [(Appliance.echoPort, .echo), (Appliance.discardPort, .discard),
                                                      (Appliance.chargenPort, .chargen)]
        let udpEcho = Endpoint(kind: .testService(String(describing: TCPTestService.Kind.echo)), role: .admin, transport: .udp,
                               guestPort: Appliance.echoPort)
        return [udpEcho] + kinds.map { port, kind in
            Endpoint(kind: .testService(String(describing: kind)), role: .admin, transport: .tcp, guestPort: port)
        }
    }()

    public var endpoints: [Endpoint]

    /// The endpoints of `description`'s appliance; without one (a bare
    /// image), the test services alone.
    public init(description: ApplianceDescription?) {
        var endpoints: [Endpoint] = []
        if let description {
            endpoints += description.services.map {
                Endpoint(kind: .service($0.name), role: .public, transport: .tcp, guestPort: $0.port,
                         stableHostPort: ApplianceBootPlan.stableHostPort(service: $0.port))
            }
            endpoints.append(Endpoint(kind: .telemetry, role: .admin, transport: .tcp, guestPort: description.telemetryPort,
                                      stableHostPort: ApplianceBootPlan.telemetryHostPort))
        }
        self.endpoints = endpoints + ApplianceBootPlan.testServices
    }

    /// The plan of a kernel built without an appliance file, from the same
    /// default description `ApplianceCodegen.standalone` compiles in.
    public static let standalone = ApplianceBootPlan(description: ApplianceDescription())

    /// The telemetry endpoint, when the appliance has one.
    public var telemetry: Endpoint? { endpoints.first { $0.kind == .telemetry } }

    /// One forward per endpoint. With `stableHostPorts` each tries its
    /// stable host port first; otherwise all take free ports.
    public func forwards(stableHostPorts: Bool) -> [PortForward] {
        endpoints.map {
            PortForward(role: $0.role, transport: $0.transport, guestPort: $0.guestPort,
                        preferredHostPort: stableHostPorts ? $0.stableHostPort : nil)
        }
    }

    /// What to tell the operator once the appliance is ready, given the
    /// forwards QEMU set up and the console socket, if any.
    /// - Parameter executable: how to name `skerry` in the command shown.
    public func readySummary(forwards: [PortForward], console: ConsoleAddress?, executable: String) -> ReadySummary {
        var summary = ReadySummary()
        for endpoint in endpoints {
            guard let forward = endpoint.forward(in: forwards) else { continue }
            let placed = ReadySummary.Placed(endpoint: endpoint, hostPort: forward.hostPort)
            switch endpoint.kind {
            case .service: summary.services.append(placed)
            case .telemetry: summary.telemetry = placed
            case .testService: summary.testServices.append(placed)
            }
        }
        summary.console = console
        if let telemetry = summary.telemetry {
            var command = "\(ReadySummary.shellWord(executable)) top --attach \(ReadySummary.host):\(telemetry.hostPort)"
            if let console { command += " --console \(ReadySummary.shellWord(console.description))" }
            summary.attachCommand = command
        }
        return summary
    }
}
