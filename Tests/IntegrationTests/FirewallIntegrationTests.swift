import Foundation
import SkerryKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

final class FirewallScenario: @unchecked Sendable {
    var allowed: String?
    var blockedConnected = false
    var blockedAnswered = false
    var adminRefusedQuickly = false
    var echoes: UDPEchoClient.Result?
    var heapLines: [String] = []
    let lock = NSLock()
}

/// The web sample's compiled firewall, from outside: what it lets through,
/// what it drops, what it refuses, and the counters that show it.
@Suite(.serialized) struct FirewallIntegrationTests {
    static let sample = SkerryCLI.packageRoot.appendingPathComponent("Samples/web").path

    @Test func theWebSampleFirewallAllowsTheServiceBlocksSSHAndRefusesAdminFromThePublicSide() throws {
        sampleBackendPorts.lock()
        defer { sampleBackendPorts.unlock() }
        let backends = BackendProcess.webSample()
        for backend in backends { try backend.start() }
        defer { for backend in backends { backend.stop() } }

        let scenario = FirewallScenario()
        var ports: [UInt16: UInt16] = [:]
        var adminUDP: UInt16?
        var started = false
        let run = SkerryCLI.run(
            ["boot", Self.sample, "--accel", "tcg", "--json", "--forward", "public:tcp:80", "--forward", "public:tcp:22",
             "--forward", "public:tcp:7", "--input", "--timeout", "180"],
            keepInputOpen: true, timeout: 210
        ) { line, child in
            guard let event = SkerryCLI.event(line) else { return }
            if event["event"] as? String == "forward", event["role"] as? String == "admin", event["transport"] as? String == "udp",
                let host = event["hostPort"] as? Int
            {
                adminUDP = UInt16(host)
            }
            if let console = event["line"] as? String, console.hasPrefix("heap: used ") {
                scenario.lock.withLock { scenario.heapLines.append(console) }
            }
            if event["event"] as? String == "forward", event["role"] as? String == "public",
                let guest = event["guestPort"] as? Int, let host = event["hostPort"] as? Int
            {
                ports[UInt16(guest)] = UInt16(host)
            }
            guard !started, (event["line"] as? String)?.hasSuffix("web/web3 is UP") == true,
                let web = ports[80], let ssh = ports[22], let admin = ports[7], let echo = adminUDP
            else { return }
            started = true
            let input = child.standardInput
            Thread.detachNewThread {
                scenario.allowed = fetchBackendName(port: web)
                // SSH is dropped: the guest never answers, so nothing comes back.
                if let fd = try? TCPTestClient.connect(port: ssh, timeout: 3) {
                    scenario.blockedConnected = true
                    var timeout = timeval(tv_sec: 2, tv_usec: 0)
                    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                    _ = "SSH-2.0-probe\r\n".withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
                    var byte: UInt8 = 0
                    scenario.blockedAnswered = recv(fd, &byte, 1, 0) > 0
                    close(fd)
                }
                // The admin echo port through the public side is refused with a reset.
                let start = Date()
                if let fd = try? TCPTestClient.connect(port: admin, timeout: 5) {
                    var byte: UInt8 = 0
                    let result = recv(fd, &byte, 1, 0)
                    scenario.adminRefusedQuickly = result <= 0 && Date().timeIntervalSince(start) < 3
                    close(fd)
                } else {
                    scenario.adminRefusedQuickly = Date().timeIntervalSince(start) < 3
                }
                // Echoes from the host through the admin rules, in and out,
                // between two heap readings.
                func heapReading(_ count: Int) {
                    _ = "heap\n".withCString { write(input, $0, strlen($0)) }
                    for _ in 0..<500 where scenario.lock.withLock({ scenario.heapLines.count }) < count { usleep(10_000) }
                }
                heapReading(1)
                scenario.echoes = UDPEchoClient(port: echo, count: 5_000).run()
                heapReading(2)
                _ = "rules\nnetstat\nshutdown\n".withCString { write(input, $0, strlen($0)) }
            }
        }
        #expect(run.code == 0, "\(run.stderr.suffix(800))")
        #expect(started, "the appliance never became ready")
        #expect(scenario.allowed?.hasPrefix("web") == true, "the service port works through the firewall")
        #expect(!scenario.blockedAnswered, "a dropped SSH connection got an answer")
        #expect(scenario.adminRefusedQuickly, "admin from the public side is refused at once")
        let rules = run.consoleLines
        func packets(_ rule: String) -> Int? {
            guard let line = rules.last(where: { $0.hasPrefix(rule + " ") }) else { return nil }
            return line.split(separator: " ").dropFirst(2).first.flatMap { Int($0) }
        }
        #expect((packets("block-ssh") ?? 0) >= 1, "block-ssh counted the dropped SYNs: \(rules.filter { $0.hasPrefix("block-ssh") })")
        #expect((packets("admin-on-public") ?? 0) >= 1, "admin-on-public counted the refusal")
        #expect((packets("web") ?? 0) >= 1, "the web rule counted the allowed connection")
        #expect(rules.contains { $0.hasPrefix("firewall: block-ssh drop in on public tcp ") && $0.hasSuffix(":22 new") },
                "the logged rule reports its match on the console")
        let stack = rules.last { $0.hasPrefix("stack:") } ?? ""
        #expect(stack.contains("firewall-dropped="), "\(stack)")
        #expect(scenario.echoes?.matched == 5_000, "admin from the host passes: \(String(describing: scenario.echoes))")
        #expect((packets("admin-from-host") ?? 0) >= 5_000)
        // 10,000 filtering decisions (each echo in and out) leave the heap's
        // allocation count where the health checks running meanwhile put it.
        let allocations = scenario.heapLines.compactMap { line -> Int? in
            guard let range = line.range(of: "allocations ") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
        #expect(allocations.count >= 2 && allocations[1] - allocations[0] < 100, "allocations before and after: \(allocations)")
    }

    /// Five thousand generated rules compile into an image that boots.
    @Test func theLargeSampleBuildsAndBoots() {
        let run = SkerryCLI.run(
            ["boot", SkerryCLI.packageRoot.appendingPathComponent("Samples/large").path, "--accel", "tcg", "--json",
             "--append", "shutdown-after=1000", "--timeout", "600"],
            timeout: 900)
        #expect(run.code == 0, "\(run.stderr.suffix(800))")
        #expect(run.consoleLines.contains { $0.hasPrefix("firewall: ") && $0.contains(" rules;") })
    }
}
