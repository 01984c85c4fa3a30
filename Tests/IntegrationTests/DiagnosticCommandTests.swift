import Foundation
import Testing

/// Diagnostics as a user meets them through `skerry build`, `skerry rules check` and `skerry smoke`:
/// every file's problems in one run, each at its token with the line and a caret.
@Suite struct DiagnosticCommandTests {
    /// A directory with appliance.conf and fw.rules; removed by the caller.
    func appliance(_ conf: String, rules: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("skerry-diag-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try conf.write(to: directory.appendingPathComponent("appliance.conf"), atomically: true, encoding: .utf8)
        try rules.write(to: directory.appendingPathComponent("fw.rules"), atomically: true, encoding: .utf8)
        return directory
    }

    /// `skerry build` with an empty kernel tree: the appliance is checked (and its warnings printed)
    /// before the kernel tree is looked at, so nothing is compiled.
    func checkOnly(_ directory: URL) -> SkerryCLI.Run {
        let kernel = directory.appendingPathComponent("no-kernel")
        try? FileManager.default.createDirectory(at: kernel, withIntermediateDirectories: true)
        return SkerryCLI.run(["build", directory.path, "--kernel", kernel.path, "--output", directory.appendingPathComponent("out").path])
    }

    @Test func oneRunReportsTheApplianceAndItsFirewallWithWarnings() throws {
        let directory = try appliance("""
            appliance web
            service web {
                port 80
                algorithm least-connection
                health-check interval 1s timeout 2s
                backend web1 10.0.3.2:8081
            }
            nic publc address 10.0.2.15/24
            firewall fw.rules
            """, rules: """
            rule web: accept in proto tcp
            rule http: accept in on public proto tcp to port 80
            rule ssh: accept in on admin proto tcp to port $operator-ports
            """)
        defer { try? FileManager.default.removeItem(at: directory) }
        let conf = directory.appendingPathComponent("appliance.conf").path
        let rules = directory.appendingPathComponent("fw.rules").path
        let run = checkOnly(directory)
        #expect(run.code != 0)
        let expected = """
            \(conf):4:15: error: unknown algorithm 'least-connection'; did you mean 'least-connections'?
                    algorithm least-connection
                              ^
            \(conf):5:30: error: service 'web': the health-check timeout 2s must be shorter than its interval 1s
                    health-check interval 1s timeout 2s
                                             ^
            \(conf):8:5: error: unknown NIC role 'publc'; did you mean 'public'?
                nic publc address 10.0.2.15/24
                    ^
            \(rules):2:6: warning: rule 'http' can never match: rule 'web' (line 1) matches everything it matches
                rule http: accept in on public proto tcp to port 80
                     ^
            \(rules):3:48: error: unknown set '$operator-ports'
                rule ssh: accept in on admin proto tcp to port $operator-ports
                                                               ^

            """
        #expect(run.stderr.contains("invalid appliance, nothing was built:\n" + expected), "\(run.stderr)")
    }

    @Test func aServiceTheFirewallDropsIsAWarningOfTheBuild() throws {
        let directory = try appliance("""
            appliance web
            service web {
                port 80
                backend web1 10.0.3.2:8081
            }
            firewall fw.rules
            """, rules: """
            policy in on public drop
            rule ssh: accept in on public proto tcp to port 22
            """)
        defer { try? FileManager.default.removeItem(at: directory) }
        let run = checkOnly(directory)
        #expect(run.stderr.hasPrefix("""
            \(directory.path)/appliance.conf:3:10: warning: service web listens on public tcp/80 but the firewall drops it: no rule accepts it and policy in public is drop
                    port 80
                         ^

            """), "\(run.stderr)")
        // The check went on to the kernel tree: a warning does not stop the build.
        #expect(run.stderr.contains("does not look like a Skerry kernel tree"), "\(run.stderr)")
    }

    @Test func rulesCheckShowsWarningsBesideErrors() throws {
        let directory = try appliance("", rules: "rule web: accept in proto tcp\nrule http: accept in on public proto tcp to port 80\nrule x: acept\n")
        defer { try? FileManager.default.removeItem(at: directory) }
        let rules = directory.appendingPathComponent("fw.rules").path
        let run = SkerryCLI.run(["rules", "check", rules])
        #expect(run.code != 0)
        #expect(run.stderr.contains("""
            \(rules):2:6: warning: rule 'http' can never match: rule 'web' (line 1) matches everything it matches
                rule http: accept in on public proto tcp to port 80
                     ^
            \(rules):3:9: error: expected an action (accept, drop or reject), found 'acept'; did you mean 'accept'?
                rule x: acept
                        ^
            """), "\(run.stderr)")
    }

    /// Not found, a directory, and (as a user who may not read it) permission denied.
    @Test func anUnreadableFileSaysWhy() throws {
        let directory = try appliance("appliance web\nservice web {\n    port 80\n    backend web1 10.0.3.2:8081\n}\nfirewall fw.rules\n", rules: "")
        defer { try? FileManager.default.removeItem(at: directory) }
        let conf = directory.appendingPathComponent("appliance.conf").path
        let rules = directory.appendingPathComponent("fw.rules").path
        let missing = SkerryCLI.run(["rules", "check", rules + ".missing"])
        #expect(missing.stderr.contains("\(rules).missing:1:1: error: cannot read the file: no such file\n"), "\(missing.stderr)")
        let folder = SkerryCLI.run(["rules", "check", directory.path])
        #expect(folder.stderr.contains("\(directory.path):1:1: error: cannot read the file: it is a directory\n"), "\(folder.stderr)")
        let smoke = SkerryCLI.run(["smoke", directory.path])
        #expect(smoke.code == 2 && smoke.stderr == "\(directory.path):1:1: error: cannot read the file: it is a directory\n", "\(smoke.stderr)")

        // Root reads anything, so the unreadable files are tried as nobody.
        let canDropPrivileges = getuid() != 0 || FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")
        try #require(canDropPrivileges, "running as root without setpriv: permission denied cannot be tried")
        try FileManager.default.setAttributes([.posixPermissions: 0o000], ofItemAtPath: rules)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
        let asUser: [String] = getuid() == 0 ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", SkerryCLI.executable] : [SkerryCLI.executable]
        let denied = Self.capture(asUser + ["rules", "check", rules])
        #expect(denied.contains("\(rules):1:1: error: cannot read the file: permission denied\n"), "\(denied)")
        let build = Self.capture(asUser + ["build", conf, "--kernel", "/nonexistent", "--output", "/nonexistent"])
        #expect(build.contains("""
            \(conf):6:10: error: cannot read the rule file 'fw.rules': permission denied (looked for \(rules))
                firewall fw.rules
                         ^
            """), "\(build)")
    }

    @Test func smokeDiagnosticsQuoteTheLineWithACaret() throws {
        let directory = try appliance("", rules: "")
        defer { try? FileManager.default.removeItem(at: directory) }
        let script = directory.appendingPathComponent("suite.yaml").path
        try "suite: x\nappliance: ..\nsteps:\n  - expect-console: \"skerry: ready\"\n  - {send: status, timout: 3}\n".write(toFile: script, atomically: true, encoding: .utf8)
        let run = SkerryCLI.run(["smoke", script])
        #expect(run.code == 2)
        #expect(run.stderr.hasPrefix("\(script):5:20: error: unknown key timout in a step (did you mean timeout?); "), "\(run.stderr)")
        #expect(run.stderr.hasSuffix("\n      - {send: status, timout: 3}\n                       ^\n"), "\(run.stderr)")
    }

    /// Standard error (and output) of a command run with its full path.
    static func capture(_ command: [String]) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.currentDirectoryURL = URL(fileURLWithPath: "/")
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return "\(error)" }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
