import Foundation
import KernelCore
import SkerryKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// These boot the real kernel image in QEMU (TCG) through the `skerry`
/// command. They run one at a time: each boot is quick, and timing-based
/// outcomes (timeouts, signals) are clearer without contention.
@Suite(.serialized) struct BootIntegrationTests {
    /// Every run must leave no QEMU behind.
    private func expectQEMUGone(_ run: SkerryCLI.Run, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let pid = run.qemuPID else {
            Issue.record("no started event in: \(run.stdout.prefix(500)) \(run.stderr.prefix(500))", sourceLocation: sourceLocation)
            return
        }
        #expect(!SkerryCLI.isRunning(pid), "QEMU pid \(pid) survived", sourceLocation: sourceLocation)
    }

    @Test func bootsShowsTheBannerAndReadyAndShutsDownCleanly() {
        let run = SkerryCLI.boot(["--append", "shutdown-after=0"])
        #expect(run.code == 0, "\(run.stderr)")
        let console = run.consoleLines
        #expect(console.contains { $0.hasPrefix("Skerry \(KernelVersion.text)") })
        #expect(console.contains { $0.hasPrefix("cpu features: ") })
        #expect(console.contains { $0.hasPrefix("memory: ") && $0.contains("MiB available") })
        #expect(console.contains { $0.hasPrefix("boot: ") && $0.contains(" ms since entry (clock calibration ") })
        #expect(console.contains("skerry: ready"))
        #expect(console.last == "skerry: shutdown clean")
        #expect(run.exitEvent?["outcome"] as? String == "clean-shutdown")
        #expect(run.exitEvent?["qemuStatus"] as? Int == 33)
        expectQEMUGone(run)
    }

    @Test(arguments: [
        ("page-fault", "CPU exception 14 #PF (page fault)", "fault address (cr2) 0x00000001dead0000"),
        ("divide-error", "CPU exception 0 #DE (divide error)", "backtrace:"),
        ("general-protection", "CPU exception 13 #GP (general protection fault)", "error code 0x0000000000000000"),
        ("breakpoint", "CPU exception 3 #BP (breakpoint)", "backtrace:"),
        ("overflow", "Swift runtime trap: arithmetic overflow", "backtrace:"),
        ("fatal-error", "Swift runtime trap: SkerryKernel/PanicTests.swift:", "Fatal error: panic-test fatal error"),
        ("precondition", "Swift runtime trap: SkerryKernel/PanicTests.swift:", "Precondition failed: panic-test precondition"),
        ("double-free", "heap: double free of 0x", "backtrace:"),
        ("out-of-memory", "out of memory: ", "largest free block"),
    ])
    func everyPanicKindIsReportedWithItsCause(kind: String, headline: String, detail: String) {
        let run = SkerryCLI.boot(["--append", "panic-test=\(kind)"])
        #expect(run.code == BootOutcome.kernelPanic.exitCode, "\(run.stderr)")
        let console = run.consoleLines
        let panic = console.first { $0.hasPrefix("PANIC: ") }
        #expect(panic?.contains(headline) == true, "panic line: \(panic ?? "none")")
        #expect(console.contains { $0.contains(detail) })
        #expect(console.contains { $0.hasPrefix("  #0 0x") })
        #expect(console.last == "skerry: shutdown panic")
        #expect((run.exitEvent?["detail"] as? String)?.contains(headline) == true)
        expectQEMUGone(run)
    }

    @Test func aKernelFailureHasItsOwnCode() {
        let run = SkerryCLI.boot(["--append", "fail-test"])
        #expect(run.code == BootOutcome.kernelFailure.exitCode)
        #expect((run.exitEvent?["detail"] as? String)?.contains("fail-test requested") == true)
        expectQEMUGone(run)
    }

    @Test func timeoutStopsTheVM() {
        let run = SkerryCLI.boot(["--timeout", "1.5"])
        #expect(run.code == BootOutcome.timeout.exitCode)
        #expect(run.consoleLines.contains("skerry: ready"), "the kernel was up, just not finished")
        expectQEMUGone(run)
    }

    @Test func untilSucceedsOnAMatchingLine() {
        let run = SkerryCLI.boot(["--until", "^skerry: re.dy$", "--timeout", "30"])
        #expect(run.code == BootOutcome.untilMatched.exitCode)
        #expect((run.exitEvent?["detail"] as? String)?.contains("skerry: ready") == true)
        #expect(!run.consoleLines.contains("skerry: shutdown clean"), "skerry stopped the VM itself")
        expectQEMUGone(run)
    }

