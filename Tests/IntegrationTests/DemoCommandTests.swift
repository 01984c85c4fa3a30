import Foundation
import SkerryKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `skerry demo` as a newcomer runs it: in a terminal, from the tree.
@Suite(.serialized) struct DemoCommandTests {
    /// Traffic starts only once every backend is UP, so nothing is refused
    /// for want of a backend; top's options reach the VM; Ctrl-C exits 130.
    @Test func demoSendsTrafficOnlyToUpBackendsAndExits130OnCtrlC() throws {
        sampleBackendPorts.lock()
        defer { sampleBackendPorts.unlock() }
        let terminal = TmuxTerminal()
        defer { terminal.stop() }
        terminal.start("cd \(SkerryCLI.packageRoot.path) && LANG=C.UTF-8 \(SkerryCLI.executable) demo --accel tcg --interval 0.5 "
            + "--memory 192 --read-only --token unused-token; echo SKERRY-DEMO-EXITED $?; sleep 60")
        let (opened, first) = terminal.wait(300) { $0.contains("1 Overview") }
        #expect(opened, "the dashboard never appeared:\n\(first)")
        guard opened else { return }
        let skerry = childProcesses(of: terminal.panePID ?? -1).first { processName($0) == "skerry" }
        let qemu = skerry.flatMap { childProcesses(of: $0).first { processName($0).hasPrefix("qemu") } }
        let commandLine = qemu.flatMap { try? String(contentsOfFile: "/proc/\($0)/cmdline", encoding: .utf8) }?
            .split(separator: "\0").map(String.init) ?? []
        #expect(commandLine.contains("192"), "--memory reaches QEMU: \(commandLine)")

        // "active connections  N  (total T, refused R)": wait for traffic, then read the refusals.
        func figures(_ screen: String) -> (total: String, refused: Int)? {
            guard let match = screen.firstMatch(of: /\(total ([0-9.]+[KMGT]?), refused ([0-9]+)\)/) else { return nil }
            return (String(match.1), Int(match.2) ?? -1)
        }
        let (flowing, screen) = terminal.wait(180) { screen in
            guard let figures = figures(screen) else { return false }
            return figures.total != "0"
        }
        #expect(flowing, "no traffic went through the balancer:\n\(screen)")
        #expect(figures(screen)?.refused == 0, "connections were refused:\n\(screen)")
        #expect(!screen.contains("no-backend"), "a no-backend limit was hit:\n\(screen)")

        terminal.keys("C-c")
        let (exited, last) = terminal.wait(30) { $0.contains("SKERRY-DEMO-EXITED") }
        #expect(exited && last.contains("SKERRY-DEMO-EXITED 130"), "\(last)")
        if let qemu { #expect(kill(qemu, 0) != 0, "QEMU \(qemu) is still running") }
    }
}
