import Foundation
import SkerryKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Backends that fail without a reset, on the appliance's own networks: the
/// web sample in tap mode, with web2 black-holed and then answering ICMP
/// port unreachable through nftables inside the test's namespace
/// (Scripts/failover_tap.py runs the backends and the client there).
@Suite(.serialized) struct TapFailoverTests {
    static let sample = SkerryCLI.packageRoot.appendingPathComponent("Samples/web").path
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Scripts/failover_tap.py").path
    /// Samples/web's service: the default connect timeout.
    static let connectTimeout = 1.0
    /// Slack for one TCG round trip and the client's own scheduling on a shared machine.
    static let latencyMargin = 0.5

    @Test(.enabled(if: TapNetworkTests.isRoot, "tap networking and nftables in the namespace need root"))
    func aSilentOrUnreachableBackendCostsNoRequest() throws {
        try #require(findExecutable("nft") != nil, "nft is missing (the nftables package)")
        let output = Box("")
        var namespace: String?
        var started = false
        let run = SkerryCLI.run(
            ["boot", Self.sample, "--accel", "tcg", "--json", "--network", "tap", "--input", "--timeout", "150"],
            keepInputOpen: true, timeout: 170
        ) { line, child in
            guard let event = SkerryCLI.event(line) else { return }
            if event["event"] as? String == "namespace" { namespace = event["name"] as? String }
            guard !started, let name = namespace, (event["line"] as? String)?.hasPrefix("arp: private gateway") == true else { return }
            started = true
            let input = child.standardInput
            Thread.detachNewThread {
                let ip = findExecutable("ip") ?? "/usr/sbin/ip"
                output.value = shell(ip, ["netns", "exec", name, "python3", Self.script, "seconds=8", "black-hole", "port-unreachable"]).1
                _ = "backends\nshutdown\n".withCString { write(input, $0, strlen($0)) }
            }
        }
        #expect(run.code == 0, "\(run.stderr.suffix(800))")
        #expect(!run.consoleLines.contains { $0.contains("PANIC") })
        let line = output.value.split(separator: "\n").last.map(String.init) ?? ""
        let results = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(output.value)")
        #expect(results["error"] == nil, "\(results)")
        for scenario in ["black-hole", "port-unreachable"] {
            let result = try #require(results[scenario] as? [String: Any], "\(results)")
            let sent = result["sent"] as? Int ?? 0
            #expect(sent >= 10, "\(scenario): \(result)")
            #expect(result["failed"] as? Int == 0, "\(scenario): requests failed: \(result)")
            #expect(result["back"] as? Bool == true, "\(scenario): web2 serves again once the rule is gone: \(result)")
            let before = result["median_before"] as? Double ?? 0
            let slowest = result["slowest_after"] as? Double ?? .infinity
            #expect(slowest - before <= Self.connectTimeout + Self.latencyMargin,
                    "\(scenario): the slowest affected request took \(slowest) s against \(before) s before: \(result)")
        }
        #expect(run.consoleLines.contains { $0.contains("web/web2 is DOWN") }, "web2 left the rotation")
    }
}
