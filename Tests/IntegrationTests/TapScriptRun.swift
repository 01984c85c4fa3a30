import Foundation
import SkerryKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The web sample booted in tap mode, with a Python script run inside its
/// namespace once the private gateway answers ARP: the script's last output
/// line is a JSON object of results. Afterwards `commands` are typed on the
/// serial console (they end with `shutdown`).
struct TapScriptRun {
    static let sample = SkerryCLI.packageRoot.appendingPathComponent("Samples/web").path

    let script: String
    let arguments: [String]
    let commands: String
    /// Seconds the VM may run.
    let timeout: Int

    /// The boot, and the script's results (a failure when it printed none).
    func run() throws -> (run: SkerryCLI.Run, results: [String: Any]) {
        let output = Box("")
        var namespace: String?
        var started = false
        let (script, arguments, commands) = (self.script, self.arguments, self.commands)
        let run = SkerryCLI.run(
            ["boot", Self.sample, "--accel", "tcg", "--json", "--network", "tap", "--input", "--timeout", "\(timeout)"],
            keepInputOpen: true, timeout: Double(timeout + 30)
        ) { line, child in
            guard let event = SkerryCLI.event(line) else { return }
            if event["event"] as? String == "namespace" { namespace = event["name"] as? String }
            guard !started, let name = namespace, (event["line"] as? String)?.hasPrefix("arp: private gateway") == true else { return }
            started = true
            let input = child.standardInput
            Thread.detachNewThread {
                let ip = findExecutable("ip") ?? "/usr/sbin/ip"
                output.value = shell(ip, ["netns", "exec", name, "python3", script] + arguments).1
                _ = commands.withCString { write(input, $0, strlen($0)) }
            }
        }
        #expect(run.code == 0, "\(run.stderr.suffix(800))")
        #expect(!run.consoleLines.contains { $0.contains("PANIC") })
        let line = output.value.split(separator: "\n").last.map(String.init) ?? ""
        let results = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(output.value)")
        return (run, results)
    }
}
