import Foundation
@testable import SkerryKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The serial console over TCP and telnet, as users run it: QEMU serving the
/// serial port itself (`--serial tcp|telnet`), `skerry boot --console
/// tcp:`/`telnet:`, `skerry console`, `skerry smoke` and `skerry top` through
/// a connection the test cuts and restores.
@Suite(.serialized) struct ConsoleTCPTests {
    /// A loopback TCP port nothing listens on (bound, then let go).
    static func freePort() throws -> UInt16 { try HostPorts.free(.tcp) }

    /// `skerry boot` running in the background until `stop`; `ready` waits for the kernel's ready summary.
    final class BackgroundBoot: @unchecked Sendable {
        private let readySignal = DispatchSemaphore(value: 0)
        private let finished = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private var pid: Int32 = 0
        private var attach: String?
        private(set) var run: SkerryCLI.Run?

        init(_ arguments: [String]) {
            Thread.detachNewThread { [self] in
                let result = SkerryCLI.run(["boot", SkerryCLI.image, "--accel", "tcg", "--json", "--timeout", "300"] + arguments,
                                           timeout: 320, environment: ["SKERRY_HOST_PORTS": "free"]) { line, child in
                    self.lock.withLock { self.pid = child.pid }
                    guard line.contains("\"event\":\"ready\""),
                        let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                    else { return }
                    self.lock.withLock { self.attach = object["attach"] as? String }
                    self.readySignal.signal()
                }
                self.lock.withLock { self.run = result }
                self.readySignal.signal()
                self.finished.signal()
            }
        }

        /// The telemetry `HOST:PORT` of `top --attach`, once the kernel is ready.
        func telemetry(within seconds: Double = 120) -> String? {
            _ = readySignal.wait(timeout: .now() + seconds)
            guard let attach = lock.withLock({ attach }), let range = attach.range(of: "--attach ") else { return nil }
            return String(attach[range.upperBound...].prefix { !$0.isWhitespace })
        }

        func stop() -> SkerryCLI.Run? {
            let pid = lock.withLock { self.pid }
            if pid > 0 { kill(pid, SIGINT) }
            _ = finished.wait(timeout: .now() + 30)
            return lock.withLock { run }
        }
    }

    @Test(arguments: ["tcp", "telnet"])
    func bootReadsTheConsoleFromQemusSerialServer(serial: String) throws {
        // --input, --until and the console lines all go through QEMU's TCP serial server.
        let run = SkerryCLI.run(["boot", SkerryCLI.image, "--accel", "tcg", "--serial", serial, "--input",
                                 "--until", "^uptime ", "--timeout", "120"],
                                input: "status\n", keepInputOpen: true, timeout: 150, environment: ["SKERRY_HOST_PORTS": "free"])
        #expect(run.code == BootOutcome.untilMatched.exitCode, "\(run.stderr.suffix(800))")
        #expect(run.stderr.contains("skerry: the serial console is QEMU's \(serial):127.0.0.1:"), "\(run.stderr)")
        #expect(run.stdout.contains("skerry: ready"), "\(run.stdout.suffix(500))")
        #expect(run.stderr.contains("skerry: telemetry on 127.0.0.1:"), "the ready summary is printed: \(run.stderr)")
        #expect(!run.stdout.contains("\u{FF}"), "no telnet bytes reach the console lines")
    }

    @Test func aDroppedSerialConnectionIsShownAndReconnected() throws {
        let fake = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scripts/serial_dropping_qemu.py").path
        let image = NSTemporaryDirectory() + "skerry-fake-serial-\(getpid()).elf32"
        try Data("not a kernel".utf8).write(to: URL(fileURLWithPath: image))
        defer { unlink(image) }
        let run = SkerryCLI.run(["boot", image, "--qemu", fake, "--accel", "tcg", "--serial", "tcp", "--input",
                                 "--until", "typed: status$", "--timeout", "30"],
                                input: "status\n", keepInputOpen: true, timeout: 60)
        #expect(run.code == BootOutcome.untilMatched.exitCode, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stderr.contains("skerry: the serial console connection dropped (the console closed the connection); reconnecting"), "\(run.stderr)")
        #expect(run.stderr.contains("skerry: the serial console connection is back"), "\(run.stderr)")
        #expect(run.stdout.contains("after the drop"), "lines flow after the reconnect: \(run.stdout)")
    }

