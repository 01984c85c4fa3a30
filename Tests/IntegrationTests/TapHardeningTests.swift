import Foundation
import KernelCore
import SkerryKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Hostile clients on the appliance's own networks: the web sample in tap
/// mode, attacked from inside the namespace by Scripts/hardening_tap.py.
@Suite(.serialized) struct TapHardeningTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Scripts/hardening_tap.py").path

    @Test(.enabled(if: TapNetworkTests.isRoot, "tap networking needs root"))
    func theWebSampleSurvivesSpoofingBlindResetsMartiansIdleAdminAndTokenGuessing() throws {
        try #require(findExecutable("hping3") != nil, "hping3 is missing (scripts/setup installs it)")
        let hello = TelemetryDecoder.clientHello.map { String(format: "%02x", $0) }.joined()
        let adminFrame = TelemetryProtocol.MessageType.admin.rawValue
        let (run, results) = try TapScriptRun(
            script: Self.script,
            arguments: ["hello=\(hello)", "admin-frame=\(adminFrame)", "martians", "blind-rst", "token-guessing", "idle-admin", "syn-flood"],
            commands: "netstat\nconns\nshutdown\n", timeout: 400).run()

        // Martians: no reply on the wire; the control ping is answered, so the sniffer works.
        let martians = try #require(results["martians"] as? [String: Any], "\(results)")
        #expect((martians["control-ping"] as? [String])?.isEmpty == false, "the control ping got no reply: \(martians)")
        for (probe, replies) in martians where probe != "control-ping" {
            #expect((replies as? [String])?.isEmpty == true, "\(probe) was answered: \(String(describing: replies))")
        }

        // Blind RST and FIN, wrong sequence or checksum: the flows keep their state.
        let blind = try #require(results["blind-rst"] as? [String: Any], "\(results)")
        #expect(blind["opened"] as? Int == 5, "\(blind)")
        #expect(blind["active_after"] as? Double == blind["active_before"] as? Double, "\(blind)")
        #expect(blind["still_echo"] as? Int == 5, "\(blind)")

        // Token guessing: the limiter engages and the counter rises.
        let guessing = try #require(results["token-guessing"] as? [String: Any], "\(results)")
        #expect(guessing["results"] as? Int == 50, "every guess is answered: \(guessing)")
        #expect(guessing["codes"] as? [Int] == [Int(TelemetryProtocol.ResultCode.unauthorized.rawValue)], "\(guessing)")
        #expect(guessing["token_failures"] as? Double == 5, "five checked failures a second, then a wait: \(guessing)")
        #expect(guessing["rate_limited"] as? Double == 45, "\(guessing)")
        #expect(run.consoleLines.contains { $0.hasPrefix("admin: unauthorized admin action from 10.0.1.2 (")  },
                "the guessing is reported on the console")

        // 300 held idle admin connections: checks keep the backends UP, requests succeed.
        let idle = try #require(results["idle-admin"] as? [String: Any], "\(results)")
        #expect(idle["succeeded"] as? Int == 20, "\(idle)")
        #expect(idle["backends_up"] as? Double == 3, "\(idle)")
        #expect(idle["metrics_reachable"] as? Bool == true, "\(idle)")
        #expect(!run.consoleLines.contains { $0.contains(" is DOWN") }, "a backend went DOWN")

        // 1,000 spoofed SYN/s for 30 s: at least 99% of legitimate requests succeed.
        let flood = try #require(results["syn-flood"] as? [String: Any], "\(results)")
        let attempted = flood["attempted"] as? Int ?? 0
        let succeeded = flood["succeeded"] as? Int ?? 0
        #expect(attempted >= 100, "\(flood)")
        #expect(Double(succeeded) >= 0.99 * Double(attempted), "\(flood)")
    }
}
