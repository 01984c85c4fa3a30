import Foundation
import KernelCore
import Testing
@testable import SkerryKit
#if canImport(Glibc)
import Glibc
#endif

/// The forwards an appliance boots with, how their host ports are chosen,
/// and the summary printed when it is ready.
@Suite struct BootPlanTests {
    static let web = ApplianceParserFixture.web

    @Test func anAppliancesServicesAndTelemetryComeFromItsDescription() throws {
        let plan = ApplianceBootPlan(description: Self.web)
        #expect(plan.endpoints.map(\.name) == ["web", "api", "telemetry", "echo", "echo", "discard", "chargen"])
        let forwards = plan.forwards(stableHostPorts: true)
        #expect(forwards.map(\.guestPort) == [80, 8443, 9100, Appliance.echoPort, Appliance.echoPort, Appliance.discardPort, Appliance.chargenPort])
        #expect(forwards.map(\.preferredHostPort) == [8080, 8443, 9180, nil, nil, nil, nil])
        #expect(plan.forwards(stableHostPorts: false).allSatisfy { $0.preferredHostPort == nil && $0.hostPort == 0 })
        #expect(ApplianceBootPlan(description: nil).endpoints.map(\.name) == ["echo", "echo", "discard", "chargen"],
                "an image without its description has the test services alone")
        #expect(ApplianceBootPlan.standalone.endpoints.map(\.name) == ["telemetry", "echo", "echo", "discard", "chargen"])
        #expect(ApplianceBootPlan.standalone.telemetry?.guestPort == ApplianceDescription().telemetryPort)
    }

    @Test func theReadySummaryNamesEveryAddressAndTheAttachCommand() throws {
        let plan = ApplianceBootPlan(description: Self.web)
        var forwards = plan.forwards(stableHostPorts: true)
        for index in forwards.indices { forwards[index].hostPort = forwards[index].preferredHostPort ?? UInt16(40000 + index) }
        // Echo over UDP and TCP on one host port; a --forward of the api port to a port of its own.
        forwards[4].hostPort = forwards[3].hostPort
        forwards[1].hostPort = 18443
        let summary = plan.readySummary(forwards: forwards, console: .unix(path: "/tmp/web console.sock"), executable: "skerry")
        #expect(summary.lines == [
            "service web on 127.0.0.1:8080",
            "service api on 127.0.0.1:18443",
            "telemetry on 127.0.0.1:9180",
            "echo on 127.0.0.1:40003 (tcp and udp), discard on 127.0.0.1:40005, chargen on 127.0.0.1:40006",
            "serial console on unix:/tmp/web console.sock",
            "watch it: skerry top --attach 127.0.0.1:9180 --console 'unix:/tmp/web console.sock'",
        ])
        let json = summary.json(time: 0.5)
        #expect(json["event"] as? String == "ready" && json["attach"] as? String == summary.attachCommand)
        let services = try #require(json["services"] as? [[String: Any]])
        #expect(services.map { $0["name"] as? String } == ["web", "api"] && services.map { $0["hostPort"] as? Int } == [8080, 18443])
        #expect((json["telemetry"] as? [String: Any])?["hostPort"] as? Int == 9180)
        #expect((json["testServices"] as? [[String: Any]])?.count == 4)

        let bare = plan.readySummary(forwards: forwards, console: nil, executable: ".build/debug/skerry")
        #expect(bare.lines.last == "watch it: .build/debug/skerry top --attach 127.0.0.1:9180   (boot with --console unix:PATH to type into its console from there too)")
        #expect(plan.readySummary(forwards: [], console: nil, executable: "skerry").lines.isEmpty, "tap mode forwards nothing")
    }

    @Test func aPreferredPortIsTakenWhenFreeAndReplacedWithANoteWhenNot() throws {
        let free = try HostPorts.free(.tcp)
        var networks = UserNetworks(model: .virtio, forwards: [
            PortForward(role: .admin, transport: .tcp, guestPort: 9100, preferredHostPort: free),
        ])
        #expect(try networks.resolvePorts().isEmpty)
        #expect(networks.forwards[0].hostPort == free)

        let busy = try Listener()
        var taken = UserNetworks(model: .virtio, forwards: [
            PortForward(role: .admin, transport: .tcp, guestPort: 9100, preferredHostPort: busy.port),
        ])
        let notes = try taken.resolvePorts()
        let chosen = taken.forwards[0].hostPort
        #expect(chosen != 0 && chosen != busy.port)
        #expect(notes == ["127.0.0.1:\(busy.port)/tcp is taken; admin tcp/9100 at 127.0.0.1:\(chosen)"])
    }

    @Test func aPortAnotherSkerryClaimedIsLeftToIt() throws {
        let port = try HostPorts.free(.tcp)
        // Another skerry's claim: the lock file, locked through its own open file.
        let fd = open(NSTemporaryDirectory() + "/skerry-port-tcp-\(port).lock", O_RDONLY | O_CREAT, 0o644)
        try #require(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
        defer { close(fd) }
        var networks = UserNetworks(model: .virtio, forwards: [PortForward(role: .public, transport: .tcp, guestPort: 80, preferredHostPort: port)])
        let notes = try networks.resolvePorts()
        #expect(networks.forwards[0].hostPort != port && notes.count == 1)
    }

    @Test func anExplicitPortWinsOverAPreferredOneAndUDPEchoSharesTCPEchosNumber() throws {
        let port = try HostPorts.free(.tcp)
        var networks = UserNetworks(model: .virtio, forwards: [
            PortForward(role: .admin, transport: .tcp, guestPort: 9100, preferredHostPort: port),
            try PortForward(parsing: "public:tcp:80:\(port)"),
            PortForward(role: .admin, transport: .tcp, guestPort: 7),
            PortForward(role: .admin, transport: .udp, guestPort: 7),
        ])
        let notes = try networks.resolvePorts()
        #expect(networks.forwards[1].hostPort == port)
        #expect(networks.forwards[0].hostPort != port && notes.count == 1)
        #expect(networks.forwards[3].hostPort == networks.forwards[2].hostPort)
    }

    @Test func anOutcomeReadsAsOneSentence() {
        func result(_ outcome: BootOutcome, _ detail: String) -> BootResult {
            BootResult(outcome: outcome, detail: detail, qemuTermination: nil, elapsed: 1, readyAfter: nil, lastConsoleLines: [])
        }
        #expect(result(.untilMatched, "--until matched \"skerry: ready\"").sentence == "--until matched \"skerry: ready\"; the VM was stopped")
        #expect(result(.timeout, "--timeout expired after 5.0 s").sentence == "--timeout expired after 5.0 s; the VM was stopped")
        #expect(result(.kernelPanic, "page fault").sentence == "the kernel panicked: page fault")
        #expect(result(.cleanShutdown, "").sentence == "the kernel shut down cleanly")
    }

    /// A loopback TCP listener on a port the kernel picks.
    final class Listener {
        let fd: Int32
        let port: UInt16
        init() throws {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            self.fd = fd
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let ok = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
            }
            try #require(ok && listen(fd, 1) == 0)
            port = UInt16(bigEndian: address.sin_port)
        }
        deinit { close(fd) }
    }
}

enum ApplianceParserFixture {
    /// Two services, one below 1024 and one above, and a telemetry port.
    static let web: ApplianceDescription = {
        let text = """
            appliance web
            service web {
                port 80
                backend web1 10.0.3.2:8081
            }
            service api {
                port 8443
                backend api1 10.0.3.2:9001
            }
            admin {
                telemetry-port 9100
            }
            """
        return try! ApplianceParser.parse(file: "web.conf", text: text)
    }()
}
