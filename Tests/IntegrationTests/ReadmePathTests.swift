import Foundation
import SkerryKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// README's own path, as a new operator follows it: its `skerry boot`,
/// `skerry stats` and `skerry top --attach … --console …` lines, taken from
/// README.md as written (an edit there changes what runs here), run in the
/// package root with the sample backends up; and the stable ports' fallback.
/// Serialized: README's lines use the fixed port 9180 and socket
/// /tmp/skerry-web.sock, which the fallback test claims.
@Suite(.serialized) struct ReadmePathTests {
    static let root = SkerryCLI.packageRoot.path

    /// The commands of README's "Boot an appliance and watch it".
    struct Path {
        var backends: String
        var boot: String
        var stats: String
        var top: String
        var curl: String
        /// The summary README shows, `skerry: …` lines.
        var summary: [String]

        init() throws {
            let readme = try String(contentsOfFile: ReadmePathTests.root + "/README.md", encoding: .utf8)
            let start = try #require(readme.range(of: "### Boot an appliance and watch it"), "README has the section")
            let rest = readme[start.upperBound...]
            let section = rest[..<(rest.range(of: "\n### ")?.lowerBound ?? rest.endIndex)]
            let lines = section.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            func command(_ words: String...) throws -> String {
                let line = try #require(lines.first { line in line.hasPrefix(".build/debug/skerry ") && words.allSatisfy { line.contains($0) } },
                                        "README's section has a line with \(words)")
                return line.hasSuffix("&") ? String(line.dropLast()).trimmingCharacters(in: .whitespaces) : line
            }
            backends = try command(" backends ")
            boot = try command(" boot ", "--console unix:")
            stats = try command(" stats ")
            top = try command(" top --attach ", " --console ")
            curl = try #require(lines.first { $0.hasPrefix("curl ") }, "README's section has its curl line")
            summary = lines.filter { $0.hasPrefix("skerry: ") }
        }
    }

    /// A command line run by the shell in the package root, as a user types it.
    static func shell(_ line: String) throws -> ChildProcess {
        let child = try ChildProcess.spawn(executable: "/bin/sh", arguments: ["-c", "unset SKERRY_HOST_PORTS; cd '\(root)' && exec \(line)"])
        child.closeInput()
        return child
    }

    /// Reads `fd` line by line until `done` says so or `seconds` pass; returns every line read.
    static func lines(of fd: Int32, seconds: Double, until done: ([String]) -> Bool) -> [String] {
        var lines: [String] = []
        var partial: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline && !done(lines) {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 200) >= 0 else { break }
            guard pfd.revents != 0 else { continue }
            let count = read(fd, &buffer, buffer.count)
            guard count > 0 else { break }
            partial += buffer[0..<count]
            while let newline = partial.firstIndex(of: 0x0A) {
                lines.append(String(decoding: partial[..<newline], as: UTF8.self))
                partial.removeSubrange(...newline)
            }
        }
        return lines
    }

    /// Waits until no other skerry claims 127.0.0.1:`port` (see `HostPorts.claim`), up to `seconds`.
    static func waitForUnclaimed(_ port: UInt16, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            let fd = open(NSTemporaryDirectory() + "/skerry-port-tcp-\(port).lock", O_RDONLY | O_CREAT | O_CLOEXEC, 0o644)
            if fd >= 0 {
                let free = flock(fd, LOCK_EX | LOCK_NB) == 0
                close(fd)
                if free { return true }
            }
            usleep(500_000)
        } while Date() < deadline
        return false
    }

    @Test func readmesBootStatsAndTopLinesWorkAsWritten() throws {
        let path = try Path()
        #expect(path.summary.last == "skerry: watch it: \(path.top)", "README's summary shows its own top line")
        sampleBackendPorts.lock()
        defer { sampleBackendPorts.unlock() }
        let backends = try Self.shell(path.backends)
        defer { backends.terminate() }
        // Other tests' boots may claim 9180 for a while: wait, and boot again if one took it first.
        var boot: ChildProcess?
        var told: [String] = []
        var summary: [String] = []
        for _ in 0..<3 {
            try #require(Self.waitForUnclaimed(9180, seconds: 600), "another skerry held 127.0.0.1:9180 for 10 minutes")
            _ = Self.waitForUnclaimed(8080, seconds: 60)
            let attempt = try Self.shell(path.boot)
            told = Self.lines(of: attempt.standardError, seconds: 120) { $0.contains { $0.hasPrefix("skerry: watch it: ") } }
            summary = told.filter { line in ["service ", "telemetry ", "echo ", "serial ", "watch "].contains { line.hasPrefix("skerry: " + $0) } }
            if summary.count == 5 && summary[1] == "skerry: telemetry on 127.0.0.1:9180" {
                boot = attempt
                break
            }
            attempt.send(SIGINT)
            _ = attempt.wait(timeout: 30)
        }
        let booted = try #require(boot, "README's boot line got 127.0.0.1:9180: \(told)")
        defer { booted.terminate() }
        try #require(summary.count == 5, "the ready summary: \(told)")
        #expect(summary[1] == "skerry: telemetry on 127.0.0.1:9180")
        #expect(summary[3] == "skerry: serial console on unix:/tmp/skerry-web.sock")
        #expect(summary[4] == "skerry: watch it: \(path.top)", "the printed command is README's, verbatim")
        #expect(summary[0].hasPrefix("skerry: service web on 127.0.0.1:"))
        #expect(summary[2].hasPrefix("skerry: echo on 127.0.0.1:") && summary[2].contains("discard on") && summary[2].contains("chargen on"))

        // The backends come UP after the health checks' rise; then README's stats line shows them.
        var stats = try CapturedRun.run("/bin/sh", ["-c", "cd '\(Self.root)' && exec \(path.stats)"])
        func allUp(_ output: String) -> Bool {
            ["web1", "web2", "web3"].allSatisfy { name in output.split(separator: "\n").contains { $0.contains(name) && $0.contains("UP") } }
        }
        let deadline = Date().addingTimeInterval(60)
        while !(stats.succeeded && allUp(stats.output)) && Date() < deadline {
            usleep(500_000)
            stats = try CapturedRun.run("/bin/sh", ["-c", "cd '\(Self.root)' && exec \(path.stats)"])
        }
        #expect(stats.succeeded, "\(path.stats): \(stats.output)")
        #expect(allUp(stats.output), "web1-web3 UP: \(stats.output)")
        // README's curl line, when the service got the stable port README names.
        if summary[0] == "skerry: service web on 127.0.0.1:8080" && path.curl.contains("127.0.0.1:8080") {
            let answers = try (0..<3).map { _ in try CapturedRun.run("/bin/sh", ["-c", path.curl + " 2>/dev/null"]).output }
            #expect(Set(answers) == ["web1\n", "web2\n", "web3\n"], "round robin over the three: \(answers)")
        }

        // README's top line in a terminal: the backends UP, and the console answering `status`.
        let terminal = TmuxTerminal()
        defer { terminal.stop() }
        terminal.start("cd '\(Self.root)' && LANG=C.UTF-8 \(path.top); echo SKERRY-TOP-EXITED $?; sleep 60")
        terminal.keys("2")
        let (up, backendsScreen) = terminal.wait(30) { screen in
            ["web/web1", "web/web2", "web/web3"].allSatisfy { name in
                screen.split(separator: "\n").contains { $0.contains(name) && $0.contains("UP") }
            }
        }
        #expect(up, "\(backendsScreen)")
        terminal.keys("5")
        terminal.keys("i")
        terminal.tmux(["send-keys", "-t", terminal.session, "-l", "status"])
        terminal.keys("Enter")
        let (answered, consoleScreen) = terminal.wait(20) { $0.contains("uptime") && $0.contains("loop load") }
        #expect(answered, "the kernel's reply to status: \(consoleScreen)")
        terminal.keys("Escape")
        terminal.keys("q")
        #expect(terminal.wait(10) { $0.contains("SKERRY-TOP-EXITED") }.0)

        booted.send(SIGINT)
        #expect(booted.wait(timeout: 30) == .exited(130))
        #expect(access("/tmp/skerry-web.sock", F_OK) != 0, "the socket file is removed on exit")
    }

    /// Stable ports that are taken never fail a boot: a free port, and a note saying so.
    @Test func takenDefaultPortsAreReplacedWithANote() throws {
        // 9180 claimed as another skerry claims it; 8080 claimed too, and bound as another program would.
        var claims: [Int32] = []
        defer { claims.forEach { close($0) } }
        for port in [9180, 8080] {
            try #require(Self.waitForUnclaimed(UInt16(port), seconds: 600))
            let claim = open(NSTemporaryDirectory() + "/skerry-port-tcp-\(port).lock", O_RDONLY | O_CREAT | O_CLOEXEC, 0o644)
            try #require(claim >= 0 && flock(claim, LOCK_EX | LOCK_NB) == 0)
            claims.append(claim)
        }
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(8080).bigEndian
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        } && listen(listener, 1) == 0

        // The stable ports are what this test is about, so it does not take the suites' free ones.
        let run = SkerryCLI.run(["boot", BootConsoleCommandTests.sample, "--accel", "tcg", "--until", "skerry: ready", "--timeout", "120"],
                                timeout: 180, environment: ["SKERRY_HOST_PORTS": nil])
        #expect(run.code == 2, "\(run.stderr)")
        let lines = run.stderr.split(separator: "\n").map(String.init)
        let telemetryNote = try #require(lines.first { $0.hasPrefix("skerry: 127.0.0.1:9180/tcp is taken; admin tcp/9100 at 127.0.0.1:") },
                                         "\(run.stderr)")
        let serviceNote = try #require(lines.first { $0.hasPrefix("skerry: 127.0.0.1:8080/tcp is taken; public tcp/80 at 127.0.0.1:") },
                                       "\(run.stderr)")
        let telemetryPort = try #require(telemetryNote.split(separator: ":").last.map(String.init))
        let servicePort = try #require(serviceNote.split(separator: ":").last.map(String.init))
        #expect(lines.contains("skerry: telemetry on 127.0.0.1:\(telemetryPort)"), "the summary has the port used: \(run.stderr)")
        #expect(lines.contains("skerry: service web on 127.0.0.1:\(servicePort)"))
        #expect(lines.contains { $0.hasPrefix("skerry: watch it: ") && $0.hasSuffix(" top --attach 127.0.0.1:\(telemetryPort)   (boot with --console unix:PATH to type into its console from there too)") })
    }
}

