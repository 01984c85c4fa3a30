import Foundation
import SkerryKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The dashboard items of the operator-experience review, end to end in tmux:
/// attached at 80×24 without a token under TERM=vt100 (a synthetic appliance,
/// no VM), an attached console that has sent nothing yet, and a booted VM that
/// restarts and shuts down.
@Suite(.serialized) struct DashboardUsabilityTests {
    static let sample = SkerryCLI.packageRoot.appendingPathComponent("Samples/web").path

    static func lines(_ screen: String) -> [Substring] { screen.split(separator: "\n", omittingEmptySubsequences: false) }

    @Test func attachedWithoutATokenAt80x24UnderVT100() throws {
        let telemetry = try SyntheticTelemetryServer(services: 2, backends: 6, rules: 20, busy: true)
        defer { telemetry.stop() }
        let terminal = TmuxTerminal()
        defer { terminal.stop() }
        terminal.start("printf 'EARLIER-SCREEN-CONTENT\\n'; env -u SKERRY_ADMIN_TOKEN TERM=vt100 LANG=C.UTF-8 "
            + "\(SkerryCLI.executable) top --attach 127.0.0.1:\(telemetry.port) --interval 0.5; echo SKERRY-TOP-EXITED; sleep 60",
            width: 80, height: 24)
        let (attached, first) = terminal.wait(30) { $0.contains("attached") && $0.contains("6 backends") }
        #expect(attached, "\(first)")
        guard attached else { return }
        #expect(Self.lines(first)[0].contains("<no token>"), "the title bar says there is no token:\n\(first)")
        #expect(!first.contains("EARLIER-SCREEN-CONTENT"), "the dashboard has the screen to itself")

        // Backends: the footer offers no action that cannot work, and d says why at once.
        terminal.keys("2")
        let (backends, list) = terminal.wait(10) { $0.contains(" s1/b05") }
        #expect(backends, "\(list)")
        let footer = Self.lines(list)[23]
        #expect(footer.contains("q quit") && footer.contains("/ filter") && footer.contains("s sort:name"), "\(footer)")
        for hint in ["d drain", "e enable", "x disable", "r restart", "…"] { #expect(!footer.contains(hint), "\(footer)") }
        #expect(Self.lines(list)[2].hasPrefix(" SERVICE/BACKEND▲"), "the sort column is marked:\n\(list)")
        terminal.keys("x")
        let (refused, refusal) = terminal.wait(5) { $0.contains("no admin token: pass --token or set SKERRY_ADMIN_TOKEN") }
        #expect(refused && !refusal.contains("Confirm"), "x says there is no token, without asking first:\n\(refusal)")

        // The filter narrows the list while it is typed.
        terminal.keys("/")
        terminal.tmux(["send-keys", "-t", terminal.session, "-l", "s1"])
        let (filtered, narrowed) = terminal.wait(5) { $0.contains("filter: s1_") && !$0.contains(" s0/b00") && $0.contains(" s1/b01") }
        #expect(filtered, "the filter applies before Enter:\n\(narrowed)")
        terminal.keys("Escape")

        // i without a console says why; the Firewall lists rules in rule order, marked.
        terminal.keys("i")
        #expect(terminal.wait(5) { $0.contains("no console to type into") }.0)
        terminal.keys("3")
        let (rules, firewall) = terminal.wait(5) { $0.contains("#▲ RULE") }
        #expect(rules, "\(firewall)")
        let numbers = Self.lines(firewall)[4...6].map { Int($0.split(separator: " ").first ?? "") }
        #expect(numbers == [1, 2, 3], "rule order, first match first:\n\(firewall)")
        #expect(Self.lines(firewall)[23].contains("s sort:rule order"))

        // q gives the shell its screen back: the earlier content, no dashboard text, the cursor shown.
        terminal.keys("q")
        let (exited, after) = terminal.wait(10) { $0.contains("SKERRY-TOP-EXITED") }
        #expect(exited, "\(after)")
        #expect(after.contains("EARLIER-SCREEN-CONTENT"), "the earlier screen is back:\n\(after)")
        for leftover in ["Overview", "Firewall", "q quit", "rule", "STALE", "live 127.0.0.1"] {
            #expect(!after.contains(leftover), "\"\(leftover)\" is left on the screen:\n\(after)")
        }
        let cursor = terminal.tmux(["display-message", "-p", "-t", terminal.session, "#{cursor_flag}"])
        #expect(cursor.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "the cursor is visible")
    }

    /// Attached with --console, QEMU closing the console socket means the VM is gone: no reconnecting.
    @Test func attachedConsoleClosingEndsTheStream() throws {
        let telemetry = try SyntheticTelemetryServer(services: 1, backends: 3, rules: 5)
        defer { telemetry.stop() }
        let console = try DashboardAttachTests.ConsoleSocket()
        defer { console.close() }
        let terminal = TmuxTerminal()
        defer { terminal.stop() }
        terminal.start("LANG=C.UTF-8 \(SkerryCLI.executable) top --attach 127.0.0.1:\(telemetry.port) --console \(console.path) "
            + "--token loopback-admin-token --interval 0.2; echo SKERRY-TOP-EXITED; sleep 60", width: 80, height: 24)
        let (attached, first) = terminal.wait(30) { $0.contains("attached") && $0.contains("3 backends") }
        #expect(attached, "\(first)")
        #expect(!Self.lines(first)[0].contains("<"), "a token and no --read-only: no badge")
        console.close()
        telemetry.stop()
        let (ended, screen) = terminal.wait(20) { $0.contains("STALE") && $0.contains("the console socket closed: the VM is gone") }
        #expect(ended, "\(screen)")
        usleep(2_000_000)
        #expect(!terminal.screen.contains("reconnecting"), "\(terminal.screen)")
        terminal.keys("q")
        #expect(terminal.wait(10) { $0.contains("SKERRY-TOP-EXITED") }.0)
    }

    /// A console socket that accepts `skerry top` and sends nothing until closed, as QEMU's does before the VM prints.
    final class SilentConsoleSocket: @unchecked Sendable {
        let path = NSTemporaryDirectory() + "skerry-silent-\(getpid())-\(UInt32.random(in: 0..<UInt32.max)).sock"
        private let listener: Int32
        private let lock = NSLock()
        private var client: Int32 = -1

        init() throws {
            let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            self.listener = listener
            let bound = UnixSocketAddress.bind(listener, to: path)
            guard bound == 0, listen(listener, 1) == 0 else { throw CLIErrorForTests("cannot listen on \(path)") }
            Thread.detachNewThread { [self] in
                let fd = accept(listener, nil, nil)
                guard fd >= 0 else { return }
                lock.withLock { client = fd }
            }
        }

        func close() {
            lock.withLock { if client >= 0 { Glibc.close(client) } }
            Glibc.close(listener)
            unlink(path)
        }
    }

    /// Attached to a console that has printed nothing: the Console view waits for it and offers `i`;
    /// PgUp and PgDn are a page in help, as in the docs.
    @Test func anAttachedSilentConsoleIsWaitedFor() throws {
        let telemetry = try SyntheticTelemetryServer(services: 1, backends: 3, rules: 5)
        defer { telemetry.stop() }
        let console = try SilentConsoleSocket()
        defer { console.close() }
        let terminal = TmuxTerminal()
        defer { terminal.stop() }
        terminal.start("LANG=C.UTF-8 \(SkerryCLI.executable) top --attach 127.0.0.1:\(telemetry.port) --console unix:\(console.path) "
            + "--interval 0.2; echo SKERRY-TOP-EXITED; sleep 60", width: 80, height: 24)
        let (attached, first) = terminal.wait(30) { $0.contains("attached") && $0.contains("3 backends") }
        #expect(attached, "\(first)")
        terminal.keys("5")
        let (waiting, screen) = terminal.wait(10) { $0.contains("waiting for console output (i to type a command)") }
        #expect(waiting && !screen.contains("no serial console"), "\(screen)")
        terminal.keys("?")
        #expect(terminal.wait(5) { $0.contains("PgUp, PgDn, Home, End") && $0.contains("a page up, down") }.0)
        terminal.keys("Escape")
        terminal.keys("q")
        #expect(terminal.wait(10) { $0.contains("SKERRY-TOP-EXITED") }.0)
    }

    @Test func aVMThatShutsDownShowsItsPortsThenAnEndedStream() throws {
        let terminal = TmuxTerminal()
        defer { terminal.stop() }
        terminal.start("LANG=C.UTF-8 \(SkerryCLI.executable) top \(Self.sample) --accel tcg --interval 0.5; "
            + "echo SKERRY-TOP-EXITED; sleep 60")
        let (running, overview) = terminal.wait(300) { $0.contains("1 Overview") && $0.contains(" running ") && $0.contains("Appliance   web") }
        #expect(running, "\(overview)")
        guard running else { return }

        // The Overview lists the forwarded ports, each as the console's forward lines give it.
        terminal.keys("5")
        let (_, console) = terminal.wait(10) { $0.contains("admin tcp 9100 is 127.0.0.1:") && $0.contains("public tcp 80 is 127.0.0.1:") }
        func forward(_ text: String) -> String? {
            guard let range = console.range(of: text + " is 127.0.0.1:") else { return nil }
            return String(console[range.upperBound...].prefix { $0.isNumber })
        }
        let telemetryPort = try #require(forward("admin tcp 9100"), "\(console)")
        let webPort = try #require(forward("public tcp 80"), "\(console)")
        terminal.keys("1")
        let (ports, portsScreen) = terminal.wait(10) { screen in
            screen.contains(" Ports       telemetry 127.0.0.1:\(telemetryPort)  web 127.0.0.1:\(webPort)  ")
                && ["echo", "echo/udp", "discard", "chargen"].allSatisfy { name in screen.contains(" \(name) 127.0.0.1:") }
        }
        #expect(ports, "\(portsScreen)")
        let (rates, ratesScreen) = terminal.wait(10) { Self.lines($0).contains { $0.hasPrefix(" public ") && $0.contains(" up ") && $0.contains("/s") } }
        #expect(rates, "a running VM's NICs are up, with rates:\n\(ratesScreen)")

        // A restart: the footer says so until the new VM is ready, then says it is.
        terminal.keys("r")
        #expect(terminal.wait(5) { $0.contains("Restart the VM?") }.0)
        terminal.keys("y")
        // A fast restart may be over before a capture sees "restarting the VM..." (the unit tests hold that step).
        let (restarting, restartingScreen) = terminal.wait(10) { $0.contains(" restarting the VM...") || $0.contains(" VM restarted; ready after ") }
        #expect(restarting, "\(restartingScreen)")
        let (restarted, restartedScreen) = terminal.wait(300) { $0.contains(" VM restarted; ready after ") && $0.contains(" running ") }
        #expect(restarted, "\(restartedScreen)")
        #expect(!restartedScreen.contains("restarting the VM..."))

        // A clean shutdown from the kernel shell.
        terminal.keys("5")
        terminal.keys("i")
        terminal.tmux(["send-keys", "-t", terminal.session, "-l", "shutdown"])
        terminal.keys("Enter")
        let (ended, endedScreen) = terminal.wait(30) { $0.contains("the VM shut down; the stream ended") }
        #expect(ended, "\(endedScreen)")
        terminal.keys("1")
        usleep(3_000_000)  // a few refreshes: the banner must not turn back to reconnecting
        let final = terminal.screen
        #expect(final.contains("VM exited: clean-shutdown") && !final.contains("reconnecting"), "\(final)")
        for role in ["admin", "public", "private"] {
            let row = Self.lines(final).first { $0.hasPrefix(" \(role) ") }.map { $0.split(separator: " ") } ?? []
            #expect(row.count > 5 && row[3] == "DOWN" && row[4] == "-" && row[5] == "-", "\(role): \(row)\n\(final)")
        }
        #expect(!final.contains("SKERRY-TOP-EXITED"), "the dashboard stays after the VM is gone")
        terminal.keys("q")
        #expect(terminal.wait(10) { $0.contains("SKERRY-TOP-EXITED") }.0)
    }
}