    /// `--log` writes where it points: a FIFO stays a FIFO (a device such as
    /// /dev/null is never replaced by a file), and a log that stops taking
    /// writes is said once while the boot goes on.
    @Test func theLogIsWrittenInPlaceAndItsFailureDoesNotStopTheBoot() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("skerry-log-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let fifo = directory.appendingPathComponent("console.fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let reader = try ChildProcess.spawn(executable: "/bin/cat", arguments: [fifo])
        defer { reader.terminate() }
        let piped = SkerryCLI.boot(["--until", "skerry: ready", "--timeout", "30", "--log", fifo])
        #expect(piped.code == BootOutcome.untilMatched.exitCode, "\(piped.stderr)")
        var status = stat()
        #expect(stat(fifo, &status) == 0 && (status.st_mode & S_IFMT) == S_IFIFO, "the FIFO was replaced by a file")

        let full = SkerryCLI.boot(["--until", "skerry: ready", "--timeout", "30", "--log", "/dev/full"])
        #expect(full.code == BootOutcome.untilMatched.exitCode, "\(full.stderr)")
        #expect(full.stderr.components(separatedBy: "the log file stopped taking writes").count == 2, "said once: \(full.stderr)")
        #expect(stat("/dev/full", &status) == 0 && (status.st_mode & S_IFMT) == S_IFCHR, "/dev/full is still the device")
    }

    @Test func failStopsOnAMatchingLineBeforeUntil() {
        let run = SkerryCLI.boot(["--fail", "cpu features", "--until", "skerry: ready", "--timeout", "30"])
        #expect(run.code == BootOutcome.failMatched.exitCode)
        #expect(!run.consoleLines.contains("skerry: ready"), "the VM stopped at the failing line")
        expectQEMUGone(run)
    }

    @Test func aFailPatternThatNeverMatchesLetsTheBootSucceed() {
        let run = SkerryCLI.boot(["--fail", "PANIC", "--append", "shutdown-after=0"])
        #expect(run.code == 0)
    }

    @Test func anImageQEMUCannotLoadIsAStartFailure() throws {
        let garbage = FileManager.default.temporaryDirectory.appendingPathComponent("skerry-garbage-\(getpid()).elf32")
        try Data("this is not a kernel".utf8).write(to: garbage)
        defer { try? FileManager.default.removeItem(at: garbage) }
        let run = SkerryCLI.run(["boot", garbage.path, "--accel", "tcg", "--json", "--timeout", "30"])
        #expect(run.code == BootOutcome.qemuStartFailed.exitCode, "\(run.stdout)")
        #expect(run.exitEvent?["outcome"] as? String == "qemu-start-failed")
        expectQEMUGone(run)
    }

    @Test func qemuDyingUnexpectedlyIsReportedAsSuch() {
        let run = SkerryCLI.boot(["--timeout", "30"]) { line, _ in
            guard line.contains("\"event\":\"started\""),
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let pid = object["pid"] as? Int
            else { return }
            kill(pid_t(pid), SIGKILL)
        }
        #expect(run.code == BootOutcome.qemuDied.exitCode, "\(run.stdout)")
        #expect((run.exitEvent?["detail"] as? String)?.contains("signal 9") == true)
        expectQEMUGone(run)
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func aSignalStopsTheVMThroughQMP(signal: Int32) {
        var sent = false
        let run = SkerryCLI.boot(["--timeout", "30"]) { line, child in
            if !sent && line.contains("skerry: ready") {
                sent = true
                child.send(signal)
            }
        }
        #expect(sent)
        #expect(run.code == BootOutcome.interrupted.exitCode)
        expectQEMUGone(run)
    }

    @Test func theSerialShellTakesInput() {
        let run = SkerryCLI.boot(["--input", "--timeout", "30"], input: "help\nstatus\nshutdown\n")
        #expect(run.code == 0, "\(run.stdout)")
        let console = run.consoleLines
        #expect(console.contains("commands:"))
        #expect(console.contains { $0.hasPrefix("uptime ") && $0.contains("loop load") })
        #expect(console.contains { $0.hasPrefix("heap: used ") })
        #expect(console.last == "skerry: shutdown clean")
    }

    @Test func theKernelSelfTestPassesOnTheRealMachine() {
        let run = SkerryCLI.boot(["--append", "selftest shutdown-after=0"])
        #expect(run.code == 0)
        #expect(run.consoleLines.contains { $0.hasPrefix("selftest: passed") })
    }

    @Test func unknownKernelArgumentsAreWarnedAboutNotFatal() {
        let run = SkerryCLI.boot(["--append", "frobnicate=1 shutdown-after=0"])
        #expect(run.code == 0)
        #expect(run.consoleLines.contains("warning: unknown kernel argument 'frobnicate=1'"))
    }

    @Test func theLogFileKeepsTheTimestampedConsole() throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("skerry-log-\(getpid()).txt")
        defer { try? FileManager.default.removeItem(at: log) }
        let run = SkerryCLI.run(["boot", SkerryCLI.image, "--accel", "tcg", "--append", "shutdown-after=0", "--log", log.path])
        #expect(run.code == 0)
        #expect(run.stdout.contains("] skerry: ready"), "text mode streams timestamped lines")
        let text = try String(contentsOf: log, encoding: .utf8)
        #expect(text.contains("] skerry: ready"))
        #expect(text.contains("clean-shutdown (exit 0)"))
    }

