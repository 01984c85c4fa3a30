import Foundation
import KernelCore
import SkerryKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The conventions every `skerry` command keeps, checked as a script sees
/// them: the real binary, its output and its exit status.
@Suite struct CommandConventionTests {
    static let webRules = SkerryCLI.packageRoot.appendingPathComponent("Samples/web/firewall.rules").path
    static let token = "loopback-admin-token"

    /// A loopback port nothing listens on.
    static func closedPort() -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                _ = bind(fd, $0, length)
                _ = getsockname(fd, $0, &length)
            }
        }
        return UInt16(bigEndian: address.sin_port)
    }

    /// A loopback server that answers every connection with an HTTP error: not a telemetry port.
    final class NotTelemetry: @unchecked Sendable {
        let listener: Int32
        let port: UInt16

        init() throws {
            listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let listener = self.listener
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 }
            }
            guard bound, listen(listener, 4) == 0 else { throw TelemetryStreamError.connection("cannot listen") }
            port = UInt16(bigEndian: address.sin_port)
            Thread.detachNewThread {
                while true {
                    let client = accept(listener, nil, nil)
                    guard client >= 0 else { return }
                    let reply = "HTTP/1.0 400 Bad Request\r\n\r\n"
                    _ = reply.withCString { write(client, $0, strlen($0)) }
                    close(client)
                }
            }
        }

        func stop() { shutdown(listener, Int32(SHUT_RDWR)) }
    }

    // MARK: version and help

    @Test func versionNamesTheReleaseTheCommitAndTheToolchains() throws {
        let git = try #require(findExecutable("git"))
        let head = try CapturedRun.run(git, ["-C", SkerryCLI.packageRoot.path, "rev-parse", "HEAD"]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let run = SkerryCLI.run(["--version"])
        #expect(run.code == 0, "\(run.stderr)")
        #expect(run.lines.first?.hasPrefix("skerry ") == true, "\(run.stdout)")
        #expect(run.stdout.contains("commit: \(head)"), "\(run.stdout)")
        #expect(run.stdout.contains("compiled with: Swift 6"), "\(run.stdout)")
        #expect(run.stdout.contains("kernel toolchain: Swift version"), "\(run.stdout)")
        // Without git on PATH the commit is read from the repository's files.
        let withoutGit = SkerryCLI.run(["--version"], environment: ["PATH": "/nonexistent"])
        #expect(withoutGit.code == 0 && withoutGit.stdout.contains("commit: \(head)"), "\(withoutGit.stdout)\(withoutGit.stderr)")
    }

    @Test func helpShowsNoLiteralBackslashesAndListsExitCodes() {
        for command in [["backends"], ["stats"], ["admin"], ["rules", "match"], ["smoke"], ["build"], ["demo"], ["top"], ["boot"]] {
            let help = SkerryCLI.run(command + ["--help"])
            #expect(help.code == 0, "\(command)")
            #expect(!help.stdout.contains("\\"), "\(command) --help:\n\(help.stdout)")
        }
        let admin = SkerryCLI.run(["admin", "--help"]).stdout
        for line in ["  67   the appliance has no such service or backend", "  69   no telemetry port answered", "  77   refused: "] {
            #expect(admin.contains(line), "admin --help lists '\(line)':\n\(admin)")
        }
        let match = SkerryCLI.run(["rules", "match", "--help"]).stdout
        #expect(match.contains("  0    the packet is accepted") && match.contains("  2    the packet is dropped")
            && match.contains("  3    the packet is rejected"), "\(match)")
        let top = SkerryCLI.run(["top", "--help"]).stdout
        #expect(top.contains("Exit codes:") && top.contains("  130  interrupted"), "\(top)")
        let demo = SkerryCLI.run(["demo", "--help"]).stdout
        for option in ["--read-only", "--token", "--memory", "--nic-model", "--append", "--accel", "--forward"] {
            #expect(demo.contains(option) && top.contains(option), "demo takes \(option), as top does")
        }
    }

    /// README's exit-code table says what each command's --help says.
    @Test func readmeExitCodeTableMatchesTheHelp() throws {
        let readme = try String(contentsOf: SkerryCLI.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.range(of: "### Exit codes\n").map { readme[$0.upperBound...] })
        let rows = section.split(separator: "\n").prefix { !$0.hasPrefix("### ") }
            .filter { $0.hasPrefix("| `") }
        #expect(rows.count >= 10, "\(rows)")
        var helps: [String: String] = [:]
        for row in rows {
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 3, let code = Int(cells[1]) else { continue }
            for command in cells[0].split(separator: ",").map({ $0.trimmingCharacters(in: CharacterSet(charactersIn: " `")) }) {
                let help = helps[command] ?? SkerryCLI.run(command.split(separator: " ").map(String.init) + ["--help"]).stdout
                helps[command] = help
                let listed = help.split(separator: "\n").contains { $0.hasPrefix("  \(code) ") }
                #expect(listed, "README lists \(code) for \(command); its --help does not:\n\(help)")
            }
        }
        #expect(helps.keys.sorted() == ["admin", "console", "rules match", "smoke", "stats"], "\(helps.keys)")
    }

    @Test func invalidCommandLinesExit64() {
        let cases: [[String]] = [
            ["admin", "127.0.0.1:9", "explode", "s0/b00"],
            ["stats", "not-an-address"],
            ["stats", "127.0.0.1:9", "--json", "--watch"],
            ["rules", "match", Self.webRules, "--on", "outside"],
            ["rules", "match", Self.webRules, "--proto", "icmp", "--icmp-type", "echo-requst"],
            ["no-such-command"],
        ]
        for arguments in cases {
            let run = SkerryCLI.run(arguments)
            #expect(run.code == 64, "\(arguments): \(run.code) \(run.stderr)")
        }
    }

    // MARK: rules

    @Test func rulesMatchExitsByVerdictAndTakesTheLanguagesNames() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("skerry-verdict-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let rules = directory.appendingPathComponent("verdicts.rules").path
        try """
            policy in on public drop
            rule web: accept in on public proto tcp to port 80
            rule ident: reject in on public proto tcp to port 113
            rule ping: accept in on public proto icmp icmp-type echo-request
            """.write(toFile: rules, atomically: true, encoding: .utf8)
        func match(_ extra: [String]) -> SkerryCLI.Run {
            SkerryCLI.run(["rules", "match", rules, "--on", "public", "--from", "10.0.2.2:40000"] + extra)
        }
        let accepted = match(["--proto", "tcp", "--to", "10.0.2.15:80"])
        #expect(accepted.code == 0 && accepted.stdout.contains("rule 'web'"), "\(accepted.stdout)\(accepted.stderr)")
        let rejected = match(["--proto", "tcp", "--to", "10.0.2.15:113"])
        #expect(rejected.code == 3 && rejected.stdout.contains("rule 'ident'"), "\(rejected.code) \(rejected.stdout)")
        let dropped = match(["--proto", "udp", "--to", "10.0.2.15:53"])
        #expect(dropped.code == 2 && dropped.stdout.contains("default policy in on public decides: drop"), "\(dropped.code) \(dropped.stdout)")
        // ICMP types by the names a rule file uses, or by number.
        let ping = match(["--proto", "icmp", "--icmp-type", "echo-request", "--to", "10.0.2.15"])
        #expect(ping.code == 0 && ping.stdout.contains("rule 'ping'"), "\(ping.stdout)\(ping.stderr)")
        let byNumber = match(["--proto", "1", "--icmp-type", "8", "--to", "10.0.2.15"])
        #expect(byNumber.code == 0 && byNumber.stdout.contains("rule 'ping'"), "\(byNumber.stdout)\(byNumber.stderr)")
        let reply = match(["--proto", "icmp", "--icmp-type", "echo-reply", "--to", "10.0.2.15"])
        #expect(reply.code == 2, "an echo reply is not an echo request: \(reply.stdout)")
        let misspelt = match(["--proto", "icmp", "--icmp-type", "echo-requst", "--to", "10.0.2.15"])
        #expect(misspelt.code == 64 && misspelt.stderr.contains("unknown ICMP type 'echo-requst'")
            && misspelt.stderr.contains("echo-request"), "\(misspelt.stderr)")
        // A rule file that is not there is not a verdict.
        let missing = SkerryCLI.run(["rules", "match", directory.appendingPathComponent("absent.rules").path])
        #expect(missing.code == 1, "\(missing.code) \(missing.stderr)")
    }

    @Test func rulesCheckSaysNoErrorsWithCountsInTheRightNumber() throws {
        let check = SkerryCLI.run(["rules", "check", Self.webRules])
        #expect(check.code == 0 && check.stdout.contains("firewall.rules: no errors; 8 rules, 0 warnings"), "\(check.stdout)")
        #expect(!check.stdout.contains("nothing was built"))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("skerry-one-\(getpid())-\(UUID().uuidString.prefix(8)).rules").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try "rule web: accept in on public proto tcp to port 80\n".write(toFile: file, atomically: true, encoding: .utf8)
        let one = SkerryCLI.run(["rules", "check", file])
        #expect(one.code == 0 && one.stdout.contains(": no errors; 1 rule, 0 warnings"), "\(one.stdout)\(one.stderr)")
    }

    // MARK: admin and stats against a telemetry port

    @Test func adminExitCodesTellUnreachableRefusedAndNotFoundApart() throws {
        let server = try SyntheticTelemetryServer()
        defer { server.stop() }
        let address = "127.0.0.1:\(server.port)"
        let noToken: [String: String?] = ["SKERRY_ADMIN_TOKEN": nil]

        let done = SkerryCLI.run(["admin", address, "drain", "s0/b01", "--token", Self.token], environment: noToken)
        #expect(done.code == 0, "\(done.stdout)\(done.stderr)")
        let unknown = SkerryCLI.run(["admin", address, "drain", "s0/b99", "--token", Self.token], environment: noToken)
        #expect(unknown.code == 67 && unknown.stderr.contains("not found: "), "\(unknown.code) \(unknown.stderr)")
        let wrongToken = SkerryCLI.run(["admin", address, "drain", "s0/b01", "--token", "guess"], environment: noToken)
        #expect(wrongToken.code == 77, "unauthorized: \(wrongToken.code) \(wrongToken.stderr)")
        let missingToken = SkerryCLI.run(["admin", address, "drain", "s0/b01"], environment: noToken)
        #expect(missingToken.code == 77 && missingToken.stderr.contains("--token or SKERRY_ADMIN_TOKEN"), "\(missingToken.stderr)")
        let unreachable = SkerryCLI.run(["admin", "127.0.0.1:\(Self.closedPort())", "drain", "s0/b01", "--token", Self.token])
        #expect(unreachable.code == 69 && unreachable.stderr.contains("is the appliance running"), "\(unreachable.code) \(unreachable.stderr)")
        let other = try NotTelemetry()
        defer { other.stop() }
        let wrongPort = SkerryCLI.run(["admin", "127.0.0.1:\(other.port)", "drain", "s0/b01", "--token", Self.token])
        #expect(wrongPort.code == 76, "\(wrongPort.code) \(wrongPort.stderr)")
    }

    @Test func statsExitCodes() throws {
        let unreachable = SkerryCLI.run(["stats", "127.0.0.1:\(Self.closedPort())", "--timeout", "3"])
        #expect(unreachable.code == 69, "\(unreachable.code) \(unreachable.stderr)")
        let other = try NotTelemetry()
        defer { other.stop() }
        let wrongPort = SkerryCLI.run(["stats", "127.0.0.1:\(other.port)", "--timeout", "3"])
        #expect(wrongPort.code == 76 && wrongPort.stderr.contains("not a Skerry telemetry port"), "\(wrongPort.code) \(wrongPort.stderr)")
    }

    /// `jq '.backends["s0/b01"].administrative'` and friends, in Swift.
    @Test func statsJSONIsKeyedByName() throws {
        let server = try SyntheticTelemetryServer(services: 2, backends: 4, rules: 5)
        defer { server.stop() }
        let address = "127.0.0.1:\(server.port)"
        let disable = SkerryCLI.run(["admin", address, "disable", "s1/b03", "--token", Self.token])
        #expect(disable.code == 0, "\(disable.stderr)")
        let run = SkerryCLI.run(["stats", address, "--json"])
        #expect(run.code == 0, "\(run.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run.stdout)")
        let backends = try #require(document["backends"] as? [String: [String: Any]])
        #expect(Set(backends.keys) == ["s0/b00", "s0/b02", "s1/b01", "s1/b03"], "\(backends.keys)")
        #expect(backends["s0/b00"]?["state"] as? String == "UP")
        #expect(backends["s1/b03"]?["administrative"] as? String == "disabled")
        #expect(backends["s1/b01"]?["administrative"] as? String == "enabled")
        let traffic = try #require(backends["s0/b00"]?["traffic"] as? [String: Any])
        #expect(Set(traffic.keys) == Set(TrafficStatistic.allCases.map { "\($0.name)" }))

        let counters = try #require(document["counters"] as? [String: [String: Any]])
        #expect(Set(counters["balancer"]?.keys.map { $0 } ?? []) == Set(BalancerCounter.allCases.map { "\($0.name)" }))
        #expect(Set(counters["conntrack"]?.keys.map { $0 } ?? []) == Set(ConntrackCounter.allCases.map { "\($0.name)" }))
        #expect(counters["tcp"]?["\(TCPCounter.allCases[0].name)"] != nil)

        let rules = try #require(document["rules"] as? [String: [String: Any]])
        #expect(Set(rules.keys) == Set((0..<5).map { "rule-\($0)" }))
        #expect(rules["rule-1"]?["action"] as? String == "drop" && rules["rule-2"]?["action"] as? String == "reject")
        let policies = try #require(document["policies"] as? [String: [String: Any]])
        #expect(Set(policies.keys) == Set(PolicyKey.allCases.map { "\($0.direction.name)/\($0.role.name)" }))
        #expect(policies["in/public"]?["action"] as? String == "drop")
        #expect(policies["in/admin"]?["action"] as? String == "accept")

        let nics = try #require(document["nics"] as? [String: [String: Any]])
        #expect(Set(nics.keys) == Set(InterfaceRole.allCases.map { "\($0.name)" }))
        // The stream's own form stays available.
        let raw = try #require(document["raw"] as? [String: Any])
        #expect(raw["schema"] != nil && raw["snapshot"] != nil && raw["hello"] != nil)
    }

    /// `stats --watch` prints each snapshot once, with the dashboard's units.
    @Test func statsWatchNeverRepeatsASnapshotAndUsesDashboardUnits() throws {
        let server = try SyntheticTelemetryServer(busy: true)
        defer { server.stop() }
        var heads: [String] = []
        let run = SkerryCLI.run(["stats", "127.0.0.1:\(server.port)", "--watch", "--interval", "0.1"], timeout: 30) { line, child in
            if line.hasPrefix("--- 127.0.0.1:") { heads.append(line) }
            if heads.count == 25 { child.send(SIGINT) }
        }
        #expect(run.code == 130 && run.signal == nil, "SIGINT ends --watch with 130: \(run.code) \(run.stderr)")
        #expect(heads.count >= 25, "\(run.stdout.suffix(2000))")
        // Each summary is a new snapshot's: the stream numbers them.
        let sequences = heads.compactMap { line -> UInt64? in
            guard let range = line.range(of: ", snapshot ") else { return nil }
            return UInt64(line[range.upperBound...])
        }
        #expect(sequences.count == heads.count, "\(heads)")
        for (earlier, later) in zip(sequences, sequences.dropFirst()) {
            #expect(later > earlier, "a snapshot printed twice: \(sequences)")
        }
        // NIC rates read like the dashboard's: 1.0K/s, never 1.0KB/s.
        let nicRows = run.lines.filter { $0.hasPrefix("admin ") || $0.hasPrefix("public ") || $0.hasPrefix("private ") }
        #expect(!nicRows.isEmpty)
        let rates = nicRows.flatMap { $0.split(separator: " ").suffix(2) }
        #expect(rates.allSatisfy { $0 == "-" || $0.wholeMatch(of: /[0-9]+(\.[0-9])?[KMGT]?B?\/s/) != nil && !$0.contains("KB") && !$0.contains("MB") },
                "\(rates)")
        #expect(rates.contains { $0.hasSuffix("K/s") || $0.hasSuffix("M/s") }, "a busy appliance moves kilobytes: \(rates)")
    }

    // MARK: signals

    @Test func backendsExit130OnSIGINTAfterStopping() {
        let port = Self.closedPort()
        let run = SkerryCLI.run(["backends", "--count", "1", "--base-port", "\(port)"], timeout: 20) { line, child in
            if line.contains("listening on 127.0.0.1:\(port)") { child.send(SIGINT) }
        }
        #expect(run.code == 130 && run.signal == nil, "\(run.code) \(run.stdout) \(run.stderr)")
        #expect(run.stdout.contains("listening on"))
    }

    /// In a terminal, as a person presses Ctrl-C: `top` exits 130; `q` still exits 0.
    @Test func topExits130OnCtrlCAnd0OnQ() throws {
        let server = try SyntheticTelemetryServer()
        defer { server.stop() }
        for (key, expected) in [("C-c", 130), ("q", 0)] {
            let terminal = TmuxTerminal()
            defer { terminal.stop() }
            terminal.start("LANG=C.UTF-8 \(SkerryCLI.executable) top --attach 127.0.0.1:\(server.port) --interval 0.2; "
                + "echo SKERRY-TOP-EXITED $?; sleep 60", width: 100, height: 30)
            let (opened, screen) = terminal.wait(30) { $0.contains("1 Overview") && $0.contains("loopback") }
            #expect(opened, "\(screen)")
            terminal.keys(key)
            let (exited, last) = terminal.wait(15) { $0.contains("SKERRY-TOP-EXITED") }
            #expect(exited && last.contains("SKERRY-TOP-EXITED \(expected)"), "\(key): \(last)")
        }
    }
}