    @Test(arguments: ["tcp", "telnet"])
    func smokeRunsASuiteThroughQemusSerialServer(serial: String) throws {
        let directory = try TemporaryDirectory(prefix: "skerry-console-smoke")
        defer { directory.remove() }
        let suite = directory.path + "/serial.yaml"
        try """
            suite: serial over \(serial)
            appliance: \(SkerryCLI.image)
            accel: tcg
            timeout: 120
            steps:
              - expect-console: "skerry: ready"
              - send: status
              - expect-console: "^uptime "
              - shutdown
            """.write(toFile: suite, atomically: true, encoding: .utf8)
        let run = SkerryCLI.run(["smoke", suite, "--serial", serial], timeout: 200, environment: ["SKERRY_HOST_PORTS": "free"])
        #expect(run.code == 0, "\(run.stdout)\n\(run.stderr.suffix(800))")
        #expect(run.stdout.contains("ok 1"), "\(run.stdout)")
        #expect(!run.stdout.contains("not ok"), "\(run.stdout)")
    }

    @Test func consoleCommandTypesIntoATelnetRelayAndExplainsItsErrors() throws {
        let port = try Self.freePort()
        let boot = BackgroundBoot(["--serial", "telnet", "--console", "telnet:127.0.0.1:\(port)"])
        defer { _ = boot.stop() }
        try #require(boot.telemetry() != nil, "the VM never became ready: \(boot.stop()?.stderr.suffix(800) ?? "")")
        let answered = SkerryCLI.run(["console", "telnet:127.0.0.1:\(port)"], input: "status\n", timeout: 30)
        #expect(answered.code == 0, "\(answered.stderr)")
        #expect(answered.stdout.contains("uptime "), "the shell answered: \(answered.stdout)")
        #expect(answered.stdout.contains("skerry> "))

        let closed = try Self.freePort()
        let refused = SkerryCLI.run(["console", "tcp:127.0.0.1:\(closed)"], input: "", timeout: 30)
        #expect(refused.code == 69)
        #expect(refused.stderr.contains("console tcp:127.0.0.1:\(closed): connection refused"), "\(refused.stderr)")
        let bad = SkerryCLI.run(["console", "tcp:127.0.0.1"], input: "", timeout: 30)
        #expect(bad.code == 64)
        #expect(bad.stderr.contains("expected tcp:HOST:PORT"), "\(bad.stderr)")
        let open = SkerryCLI.run(["boot", SkerryCLI.image, "--console", "tcp:0.0.0.0:\(closed)"], timeout: 30)
        #expect(open.code == 64)
        #expect(open.stderr.contains("the console is a root shell with no authentication"), "\(open.stderr)")
        let tap = SkerryCLI.run(["boot", SkerryCLI.image, "--serial", "telnet", "--network", "tap"], timeout: 30)
        #expect(tap.code == 64 && tap.stderr.contains("--serial telnet needs --network user"), "\(tap.stderr)")
        let help = SkerryCLI.run(["console", "--help"], timeout: 30)
        #expect(help.stdout.contains("Exit codes:") && help.stdout.contains("  69   no console there"), "\(help.stdout)")
    }

