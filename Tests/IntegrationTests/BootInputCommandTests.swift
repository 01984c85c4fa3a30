import Foundation
@testable import SkerryKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `skerry boot`'s input paths under hostile clients, and its command-line
/// errors, run as a user runs the command. The flood tests boot
/// Scripts/slow_reader_qemu.py in QEMU's place: a guest that prints without
/// pause and reads its console input 16 bytes at a time, which is what makes
/// a blocking write to QEMU's stdin hang both sides. No VM is needed.
@Suite(.serialized) struct BootInputCommandTests {
    static let slowGuest = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Scripts/slow_reader_qemu.py").path
    /// ~1 MB of `status\n`, what a flooding client tries to type.
    static let flood = [UInt8](String(repeating: "status\n", count: 150_000).utf8)

    /// Any readable file: the fake guest never loads it.
    static func image() throws -> String {
        let path = NSTemporaryDirectory() + "skerry-fake-\(getpid()).elf32"
        try Data("not a kernel".utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func socketPath() -> String { "/tmp/skerry-flood-\(getpid())-\(UInt32.random(in: 0..<UInt32.max)).sock" }

    /// The boot command against the fake guest.
    static func boot(_ extra: [String], json: Bool = true) throws -> [String] {
        ["boot", try image(), "--qemu", slowGuest, "--accel", "tcg"] + (json ? ["--json"] : []) + extra
    }

    /// A console client that types `flood` as fast as the socket takes it and
    /// reads what the console says, so it is never dropped as a stalled reader.
    final class Flooder: @unchecked Sendable {
        private let lock = NSLock()
        private var sentBytes = 0
        private var receivedBytes = 0
        private var stopped = false
        private let done = DispatchSemaphore(value: 0)

        var sent: Int { lock.withLock { sentBytes } }
        var received: Int { lock.withLock { receivedBytes } }

        init(path: String) {
            Thread.detachNewThread { [self] in
                defer { done.signal() }
                let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
                defer { close(fd) }
                let connected = UnixSocketAddress.connect(fd, to: path)
                guard connected == 0 else { return }
                var offset = 0
                var buffer = [UInt8](repeating: 0, count: 65536)
                while !lock.withLock({ stopped }) {
                    if offset < BootInputCommandTests.flood.count {
                        let count = BootInputCommandTests.flood.withUnsafeBytes {
                            send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
                        }
                        if count > 0 {
                            offset += count
                            lock.withLock { sentBytes = offset }
                        } else if errno != EAGAIN {
                            return
                        }
                    }
                    let count = recv(fd, &buffer, buffer.count, 0)
                    if count > 0 { lock.withLock { receivedBytes += count } } else if count == 0 { return }
                    var pfd = pollfd(fd: fd, events: Int16(POLLIN | POLLOUT), revents: 0)
                    _ = poll(&pfd, 1, 10)
                }
            }
        }

        func stop() {
            lock.withLock { stopped = true }
            _ = done.wait(timeout: .now() + 5)
        }
    }

    /// Runs the boot, starting a flooder at the first console line, and
    /// calls `afterFlood` with each console line once the flood has filled
    /// the input backlog (the client's sends block).
    static func flooded(_ extra: [String], path: String, afterFlood: @escaping (Int, ChildProcess) -> Void = { _, _ in })
        throws -> (run: SkerryCLI.Run, flooder: Flooder?, linesAfterFlood: Int, seconds: Double)
    {
        var flooder: Flooder?
        var linesAfterFlood = 0
        var floodFilled: Date?
        let started = Date()
        let run = SkerryCLI.run(try boot(extra + ["--console", "unix:\(path)"]), timeout: 30) { line, child in
            guard line.contains("\"event\":\"console\"") else { return }
            if flooder == nil { flooder = Flooder(path: path) }
            if floodFilled == nil, let flooder, flooder.sent >= BootSession.maximumPendingInput { floodFilled = Date() }
            if floodFilled != nil {
                linesAfterFlood += 1
                afterFlood(linesAfterFlood, child)
            }
        }
        flooder?.stop()
        return (run, flooder, linesAfterFlood, Date().timeIntervalSince(started))
    }

    @Test func aClientFloodingTheConsoleHoldsNothingUpAndTheTimeoutFiresOnTime() throws {
        let path = Self.socketPath()
        let (run, flooder, linesAfterFlood, seconds) = try Self.flooded(["--timeout", "5"], path: path)
        #expect(run.code == BootOutcome.timeout.exitCode, "\(run.stderr.suffix(500))")
        #expect(seconds < 9, "--timeout 5 ended the run after \(seconds) s")
        let sent = flooder?.sent ?? 0
        #expect(sent >= BootSession.maximumPendingInput, "the client typed \(sent) bytes")
        #expect(sent < Self.flood.count, "back-pressure: the client's writes wait while the guest reads slowly")
        #expect(linesAfterFlood > 1000, "the console kept streaming under the flood: \(linesAfterFlood) lines")
        #expect((flooder?.received ?? 0) > 100_000, "the flooding client still sees the console")
        #expect(access(path, F_OK) != 0, "the socket file is removed")
    }

    @Test func sigintStopsAFloodedBootWith130() throws {
        let path = Self.socketPath()
        let signalled = ManagedAtomicCounter()
        var linesBeforeSignal = 0
        // The signal comes from a timer, not from a console line: a hung boot prints none.
        let (run, _, _, seconds) = try Self.flooded(["--timeout", "60"], path: path) { lines, child in
            if lines == 1 {
                let pid = child.pid
                DispatchQueue.global().asyncAfter(deadline: .now() + 3) {
                    signalled.set(1)
                    kill(pid, SIGINT)
                }
            }
            if signalled.value == 0 { linesBeforeSignal = lines }
        }
        #expect(signalled.value == 1)
        #expect(linesBeforeSignal > 1000, "the console kept streaming under the flood: \(linesBeforeSignal) lines")
        #expect(run.code == 130, "\(run.stderr.suffix(500))")
        #expect(seconds < 15, "SIGINT ended the run after \(seconds) s")
        #expect(run.exitEvent?["detail"] as? String == "received signal \(SIGINT)")
        #expect(access(path, F_OK) != 0, "the socket file is removed")
    }

    @Test func floodingStandardInputHoldsNothingUpEither() throws {
        signal(SIGPIPE, SIG_IGN)
        let written = ManagedAtomicCounter()
        var writer: Thread?
        var lines = 0
        let started = Date()
        let run = SkerryCLI.run(try Self.boot(["--input", "--timeout", "5"]), keepInputOpen: true, timeout: 30) { line, child in
            guard line.contains("\"event\":\"console\"") else { return }
            lines += 1
            guard writer == nil else { return }
            let fd = child.standardInput
            writer = Thread {
                var offset = 0
                while offset < Self.flood.count {
                    let count = Self.flood.withUnsafeBytes { write(fd, $0.baseAddress! + offset, min(65536, $0.count - offset)) }
                    guard count > 0 else { return }
                    offset += count
                    written.set(offset)
                }
            }
            writer?.start()
        }
        #expect(run.code == BootOutcome.timeout.exitCode, "\(run.stderr.suffix(500))")
        #expect(Date().timeIntervalSince(started) < 9)
        #expect(written.value >= BootSession.maximumPendingInput && written.value < Self.flood.count,
                "skerry read \(written.value) bytes of stdin, as fast as the guest took them")
        #expect(lines > 1000, "the console kept streaming: \(lines) lines")
    }

    @Test func aClosedStandardOutputStopsTheVMAndRemovesTheSocket() throws {
        let path = Self.socketPath()
        let errors = NSTemporaryDirectory() + "skerry-head-\(getpid()).err"
        defer { unlink(errors) }
        let command = ([SkerryCLI.executable] + (try Self.boot(["--timeout", "20", "--console", "unix:\(path)"], json: false)))
            .map { "'\($0)'" }.joined(separator: " ")
        let shell = try ChildProcess.spawn(executable: "/bin/bash", arguments: [
            "-c", "\(command) 2>'\(errors)' | head -1; echo \"status ${PIPESTATUS[0]}\"",
        ])
        shell.closeInput()
        let started = Date()
        var output = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while Date().timeIntervalSince(started) < 30 {
            let count = read(shell.standardOutput, &buffer, buffer.count)
            if count <= 0 { break }
            output.append(contentsOf: buffer[0..<count])
        }
        shell.terminate()
        let text = String(decoding: output, as: UTF8.self)
        #expect(text.hasPrefix("[") && text.contains("] skerry: ready\n"), "head printed the first line: \(text)")
        #expect(text.hasSuffix("status 130\n"), "\(text)")
        #expect(Date().timeIntervalSince(started) < 15, "skerry stopped when head went, not at --timeout")
        let said = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
        #expect(said.contains("skerry: interrupted (exit 130): standard output was closed; the VM was stopped"), "\(said)")
        #expect(access(path, F_OK) != 0, "the socket file is removed")
    }

    @Test(arguments: [
        (["--forward", "garbage"], "bad --forward 'garbage': expected ROLE:PROTO:GUEST[:HOST]"),
        (["--forward", "public:tcp:0"], "bad --forward 'public:tcp:0': GUEST must be a port 1-65535"),
        (["--forward", "public:tcp:80:18080", "--forward", "public:tcp:80"],
         "--forward 'public:tcp:80:18080' and --forward 'public:tcp:80' forward the same guest port; give one"),
        (["--until", "("], "--until '(' is not a valid regular expression"),
        (["--fail", "ok", "--fail", "[x"], "--fail '[x' is not a valid regular expression"),
        (["--network", "tap", "--forward", "public:tcp:80"], "--forward applies to --network user"),
    ])
    func commandLineErrorsAreUsageErrors(arguments: [String], message: String) throws {
        let run = SkerryCLI.run(try Self.boot(arguments))
        #expect(run.code == 64, "\(run.stderr)")
        #expect(run.stderr.contains(message), "\(run.stderr)")
        #expect(!run.stdout.contains("\"started\""), "nothing booted")
    }

    @Test func aSocketPathThatCannotBeCreatedSaysWhy() throws {
        let run = SkerryCLI.run(try Self.boot(["--console", "unix:/proc/skerry-console.sock"]))
        #expect(run.code == BootOutcome.toolErrorExitCode)
        #expect(run.stderr.contains("--console unix:/proc/skerry-console.sock: cannot create the socket: "), "\(run.stderr)")
        #expect(!run.stderr.contains("does not exist"), "/proc exists: \(run.stderr)")
    }
}

/// An integer one thread sets and another reads.
final class ManagedAtomicCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = 0
    var value: Int { lock.withLock { stored } }
    func set(_ value: Int) { lock.withLock { stored = value } }
}
