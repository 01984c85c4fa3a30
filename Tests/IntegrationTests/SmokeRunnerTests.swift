import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import SkerryKit
import Testing

/// `skerry smoke` as CI runs it: small suites that must pass and must fail,
/// their KTAP and exit codes, the JUnit file, and two suites at once.
@Suite(.serialized) struct SmokeRunnerTests {
    static let web = SkerryCLI.packageRoot.appendingPathComponent("Samples/web").path

    /// Writes `steps` as a suite against Samples/web in a temporary directory.
    static func suite(_ name: String, backends: Bool = true, extra: String = "", steps: String) throws -> String {
        let directory = NSTemporaryDirectory() + "skerry-smoke-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/\(name).yaml"
        let backendList = backends ? "backends: [{name: web1, port: 8081}, {name: web2, port: 8082}, {name: web3, port: 8083}]\n" : ""
        try """
            suite: \(name)
            appliance: \(web)
            accel: tcg
            timeout: 90
            \(backendList)\(extra)steps:
            \(steps)
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Validates `file` against Jenkins' JUnit schema (scripts/setup fetches it) with xmlschema.
    static func validateJUnit(_ file: String) throws -> CapturedRun {
        let root = SkerryCLI.packageRoot.appendingPathComponent(".build/python")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scripts/junit_validate.py").path
        let venv = root.appendingPathComponent("bin/python3").path
        let schema = root.appendingPathComponent("junit-10.xsd").path
        if FileManager.default.isExecutableFile(atPath: venv) { return try CapturedRun.run(venv, [script, schema, file]) }
        setenv("PYTHONPATH", root.appendingPathComponent("packages").path, 1)
        return try CapturedRun.run("/usr/bin/env", ["python3", script, schema, file])
    }

    static func smoke(_ arguments: [String]) throws -> CapturedRun {
        try CapturedRun.run(SkerryCLI.executable, ["smoke", "--log-dir", NSTemporaryDirectory() + "skerry-smoke-\(getpid())/logs"] + arguments)
    }

    @Test func passingSuitesRunInParallelAndWriteJUnit() throws {
        sampleBackendPorts.lock()
        defer { sampleBackendPorts.unlock() }
        let first = try Self.suite("first", steps: """
              - expect-console: "skerry: ready"
              - wait: backends["web/web1"].state == up
              - {name: web1 answers, http: {path: /, backend: web1}}
              - connect: 80
              - send: status
              - expect-console: "loop load"
              - shutdown
            """)
        // No backends of its own, so it runs beside the first.
        let second = try Self.suite("second", backends: false, steps: """
              - expect-console: "skerry: ready"
              - wait: counters["frames-received"] >= 1
              - sleep: 0.5
              - shutdown
            """)
        let junit = NSTemporaryDirectory() + "skerry-smoke-\(getpid())/junit.xml"
        let run = try Self.smoke([first, second, "--jobs", "2", "--junit", junit])
        #expect(run.termination == .exited(0), "\(run.output)")
        #expect(run.output.hasPrefix("KTAP version 1\n1..2\n"))
        #expect(run.output.contains("    ok 3 web1 answers\n") && run.output.contains("    ok 4 connect port 80\n"))
        #expect(run.output.contains("ok 1 first\n") && run.output.contains("ok 2 second\n"))
        let xml = try String(contentsOfFile: junit, encoding: .utf8)
        let document = try XMLDocument(xmlString: xml)
        let suites = try document.nodes(forXPath: "/testsuites/testsuite")
        #expect(suites.count == 2)
        #expect(try document.nodes(forXPath: "//testcase").count == 11)
        #expect(try document.nodes(forXPath: "//failure").isEmpty)
        #expect((try document.nodes(forXPath: "/testsuites/@tests").first?.stringValue) == "11")
        let validation = try Self.validateJUnit(junit)
        #expect(validation.termination == .exited(0), "the JUnit schema rejects the file: \(validation.output)")
    }

    @Test(arguments: [
        ("console", #"  - {expect-console: "no such line ever", timeout: 2}"#, "expected: a console line matching /no such line ever/"),
        ("http", "  - wait: backends[\"web/web1\"].state == up\n  - http: {path: /, backend: web3}", "expected: served by web3"),
        ("wait", "  - {wait: 'backends[\"web/web2\"].state == draining', timeout: 2}", "seen:     state = enabled"),
        ("refused", "  - wait: backends[\"web/web1\"].state == up\n  - refused: 80", "expected: no answer on public port 80"),
        ("shutdown", "  - shutdown: kernel-panic", "expected: the VM to end with kernel-panic"),
        ("connect", "  - {connect: 7, timeout: 3}", "seen:     the connection was closed at once"),
        ("admin", "  - admin: drain web/web9", "seen:     refused (notFound): no backend web/web9"),
        ("load", "  - wait: backends[\"web/web1\"].state == up\n  - stop-backend: web1\n  - stop-backend: web2\n  - stop-backend: web3\n"
            + "  - {load: {seconds: 1, rate: 5}}", "expected: at most 0 of"),
    ])
    func aFailingStepNamesItselfAndWhatItSaw(kind: String, steps: String, message: String) throws {
        sampleBackendPorts.lock()
        defer { sampleBackendPorts.unlock() }
        let path = try Self.suite("fails-\(kind)", steps: "  - expect-console: \"skerry: ready\"\n" + steps + "\n  - send: status")
        let junit = path + ".junit.xml"
        let run = try Self.smoke([path, "--junit", junit])
        let validation = try Self.validateJUnit(junit)
        #expect(validation.termination == .exited(0), "the JUnit schema rejects the file: \(validation.output)")
        #expect((try? String(contentsOfFile: junit, encoding: .utf8))?.contains("<failure message=\"expected ") == true)
        #expect(run.termination == .exited(1), "\(run.output)")
        #expect(run.output.contains(message), "\(run.output)")
        #expect(run.output.contains("# last console lines:"), "\(run.output)")
        #expect(run.output.contains("# SKIP an earlier step failed") || kind == "shutdown", "\(run.output)")
        #expect(run.output.contains("not ok 1 fails-\(kind)"))
    }

    /// The sample suites (Samples/*/smoke): balancing, failover and recovery, drain, firewall, vmxnet3.
    @Test func theSampleSuitesPass() throws {
        sampleBackendPorts.lock()
        defer { sampleBackendPorts.unlock() }
        let samples = SkerryCLI.packageRoot.appendingPathComponent("Samples")
        let files = try FileManager.default.subpathsOfDirectory(atPath: samples.path)
            .filter { $0.contains("/smoke/") && $0.hasSuffix(".yaml") }.sorted().map { samples.appendingPathComponent($0).path }
        #expect(files.count >= 3)
        let run = try Self.smoke(files + ["--jobs", "2"])
        #expect(run.termination == .exited(0), "\(run.output)")
        #expect(!run.output.contains("not ok"), "\(run.output)")
    }

    /// Ctrl-C in the middle of a suite: exit 130, QEMU gone, the backend's port free again.
    @Test func anInterruptLeavesNothingBehind() throws {
        sampleBackendPorts.lock()
        defer { sampleBackendPorts.unlock() }
        let path = try Self.suite("interrupted", steps: "  - expect-console: \"skerry: ready\"\n  - sleep: 600")
        let child = try ChildProcess.spawn(
            executable: SkerryCLI.executable,
            arguments: ["smoke", "--log-dir", NSTemporaryDirectory() + "skerry-smoke-\(getpid())/logs", path], newProcessGroup: false)
        child.closeInput()
        var qemu: Int32?
        let deadline = Date().addingTimeInterval(120)
        while qemu == nil && Date() < deadline {
            qemu = childProcesses(of: child.pid).first { processName($0).hasPrefix("qemu") }
            usleep(100_000)
        }
        #expect(qemu != nil, "the suite booted")
        Thread.sleep(forTimeInterval: 2)  // into the sleep step
        kill(child.pid, SIGINT)
        let termination = child.wait(timeout: 60)
        #expect(termination == .exited(130), "\(String(describing: termination))")
        if let qemu { #expect(kill(qemu, 0) != 0, "QEMU \(qemu) is still running") }
        let backend = try? SampleBackend(name: "probe", port: 8081) { _ in }
        #expect(backend != nil, "port 8081 is free again")
        backend?.stop()
    }

    @Test(arguments: ["missing-dir/report.xml", "", "a-file/report.xml"])
    func aJUnitPathThatCannotBeWrittenFailsBeforeAnythingBoots(relative: String) throws {
        let path = try Self.suite("unwritable", backends: false, steps: "  - shutdown: clean")
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try "x".write(toFile: directory + "/a-file", atomically: true, encoding: .utf8)
        let junit = directory + "/" + relative
        let started = Date()
        let run = try Self.smoke([path, "--junit", junit])
        #expect(run.termination == .exited(64), "\(run.output)")
        #expect(run.output.contains("cannot write --junit \(junit): "), "\(run.output)")
        #expect(!run.output.contains("KTAP"), "nothing ran")
        #expect(Date().timeIntervalSince(started) < 10, "nothing booted")
    }

    @Test func anInvalidScriptFailsBeforeAnythingBoots() throws {
        let path = try Self.suite("invalid", backends: false, steps: "  - wait: backends[\"x\"].colour == red")
        let started = Date()
        let run = try Self.smoke([path])
        #expect(run.termination == .exited(2))
        #expect(run.output.contains("\(path):6:11: error: wait: backends have .state"), "\(run.output)")
        #expect(Date().timeIntervalSince(started) < 10, "nothing booted")
    }
}
