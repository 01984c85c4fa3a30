import Foundation
import SkerryKit
#if canImport(Glibc)
import Glibc
#endif

/// Runs the real `skerry` executable the way a user or CI script does.
enum SkerryCLI {
    struct Run {
        /// The exit status, or 128 + the signal that ended the process (as a shell reports it).
        var code: Int32
        var stdout: String
        var stderr: String
        /// The signal that ended the process, when it did not exit by itself.
        var signal: Int32? = nil

        var lines: [String] { stdout.split(separator: "\n").map(String.init) }
        /// JSON events, when the run used `--json`.
        var events: [[String: Any]] {
            lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }
        var consoleLines: [String] { events.filter { $0["event"] as? String == "console" }.compactMap { $0["line"] as? String } }
        var exitEvent: [String: Any]? { events.last { $0["event"] as? String == "exit" } }
        var qemuPID: pid_t? { (events.first { $0["event"] as? String == "started" }?["pid"] as? Int).map { pid_t($0) } }
    }

    /// The `skerry` binary SwiftPM built next to this test bundle.
    static let executable: String = {
        // Suites boot appliances in parallel: none takes the stable host ports README's own path needs (ReadmePathTests).
        setenv("SKERRY_HOST_PORTS", "free", 1)
        let bundleDirectory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        var candidate = bundleDirectory
        for _ in 0..<4 {
            let path = candidate.appendingPathComponent("skerry").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
            candidate = candidate.deletingLastPathComponent()
        }
        return packageRoot.appendingPathComponent(".build/debug/skerry").path
    }()

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The kernel image, built once for the whole run through `skerry build`.
    static let image: String = {
        let result = run(["build", "--quiet"], timeout: 600)
        precondition(result.code == 0, "skerry build failed: \(result.stderr)")
        return kept(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }()

    /// A copy of a built kernel (and the ELF64 beside it) that this test process owns: the build cache keeps
    /// only its newest builds, and the suites build enough appliances to prune one still in use.
    static func kept(_ image: String) -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("skerry-kernels-\(getpid())-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let source = URL(fileURLWithPath: image)
        let copy = directory.appendingPathComponent(source.lastPathComponent)
        let symbols = source.deletingPathExtension().appendingPathExtension("elf")
        do {
            try FileManager.default.copyItem(at: source, to: copy)
            if FileManager.default.fileExists(atPath: symbols.path) {
                try FileManager.default.copyItem(at: symbols, to: directory.appendingPathComponent(symbols.lastPathComponent))
            }
        } catch {
            preconditionFailure("cannot keep a copy of \(image): \(error)")
        }
        return copy.path
    }

    /// Runs skerry with `arguments`, feeding `input`, and calls `onLine` for
    /// each stdout line as it arrives (with the child, to signal it).
    /// `environment` sets (or, with nil, removes) variables for this run alone.
    static func run(
        _ arguments: [String], input: String? = nil, keepInputOpen: Bool = false, timeout: Double = 60,
        environment: [String: String?] = [:], onLine: ((String, ChildProcess) -> Void)? = nil
    ) -> Run {
        let child: ChildProcess
        do {
            if environment.isEmpty {
                child = try ChildProcess.spawn(executable: executable, arguments: arguments, newProcessGroup: true)
            } else {
                let unset = environment.filter { $0.value == nil }.keys.sorted().flatMap { ["-u", $0] }
                let set = environment.compactMap { name, value in value.map { "\(name)=\($0)" } }.sorted()
                child = try ChildProcess.spawn(executable: "/usr/bin/env", arguments: unset + set + [executable] + arguments, newProcessGroup: true)
            }
        } catch {
            return Run(code: -1, stdout: "", stderr: "\(error)")
        }
        if let input {
            _ = input.withCString { write(child.standardInput, $0, strlen($0)) }
        }
        if !keepInputOpen { child.closeInput() }
        var out = Data()
        var err = Data()
        var pendingLine = Data()
        var fds = [
            pollfd(fd: child.standardOutput, events: Int16(POLLIN), revents: 0),
            pollfd(fd: child.standardError, events: Int16(POLLIN), revents: 0),
        ]
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while fds.contains(where: { $0.fd >= 0 }) {
            if Date() > deadline {
                child.terminate()
                break
            }
            _ = poll(&fds, 2, 100)
            for index in 0..<2 where fds[index].fd >= 0 && fds[index].revents != 0 {
                let count = read(fds[index].fd, &buffer, buffer.count)
                guard count > 0 else {
                    fds[index].fd = -1
                    continue
                }
                if index == 0 {
                    out.append(contentsOf: buffer[0..<count])
                    pendingLine.append(contentsOf: buffer[0..<count])
                    while let newline = pendingLine.firstIndex(of: 0x0A) {
                        let line = String(decoding: pendingLine[pendingLine.startIndex..<newline], as: UTF8.self)
                        pendingLine.removeSubrange(pendingLine.startIndex...newline)
                        onLine?(line, child)
                    }
                } else {
                    err.append(contentsOf: buffer[0..<count])
                }
            }
        }
        let termination = child.wait(timeout: 30)
        let code: Int32
        var signal: Int32?
        switch termination {
        case .exited(let status): code = status
        case .signalled(let number):
            code = 128 + number
            signal = number
        case nil: code = -1
        }
        return Run(code: code, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self), signal: signal)
    }

    /// Boots the kernel image headless under TCG with `--json`.
    static func boot(
        _ extra: [String], input: String? = nil, keepInputOpen: Bool = false, timeout: Double = 60,
        onLine: ((String, ChildProcess) -> Void)? = nil
    ) -> Run {
        run(["boot", image, "--accel", "tcg", "--json"] + extra, input: input, keepInputOpen: keepInputOpen,
            timeout: timeout, onLine: onLine)
    }

    /// The fields of a JSON event line, if it is one.
    static func event(_ line: String) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
    }

    static func isRunning(_ pid: pid_t) -> Bool {
        kill(pid, 0) == 0 || errno != ESRCH
    }
}