/// `skerry boot --console` and the ready summary, as commands and their output.
@Suite(.serialized) struct BootConsoleCommandTests {
    static let sample = SkerryCLI.packageRoot.appendingPathComponent("Samples/web").path

    static func socketPath() -> String { "/tmp/skerry-t\(getpid())-\(UInt16.random(in: 0...UInt16.max)).sock" }

    /// A plain Unix socket client.
    static func connect(_ path: String) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        let connected = UnixSocketAddress.connect(fd, to: path)
        if connected != 0 {
            close(fd)
            return -1
        }
        return fd
    }

    @Test func theReadyEventNamesTheAddressesAndThePlainSocketAnswersStatus() throws {
        let path = Self.socketPath()
        var ready: [String: Any]?
        var forwards: [[String: Any]] = []
        var reply = ""
        let run = SkerryCLI.run(["boot", Self.sample, "--accel", "tcg", "--json", "--console", "unix:\(path)", "--forward", "admin:tcp:9100", "--forward", "public:tcp:80",
                                 "--timeout", "120"], timeout: 180) { line, _ in
            guard let event = SkerryCLI.event(line) else { return }
            if event["event"] as? String == "forward" { forwards.append(event) }
            guard event["event"] as? String == "ready" else { return }
            ready = event
            let fd = Self.connect(path)
            guard fd >= 0 else { return }
            defer { close(fd) }
            _ = "status\n".withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
            var buffer = [UInt8](repeating: 0, count: 65536)
            let deadline = Date().addingTimeInterval(20)
            while !reply.contains("heap:") && Date() < deadline {
                var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&pfd, 1, 500) >= 0 else { break }
                if pfd.revents == 0 { continue }
                let count = recv(fd, &buffer, buffer.count, 0)
                if count <= 0 { break }
                reply += String(decoding: buffer[0..<count], as: UTF8.self)
            }
            _ = "shutdown\n".withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        }
        #expect(run.code == 0, "the socket's `shutdown` ended the VM cleanly: \(run.stderr)")
        #expect(reply.contains("status") && reply.contains("uptime") && reply.contains("heap:"), "\(reply)")
        #expect(run.consoleLines.contains { $0.hasPrefix("uptime") }, "the console still streams to stdout")
        let event = try #require(ready)
        let telemetryForward = try #require(forwards.first { $0["guestPort"] as? Int == 9100 })
        let telemetry = try #require(event["telemetry"] as? [String: Any])
        #expect(telemetry["hostPort"] as? Int == telemetryForward["hostPort"] as? Int, "--forward admin:tcp:9100 replaced the default")
        let services = try #require(event["services"] as? [[String: Any]])
        #expect(services.map { $0["name"] as? String } == ["web"] && services.first?["guestPort"] as? Int == 80)
        #expect(event["console"] as? String == "unix:\(path)")
        #expect((event["attach"] as? String)?.hasSuffix("top --attach 127.0.0.1:\(telemetryForward["hostPort"] as? Int ?? 0) --console unix:\(path)") == true)
        #expect(access(path, F_OK) != 0, "the socket file is removed on exit")
    }

    @Test func consoleSocketProblemsAreClearAndAStaleFileDoesNotBlock() throws {
        let missing = SkerryCLI.run(["boot", SkerryCLI.image, "--accel", "tcg", "--console", "unix:/nonexistent-skerry-dir/console.sock"])
        #expect(missing.code == BootOutcome.toolErrorExitCode)
        #expect(missing.stderr.contains("--console unix:/nonexistent-skerry-dir/console.sock: the directory /nonexistent-skerry-dir does not exist"),
                "\(missing.stderr)")
        #expect(!missing.stderr.contains("QEMU pid"), "nothing booted")
        let long = "/tmp/" + String(repeating: "x", count: 110) + ".sock"
        let tooLong = SkerryCLI.run(["boot", SkerryCLI.image, "--console", "unix:\(long)"])
        #expect(tooLong.code == 64 && tooLong.stderr.contains("a Unix socket path has at most 107"), "\(tooLong.stderr)")
        let tcp = SkerryCLI.run(["boot", SkerryCLI.image, "--console", "tcp:0.0.0.0:4555"])
        #expect(tcp.code == 64 && tcp.stderr.contains("the console is a root shell with no authentication"), "\(tcp.stderr)")

        // A socket file a killed skerry left behind.
        let path = Self.socketPath()
        let dead = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        _ = UnixSocketAddress.bind(dead, to: path)
        close(dead)
        try #require(access(path, F_OK) == 0)
        let stale = SkerryCLI.run(["boot", SkerryCLI.image, "--accel", "tcg", "--console", "unix:\(path)", "--until", "skerry: ready", "--timeout", "60"])
        #expect(stale.code == 2, "\(stale.stderr)")
        #expect(stale.stderr.contains("skerry: serial console on unix:\(path)"))
        #expect(stale.stderr.contains("skerry: until-matched (exit 2): --until matched \"skerry: ready\"; the VM was stopped (ready after "),
                "one sentence: \(stale.stderr)")
        #expect(access(path, F_OK) != 0)
    }

    @Test func theExitCodesListIsAListAt80Columns() throws {
        let help = try CapturedRun.run("/bin/sh", ["-c", "COLUMNS=80 exec '\(SkerryCLI.executable)' boot --help"])
        let lines = help.output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = try #require(lines.firstIndex(of: "Exit codes:"))
        let list = lines[(start + 1)...].prefix { !$0.isEmpty }
        let codes = list.map { line in Int32(line.dropFirst(2).prefix { $0 != " " }) }
        #expect(list.allSatisfy { $0.hasPrefix("  ") && $0.count <= 80 }, "\(list)")
        #expect(codes == (BootOutcome.allCases.map(\.exitCode) + [BootOutcome.toolErrorExitCode, 64]).sorted().map { Optional($0) },
                "one line per code, none wrapped: \(list)")
    }
}
