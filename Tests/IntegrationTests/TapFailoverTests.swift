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
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Scripts/failover_tap.py").path
    /// Samples/web's service: the default connect timeout.
    static let connectTimeout = 1.0
    /// Slack for one TCG round trip and the client's own scheduling on a shared machine.
    static let latencyMargin = 0.5

    @Test(.enabled(if: TapNetworkTests.isRoot, "tap networking and nftables in the namespace need root"))
    func aSilentOrUnreachableBackendCostsNoRequest() throws {
        try #require(findExecutable("nft") != nil, "nft is missing (the nftables package)")
        let (run, results) = try TapScriptRun(script: Self.script, arguments: ["seconds=8", "black-hole", "port-unreachable"],
                                              commands: "backends\nshutdown\n", timeout: 150).run()
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
