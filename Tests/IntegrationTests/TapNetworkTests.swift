import Foundation
import SkerryKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Runs a command to completion and returns its exit status and output.
func shell(_ executable: String, _ arguments: [String]) -> (Int32, String) {
    guard let result = try? CapturedRun.run(executable, arguments) else { return (-1, "") }
    if case .exited(let code) = result.termination { return (code, result.output) }
    return (-1, result.output)
}

final class TapProbe: @unchecked Sendable {
    var pings: [(String, Int32, String)] = []
    var udp: (Int32, String) = (-1, "")
}

/// Tap mode needs root (CI runs as root; SkerryKitTests cover the refusal).
@Suite(.serialized) struct TapNetworkTests {
    static let isRoot = geteuid() == 0

    static func namespaces() -> String { shell(findExecutable("ip") ?? "/usr/sbin/ip", ["netns", "list"]).1 }

    @Test(.enabled(if: isRoot, "tap networking needs root"))
    func everyNICAnswersPingAndUDPInsideTheNamespace() throws {
        let probe = TapProbe()
        var namespace: String?
        var started = false
        let run = SkerryCLI.boot(["--network", "tap", "--input", "--timeout", "120"], keepInputOpen: true, timeout: 150) { line, child in
            guard let event = SkerryCLI.event(line) else { return }
            if event["event"] as? String == "namespace" { namespace = event["name"] as? String }
            guard !started, let namespace, (event["line"] as? String)?.hasPrefix("arp: private gateway") == true else { return }
            started = true
            let input = child.standardInput
            Thread.detachNewThread {
                let ip = findExecutable("ip") ?? "/usr/sbin/ip"
                for address in ["10.0.1.15", "10.0.2.15", "10.0.3.15"] {
                    let (code, output) = shell(ip, ["netns", "exec", namespace, "ping", "-c", "3", "-i", "0.2", "-W", "2", address])
                    probe.pings.append((address, code, output))
                }
                let script = """
                    import socket
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
                    ok = 0
                    for i in range(1000):
                        m = i.to_bytes(4, 'big') * (1 + i % 300)
                        s.sendto(m, ('10.0.1.15', 7))
                        if s.recvfrom(2048)[0] == m: ok += 1
                    print(ok)
                    """
                probe.udp = shell(ip, ["netns", "exec", namespace, "python3", "-c", script])
                let commands = "netstat\nshutdown\n"
                _ = commands.withCString { write(input, $0, strlen($0)) }
            }
        }
        let name = try #require(namespace)
        #expect(name.hasPrefix("skerry-"))
        #expect(run.code == 0, "\(run.stderr)")
        #expect(probe.pings.count == 3)
        for (address, code, output) in probe.pings {
            #expect(code == 0 && output.contains("3 received"), "ping \(address): \(output)")
        }
        #expect(probe.udp.0 == 0 && probe.udp.1.trimmingCharacters(in: .whitespacesAndNewlines) == "1000", "\(probe.udp)")
        #expect(run.consoleLines.contains { $0.hasPrefix("stack: ") && $0.contains("icmp-echo-replies=9") && $0.contains("udp-delivered=1000") })
        #expect(!Self.namespaces().contains(name), "the namespace outlived the boot")
    }

    /// The appliance's TCP against Linux's, clean, under 5% loss each way,
    /// and through a SYN flood (Scripts/tcp_interop.py runs in the namespace).
    @Test(.enabled(if: isRoot, "tap networking needs root"))
    func linuxTCPInteroperatesThroughLossAndASynFlood() throws {
        try #require(findExecutable("nft") != nil, "nftables is missing (scripts/setup installs it)")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scripts/tcp_interop.py").path
        let output = Box("")
        let run = withAppliance(["--network", "tap"], timeout: 400) { _, namespace in
            guard let namespace else { return }
            let ip = findExecutable("ip") ?? "/usr/sbin/ip"
            output.value = shell(ip, ["netns", "exec", namespace, "python3", script]).1
        }
        #expect(run.code == 0, "\(run.stderr.suffix(500))")
        let line = output.value.split(separator: "\n").last.map(String.init) ?? ""
        let results = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(output.value)")
        #expect((results["clean"] as? [String: Any])?["intact"] as? Bool == true, "\(results)")
        #expect((results["lossy"] as? [String: Any])?["intact"] as? Bool == true, "\(results)")
        #expect((results["dropped"] as? Int ?? 0) > 0, "nftables dropped nothing")
        #expect((results["after_flood"] as? [String: Any])?["intact"] as? Bool == true, "\(results)")
        #expect((results["new_after_flood"] as? [String: Any])?["intact"] as? Bool == true, "\(results)")
        let stack = run.consoleLines.last { $0.hasPrefix("stack:") } ?? ""
        #expect(stack.contains("tcp-retransmissions="), "loss must have cost retransmissions: \(stack)")
        #expect(stack.contains("tcp-syn-cookies-sent="), "the flood must have been met with cookies: \(stack)")
    }

    @Test(.enabled(if: isRoot, "tap networking needs root"))
    func aSignalStillRemovesTheNamespace() throws {
        var namespace: String?
        let run = SkerryCLI.boot(["--network", "tap", "--timeout", "60"]) { line, child in
            guard let event = SkerryCLI.event(line) else { return }
            if event["event"] as? String == "namespace" { namespace = event["name"] as? String }
            if (event["line"] as? String) == "skerry: ready" { child.send(SIGTERM) }
        }
        let name = try #require(namespace)
        #expect(run.code == 130)
        #expect(!Self.namespaces().contains(name))
    }
}
