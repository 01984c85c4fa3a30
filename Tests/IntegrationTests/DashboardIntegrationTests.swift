import Foundation
import KernelCore
import SkerryKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `skerry top` as a person uses it: in a terminal (tmux, on a server of its
/// own), with keys sent and the screen read back.
final class TmuxTerminal {
    let server = "skerry-test-\(getpid())-\(UInt32.random(in: 0..<UInt32.max))"
    let session = "top"

    static let executable = findExecutable("tmux") ?? "/usr/bin/tmux"

    /// Runs a tmux command against our server and returns what it printed.
    @discardableResult
    func tmux(_ arguments: [String]) -> String {
        (try? CapturedRun.run(Self.executable, ["-L", server] + arguments))?.output ?? ""
    }

    /// Starts the server and the session; the server keeps the client's
    /// output open, so this waits for the client to exit rather than for end of file.
    func start(_ command: String, width: Int = 120, height: Int = 40) {
        guard let client = try? ChildProcess.spawn(
            executable: Self.executable,
            arguments: ["-L", server, "new-session", "-d", "-s", session, "-x", "\(width)", "-y", "\(height)", command],
            newProcessGroup: false)
        else { return }
        client.closeInput()
        _ = client.wait(timeout: 10)
    }

    func keys(_ keys: String...) { tmux(["send-keys", "-t", session] + keys) }

    var screen: String { tmux(["capture-pane", "-p", "-t", session]) }

    /// Waits until the screen satisfies `condition`; returns the last screen either way.
    @discardableResult
    func wait(_ seconds: Double, until condition: (String) -> Bool) -> (Bool, String) {
        let deadline = Date().addingTimeInterval(seconds)
        var last = screen
        while Date() < deadline {
            last = screen
            if condition(last) { return (true, last) }
            usleep(200_000)
        }
        return (false, last)
    }

    /// The process running in the pane's shell: `skerry top`, and its children.
    var panePID: Int32? { Int32(tmux(["display-message", "-p", "-t", session, "#{pane_pid}"]).trimmingCharacters(in: .whitespacesAndNewlines)) }

    func stop() { tmux(["kill-server"]) }
}

/// Children of `pid`, from /proc.
func childProcesses(of pid: Int32) -> [Int32] {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
    return entries.compactMap { Int32($0) }.filter { child in
        guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 2 && Int32(fields[1]) == pid
    }
}

func processName(_ pid: Int32) -> String {
    ((try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
}

@Suite(.serialized) struct DashboardIntegrationTests {
    static let sample = SkerryCLI.packageRoot.appendingPathComponent("Samples/web").path

    /// The PACKETS count of `rule`'s row in the Firewall view (`#`, RULE, ACTION, PACKETS, ...).
    static func ruleHits(_ screen: String, rule: String) -> Int? {
        let fields = screen.split(separator: "\n").map { $0.split(separator: " ") }.first { $0.count > 3 && $0[1] == rule }
        return fields.flatMap { Int($0[3]) }
    }

    /// The number in `column` (0-based, by whitespace) of the screen line starting with `prefix`.
    static func number(_ screen: String, row prefix: String, column: Int) -> Int? {
        guard let line = screen.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return nil }
        let fields = line.split(separator: " ")
        return column < fields.count ? Int(fields[column]) : nil
    }

    @Test func topBootsWatchesDrainsAndQuitsCleanly() throws {
        sampleBackendPorts.lock()
        defer { sampleBackendPorts.unlock() }
        let backends = BackendProcess.webSample()
        for backend in backends { try backend.start() }
        defer { for backend in backends { backend.stop() } }

        let terminal = TmuxTerminal()
        defer { terminal.stop() }
        let command = "LANG=C.UTF-8 \(SkerryCLI.executable) top \(Self.sample) --accel tcg --interval 0.5 "
            + "--forward public:tcp:22; echo SKERRY-TOP-EXITED $?; sleep 60"
        terminal.start(command)
        // The kernel builds first; keys typed before the dashboard is up would reach the shell.
        let (opened, first) = terminal.wait(300) { $0.contains("1 Overview") }
        #expect(opened, "the dashboard never appeared:\n\(first)")
        guard opened else { return }

        // Three backends UP in the Backends view.
        terminal.keys("2")
        let (up, upScreen) = terminal.wait(90) { screen in
            ["web/web1", "web/web2", "web/web3"].allSatisfy { name in
                screen.split(separator: "\n").contains { $0.hasPrefix(" \(name)") && $0.contains(" UP ") }
            }
        }
        #expect(up, "backends never showed UP:\n\(upScreen)")
        guard up else { return }
        let skerry = childProcesses(of: terminal.panePID ?? -1).first { processName($0) == "skerry" }
        let qemu = skerry.flatMap { childProcesses(of: $0).first { processName($0).hasPrefix("qemu") } }
        #expect(qemu != nil, "skerry top runs QEMU")

        // The forwards, from the Console view.
        terminal.keys("5")
        let (_, consoleScreen) = terminal.wait(10) { $0.contains("public tcp 22 is 127.0.0.1:") }
        func forward(_ guest: Int) -> UInt16? {
            guard let range = consoleScreen.range(of: "public tcp \(guest) is 127.0.0.1:") else { return nil }
            return UInt16(consoleScreen[range.upperBound...].prefix { $0.isNumber })
        }
        let web = try #require(forward(80), "\(consoleScreen)")
        let ssh = try #require(forward(22), "\(consoleScreen)")

        // Counters rise after traffic. At 120 columns TOTAL is the sixth: name, state, admin, weight, active, total.
        terminal.keys("2")
        let before = terminal.wait(5) { Self.number($0, row: " web/web1", column: 5) != nil }.1
        let total = try #require(Self.number(before, row: " web/web1", column: 5), "\(before)")
        for _ in 0..<6 { _ = HTTPProbe.exchange(port: web, path: "/", timeout: 5) }
        let (rose, afterTraffic) = terminal.wait(10) { (Self.number($0, row: " web/web1", column: 5) ?? 0) >= total + 2 }
        #expect(rose, "web1's total did not rise:\n\(afterTraffic)")

        // A blocked connection shows as block-ssh hits.
        terminal.keys("3")
        let hitsBefore = terminal.wait(5) { Self.ruleHits($0, rule: "block-ssh") != nil }.1
        let blocked = Self.ruleHits(hitsBefore, rule: "block-ssh") ?? -1
        if let fd = try? TCPTestClient.connect(port: ssh, timeout: 2) { close(fd) }
        let (hit, afterBlock) = terminal.wait(15) { (Self.ruleHits($0, rule: "block-ssh") ?? -1) > blocked }
        #expect(blocked >= 0 && hit, "block-ssh hits did not rise from \(blocked):\n\(afterBlock)")

        // Help opens and closes.
        terminal.keys("?")
        #expect(terminal.wait(5) { $0.contains("Keys") && $0.contains("restart the VM (asks first)") }.0)
        terminal.keys("Space")
        #expect(terminal.wait(5) { !$0.contains("restart the VM (asks first)") }.0)

        // Drain web2 from the Backends view, with confirmation.
        terminal.keys("2")
        terminal.keys("Home")
        terminal.keys("Down")
        terminal.keys("d")
        #expect(terminal.wait(5) { $0.contains("Drain web/web2?") }.0)
        terminal.keys("y")
        let (drained, drainScreen) = terminal.wait(10) { screen in
            screen.split(separator: "\n").contains { $0.hasPrefix(" web/web2") && $0.contains(" DRAIN ") }
        }
        #expect(drained, "web2 never showed DRAIN:\n\(drainScreen)")

        // At 80x24 the Backends view keeps the failover columns: each backend's redispatches and its check's reason.
        terminal.tmux(["resize-window", "-t", terminal.session, "-x", "80", "-y", "24"])
        let reasons = HealthCheckOutcome.allCases.map { "\($0.name)" }
        let (narrow, narrowScreen) = terminal.wait(10) { screen in
            let lines = screen.split(separator: "\n")
            return lines.contains { $0.contains("REDISP") && $0.contains("CHECK") && $0.contains("MODE") }
                && ["web/web1", "web/web2", "web/web3"].allSatisfy { name in
                    lines.contains { line in line.hasPrefix(" \(name)") && reasons.contains { line.contains(" \($0)") } }
                }
        }
        #expect(narrow, "the failover columns at 80x24:\n\(narrowScreen)")

        // A terminal too small says so, and the dashboard comes back when it grows.
        terminal.tmux(["resize-window", "-t", terminal.session, "-x", "60", "-y", "20"])
        let (small, smallScreen) = terminal.wait(10) { $0.contains("Terminal too small") && $0.contains("need 80×24, have 60×20") }
        #expect(small, "\(smallScreen)")
        terminal.tmux(["resize-window", "-t", terminal.session, "-x", "120", "-y", "40"])
        #expect(terminal.wait(10) { $0.contains("1 Overview") }.0)

        // Restart, with confirmation: a fresh VM, web2 enabled again and every backend UP.
        terminal.keys("r")
        #expect(terminal.wait(5) { $0.contains("Restart the VM?") }.0)
        terminal.keys("y")
        let (restarted, restartScreen) = terminal.wait(90) { screen in
            let lines = screen.split(separator: "\n")
            return ["web/web1", "web/web2", "web/web3"].allSatisfy { name in
                lines.contains { $0.hasPrefix(" \(name)") && $0.contains(" UP ") && $0.contains(" enabled ") }
            }
        }
        #expect(restarted, "after a restart every backend is UP and enabled:\n\(restartScreen)")
        let newQEMU = skerry.flatMap { childProcesses(of: $0).first { processName($0).hasPrefix("qemu") } }
        #expect(newQEMU != nil && newQEMU != qemu, "a new QEMU runs")
        if let qemu { #expect(kill(qemu, 0) != 0, "the old QEMU is gone") }

        // q restores the terminal and leaves no QEMU behind.
        terminal.keys("q")
        let (exited, finalScreen) = terminal.wait(30) { $0.contains("SKERRY-TOP-EXITED") }
        #expect(exited && finalScreen.contains("SKERRY-TOP-EXITED 0"), "\(finalScreen)")
        #expect(!finalScreen.contains("1 Overview"), "the dashboard is gone from the terminal:\n\(finalScreen)")
        if let newQEMU { #expect(kill(newQEMU, 0) != 0, "QEMU \(newQEMU) is still running") }
    }
}

/// `skerry top --read-only` as an operator who tries to change things anyway.
@Suite(.serialized) struct DashboardReadOnlyTests {
    @Test func readOnlyConsoleLineChangesNothing() throws {
        sampleBackendPorts.lock()
        defer { sampleBackendPorts.unlock() }
        let backends = BackendProcess.webSample()
        for backend in backends { try backend.start() }
        defer { for backend in backends { backend.stop() } }

        let terminal = TmuxTerminal()
        defer { terminal.stop() }
        terminal.start("LANG=C.UTF-8 \(SkerryCLI.executable) top \(DashboardIntegrationTests.sample) --accel tcg --interval 0.5 --read-only"
            + "; echo SKERRY-TOP-EXITED $?; sleep 60")
        let (opened, first) = terminal.wait(300) { $0.contains("1 Overview") }
        #expect(opened, "the dashboard never appeared:\n\(first)")
        guard opened else { return }
        func web1(_ screen: String) -> Substring? { screen.split(separator: "\n").first { $0.hasPrefix(" web/web1") } }
        terminal.keys("2")
        let (up, upScreen) = terminal.wait(90) { web1($0).map { $0.contains(" UP ") && $0.contains(" enabled ") } ?? false }
        #expect(up, "web1 never showed UP and enabled:\n\(upScreen)")
        guard up else { return }
        let skerry = childProcesses(of: terminal.panePID ?? -1).first { processName($0) == "skerry" }
        let qemu = try #require(skerry.flatMap { childProcesses(of: $0).first { processName($0).hasPrefix("qemu") } }, "skerry top runs QEMU")

        terminal.keys("5")
        for line in ["drain web/web1", "shutdown"] {
            terminal.keys("i")
            terminal.tmux(["send-keys", "-t", terminal.session, "-l", line])
            terminal.keys("Enter")
            let command = line.prefix { $0 != " " }
            let (refused, refusedScreen) = terminal.wait(5) { $0.contains("read-only: '\(command)' refused") }
            #expect(refused, "no refusal shown for \(line):\n\(refusedScreen)")
        }
        // A reporting command still reaches the shell (the Console view shows only console lines).
        terminal.keys("i")
        terminal.tmux(["send-keys", "-t", terminal.session, "-l", "backends"])
        terminal.keys("Enter")
        let (reported, reportScreen) = terminal.wait(15) { screen in
            screen.split(separator: "\n").contains { $0.contains("web/web1") && $0.contains("enabled") }
        }
        #expect(reported, "backends on the shell shows web1 enabled:\n\(reportScreen)")

        // Give a drain or a shutdown time to show, then look: web1 enabled, the VM running.
        sleep(3)
        terminal.keys("2")
        let (enabled, backendsScreen) = terminal.wait(10) { web1($0).map { $0.contains(" enabled ") } ?? false }
        #expect(enabled && !backendsScreen.contains("DRAIN"), "web1 is still enabled:\n\(backendsScreen)")
        #expect(kill(qemu, 0) == 0, "QEMU still runs")
        #expect(backendsScreen.contains(" running ") && !backendsScreen.contains("EXITED"), "\(backendsScreen)")

        terminal.keys("q")
        let (exited, finalScreen) = terminal.wait(30) { $0.contains("SKERRY-TOP-EXITED") }
        #expect(exited && finalScreen.contains("SKERRY-TOP-EXITED 0"), "\(finalScreen)")
    }
}

/// `skerry top --attach` with `--console`: a synthetic appliance's telemetry
/// stream on loopback, and a serial console on a Unix socket this test serves.
@Suite(.serialized) struct DashboardAttachTests {
    final class ConsoleSocket: @unchecked Sendable {
        let path: String
        let listener: Int32
        private let lock = NSLock()
        private var received = ""
        private var client: Int32 = -1

        init() throws {
            path = NSTemporaryDirectory() + "skerry-console-\(getpid())-\(UInt32.random(in: 0..<UInt32.max)).sock"
            let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            self.listener = listener
            let bound = UnixSocketAddress.bind(listener, to: path)
            guard bound == 0, listen(listener, 1) == 0 else { throw CLIErrorForTests("cannot listen on \(path)") }
            Thread.detachNewThread { [self] in
                let fd = accept(listener, nil, nil)
                guard fd >= 0 else { return }
                lock.withLock { client = fd }
                let banner = "skerry: ready\nbalancer: web/web1 is UP\n"
                _ = banner.withCString { send(fd, $0, strlen($0), 0) }
                var buffer = [UInt8](repeating: 0, count: 1024)
                while true {
                    let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                    guard count > 0 else { break }
                    let text = String(decoding: buffer[0..<count], as: UTF8.self)
                    lock.withLock { received += text }
                }
            }
        }

        var typed: String { lock.withLock { received } }

        func close() {
            lock.withLock { if client >= 0 { shutdown(client, Int32(SHUT_RDWR)) } }
            Glibc.close(listener)
            unlink(path)
        }
    }

    @Test func attachesToTelemetryAndASerialConsoleSocket() throws {
        let telemetry = try SyntheticTelemetryServer(services: 2, backends: 6, rules: 20, busy: true)
        defer { telemetry.stop() }
        let console = try ConsoleSocket()
        defer { console.close() }
        let terminal = TmuxTerminal()
        defer { terminal.stop() }
        terminal.start("LANG=C.UTF-8 \(SkerryCLI.executable) top --attach 127.0.0.1:\(telemetry.port) --console \(console.path) "
            + "--interval 0.2; echo SKERRY-TOP-EXITED $?; sleep 60")
        let (attached, screen) = terminal.wait(30) { $0.contains("loopback") && $0.contains("attached") && $0.contains("6 backends") }
        #expect(attached, "\(screen)")
        terminal.keys("2")
        #expect(terminal.wait(10) { $0.contains(" s0/b00") && $0.contains(" s1/b05") }.0)
        terminal.keys("5")
        #expect(terminal.wait(10) { $0.contains("balancer: web/web1 is UP") }.0, "the console socket's lines are shown")
        terminal.keys("i")
        terminal.tmux(["send-keys", "-t", terminal.session, "-l", "status"])
        terminal.keys("Enter")
        let deadline = Date().addingTimeInterval(10)
        while !console.typed.contains("status\n") && Date() < deadline { usleep(100_000) }
        #expect(console.typed == "status\n", "typed lines reach the console: \(console.typed.debugDescription)")
        // The appliance goes away: a stale banner, and the dashboard stays.
        telemetry.stop()
        let (stale, staleScreen) = terminal.wait(20) { $0.contains("STALE") && $0.contains("reconnecting") }
        #expect(stale, "\(staleScreen)")
        #expect(!staleScreen.contains("SKERRY-TOP-EXITED"))
        terminal.keys("q")
        #expect(terminal.wait(10) { $0.contains("SKERRY-TOP-EXITED 0") }.0)
    }
}