    @Test func badInputIsRefusedBeforeBooting() {
        let missing = SkerryCLI.run(["boot", "/nonexistent/image.elf32", "--accel", "tcg"])
        #expect(missing.code == BootOutcome.toolErrorExitCode)
        #expect(missing.stderr.contains("no kernel image at /nonexistent/image.elf32"))
        let badRegex = SkerryCLI.run(["boot", SkerryCLI.image, "--until", "(unclosed"])
        #expect(badRegex.code == 64)
        #expect(badRegex.stderr.contains("--until '(unclosed' is not a valid regular expression"))
        let badTimeout = SkerryCLI.run(["boot", SkerryCLI.image, "--timeout", "-1"])
        #expect(badTimeout.code == 64)
    }

    /// Seconds a timer cannot use are refused with the option's name, by every command that takes them.
    @Test func optionsInSecondsAreRefusedByName() {
        for value in ["inf", "nan", "1e308", "-1", "0"] {
            let boot = SkerryCLI.run(["boot", "/nonexistent/image.elf32", "--timeout=\(value)"])
            #expect(boot.code == 64 && boot.stderr.contains("--timeout must be a finite number of seconds > 0 and at most 604800, got '"),
                    "\(value): \(boot.stderr)")
        }
        // Also written apart from the option, where a negative number looks like an option of its own.
        for value in ["inf", "-1"] {
            let run = SkerryCLI.run(["boot", "/nonexistent/image.elf32", "--timeout", value])
            #expect(run.code == 64 && run.stderr.contains("--timeout must be a finite number of seconds > 0 and at most 604800, got '\(value)'"),
                    "\(run.stderr)")
        }
        let stats = SkerryCLI.run(["stats", "127.0.0.1:9", "--timeout", "-5"])
        #expect(stats.code == 64 && stats.stderr.contains("--timeout must be"), "\(stats.stderr)")
        for command in [["top", "--attach", "127.0.0.1:9"], ["demo"]] {
            for value in ["nan", "inf", "-1"] {
                let run = SkerryCLI.run(command + ["--interval=\(value)"])
                #expect(run.code == 64 && run.stderr.contains("--interval must be a finite number of seconds from 0.1 to 60, got '\(value)'"),
                        "\(command) \(value): \(run.stderr)")
            }
        }
        let bench = SkerryCLI.run(["bench", "dashboard", "--seconds=nan"])
        #expect(bench.code == 64 && bench.stderr.contains("--seconds must be a finite number of seconds from 1 to 3600, got 'nan'"), "\(bench.stderr)")
    }

    /// Forwards the user wrote are quoted back when they clash.
    @Test func forwardsThatClashAreRefusedAsTyped() throws {
        let twice = SkerryCLI.run(["boot", SkerryCLI.image, "--accel", "tcg", "--forward", "public:tcp:80:18080", "--forward", "public:tcp:80"])
        #expect(twice.code == 64)
        #expect(twice.stderr.contains("--forward 'public:tcp:80:18080' and --forward 'public:tcp:80' forward the same guest port"), "\(twice.stderr)")
        let listener = try HostTestServers()
        defer { listener.stop() }
        let port = try #require(listener.ports[7])
        let busy = SkerryCLI.run(["boot", SkerryCLI.image, "--accel", "tcg", "--forward", "public:tcp:80:\(port)"])
        #expect(busy.code == BootOutcome.toolErrorExitCode)
        #expect(busy.stderr.contains("--forward 'public:tcp:80:\(port)': 127.0.0.1:\(port)/tcp is already in use"), "\(busy.stderr)")
        #expect(busy.qemuPID == nil && !busy.stderr.contains("QEMU pid"), "nothing booted")
    }

    @Test func anUnchangedTreeIsACacheHit() {
        let first = SkerryCLI.run(["build"])
        let second = SkerryCLI.run(["build"])
        #expect(first.code == 0 && second.code == 0)
        #expect(second.stdout.contains("up to date"))
        let built = first.stdout.split(whereSeparator: \.isWhitespace).first { $0.hasSuffix(".elf32") }
        #expect(built != nil && second.stdout.contains(built!), "the same image: \(first.stdout) \(second.stdout)")
    }
}

/// QEMU dies with the skerry that started it, even when skerry cannot clean up.
@Suite struct OrphanTests {
    @Test func aKilledSkerryTakesItsQEMUWithIt() throws {
        let image = SkerryCLI.image
        let child = try ChildProcess.spawn(executable: SkerryCLI.executable,
                                           arguments: ["boot", image, "--accel", "tcg", "--timeout", "60"], newProcessGroup: false)
        child.closeInput()
        var qemu: Int32?
        let deadline = Date().addingTimeInterval(30)
        while qemu == nil && Date() < deadline {
            qemu = childProcesses(of: child.pid).first { processName($0).hasPrefix("qemu") }
            usleep(50_000)
        }
        let running = try #require(qemu, "skerry boot started QEMU")
        kill(child.pid, SIGKILL)
        _ = child.wait(timeout: 10)
        let gone = Date().addingTimeInterval(10)
        while kill(running, 0) == 0 && Date() < gone { usleep(50_000) }
        #expect(kill(running, 0) != 0, "QEMU \(running) outlived the skerry that started it")
    }
}