    @Test func consoleInATerminalRunsRawAndRestoresTheTerminalOnCtrlBracketQ() throws {
        let port = try Self.freePort()
        let boot = BackgroundBoot(["--console", "tcp:127.0.0.1:\(port)"])
        defer { _ = boot.stop() }
        try #require(boot.telemetry() != nil, "the VM never became ready")
        let terminal = TmuxTerminal()
        defer { terminal.stop() }
        terminal.start("\(SkerryCLI.executable) console tcp:127.0.0.1:\(port); echo CONSOLE-EXITED $?; stty -a; sleep 60", width: 120, height: 40)
        let (connected, first) = terminal.wait(20) { $0.contains("Ctrl-] then q disconnects") }
        #expect(connected, "\(first)")
        terminal.tmux(["send-keys", "-t", terminal.session, "-l", "status"])
        terminal.keys("Enter")
        let (answered, screen) = terminal.wait(20) { $0.contains("uptime ") }
        #expect(answered, "\(screen)")
        terminal.keys("C-]")
        terminal.keys("q")
        let (exited, after) = terminal.wait(20) { $0.contains("CONSOLE-EXITED 0") }
        #expect(exited, "\(after)")
        let modes = Set(after.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == ";" }).map(String.init))
        #expect(modes.contains("icanon") && modes.contains("echo") && modes.contains("isig"), "the terminal is cooked again:\n\(after)")
    }

    @Test(arguments: ["tcp", "telnet"])
    func topBootsWithQemusSerialServerAndTypesIntoIt(serial: String) throws {
        let terminal = TmuxTerminal()
        defer { terminal.stop() }
        terminal.start("LANG=C.UTF-8 SKERRY_HOST_PORTS=free \(SkerryCLI.executable) top \(SkerryCLI.image) --accel tcg --serial \(serial) --interval 0.5; sleep 60",
                       width: 120, height: 40)
        let (opened, first) = terminal.wait(60) { $0.contains("1 Overview") }
        try #require(opened, "\(first)")
        terminal.keys("5")
        #expect(terminal.wait(60) { $0.contains("skerry: ready") }.0, "the console lines come through QEMU's \(serial) server")
        terminal.keys("i")
        terminal.tmux(["send-keys", "-t", terminal.session, "-l", "status"])
        terminal.keys("Enter")
        let (answered, screen) = terminal.wait(30) { $0.contains("uptime ") }
        #expect(answered, "\(screen)")
        terminal.keys("q")
    }

    @Test func topShowsALostConsoleAndRecoversWhenItComesBack() throws {
        let relayPort = try Self.freePort()
        let boot = BackgroundBoot(["--serial", "tcp", "--console", "tcp:127.0.0.1:\(relayPort)"])
        defer { _ = boot.stop() }
        let telemetry = try #require(boot.telemetry(), "the VM never became ready")
        let proxy = try TCPProxy(target: relayPort)
        defer { proxy.stop() }
        let terminal = TmuxTerminal()
        defer { terminal.stop() }
        terminal.start("LANG=C.UTF-8 \(SkerryCLI.executable) top --attach \(telemetry) --console tcp:127.0.0.1:\(proxy.port) --interval 0.5; sleep 60",
                       width: 120, height: 40)
        let (opened, first) = terminal.wait(60) { $0.contains("1 Overview") }
        try #require(opened, "\(first)")
        terminal.keys("5")
        terminal.keys("i")
        terminal.tmux(["send-keys", "-t", terminal.session, "-l", "status"])
        terminal.keys("Enter")
        let (answered, screen) = terminal.wait(30) { $0.contains("uptime ") }
        #expect(answered, "\(screen)")

        proxy.cut()
        let (lost, lostScreen) = terminal.wait(20) { $0.contains("CONSOLE LOST: tcp:127.0.0.1:\(proxy.port)") && $0.contains("reconnecting in") }
        #expect(lost, "\(lostScreen)")
        usleep(1_500_000)
        #expect(terminal.screen.contains("CONSOLE LOST"), "still lost while the connection is cut")

        try proxy.restore()
        let (back, backScreen) = terminal.wait(30) { !$0.contains("CONSOLE LOST") && $0.contains("reconnected") }
        #expect(back, "\(backScreen)")
        terminal.keys("i")
        terminal.tmux(["send-keys", "-t", terminal.session, "-l", "heap"])
        terminal.keys("Enter")
        let (flowing, flowScreen) = terminal.wait(30) { screen in screen.components(separatedBy: "heap: used").count >= 3 }
        #expect(flowing, "lines flow again after the reconnect:\n\(flowScreen)")
    }
}

/// A TCP proxy on 127.0.0.1 in front of `target`, which the test cuts
/// (listener and connections closed) and restores on the same port.
final class TCPProxy: @unchecked Sendable {
    private(set) var port: UInt16 = 0
    private let target: UInt16
    private let lock = NSLock()
    private var listener: Int32 = -1
    private var open: [Int32] = []
    private var generation = 0

    init(target: UInt16) throws {
        self.target = target
        try listen()
    }

    private func listen() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        try #require(bound && Glibc.listen(fd, 8) == 0, "proxy listen: \(String(cString: strerror(errno)))")
        port = UInt16(bigEndian: address.sin_port)
        let generation = lock.withLock {
            listener = fd
            self.generation += 1
            return self.generation
        }
        Thread.detachNewThread { [self] in
            while self.lock.withLock({ self.generation == generation }) {
                var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&pfd, 1, 100) >= 0 else { return }
                guard pfd.revents != 0 else { continue }
                let client = accept(fd, nil, nil)
                guard client >= 0 else { continue }
                let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
                var upstream = sockaddr_in()
                upstream.sin_family = sa_family_t(AF_INET)
                upstream.sin_port = self.target.bigEndian
                upstream.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
                let connected = withUnsafePointer(to: &upstream) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
                }
                guard connected else {
                    close(client)
                    close(server)
                    continue
                }
                self.lock.withLock { self.open += [client, server] }
                Thread.detachNewThread { self.pump(client, server, generation: generation) }
            }
        }
    }

    private func pump(_ a: Int32, _ b: Int32, generation: Int) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        var fds = [pollfd(fd: a, events: Int16(POLLIN), revents: 0), pollfd(fd: b, events: Int16(POLLIN), revents: 0)]
        while lock.withLock({ self.generation == generation }) {
            guard poll(&fds, 2, 100) >= 0 else { break }
            for (from, to) in [(0, b), (1, a)] where fds[from].revents != 0 {
                let count = recv(fds[from].fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                if count == 0 || (count < 0 && errno != EAGAIN) { return }
                if count > 0 { _ = buffer.withUnsafeBytes { send(to, $0.baseAddress, count, Int32(MSG_NOSIGNAL)) } }
            }
        }
    }

    /// Closes the listener and every connection through the proxy.
    func cut() {
        lock.withLock {
            generation += 1
            for fd in open { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }
            open = []
            close(listener)
            listener = -1
        }
    }

    func restore() throws { try listen() }

    func stop() { cut() }
}
