#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// How a child process ended.
public enum ProcessTermination: Equatable, Sendable, CustomStringConvertible {
    case exited(Int32)
    case signalled(Int32)

    init(waitStatus status: Int32) {
        if status & 0x7F == 0 {
            self = .exited((status >> 8) & 0xFF)
        } else {
            self = .signalled(status & 0x7F)
        }
    }

    public var description: String {
        switch self {
        case .exited(let code): return "exit status \(code)"
        case .signalled(let signal): return "signal \(signal)"
        }
    }
}

public enum ChildProcessError: Error, CustomStringConvertible {
    case spawnFailed(executable: String, errno: Int32)
    case pipeFailed(errno: Int32)

    public var description: String {
        switch self {
        case .spawnFailed(let executable, let code):
            return "could not start \(executable): \(String(cString: strerror(code)))"
        case .pipeFailed(let code):
            return "could not create a pipe: \(String(cString: strerror(code)))"
        }
    }
}

/// A process started with pipes on its standard streams, optionally in a
/// process group of its own so that a terminal's Ctrl-C reaches only us and
/// we decide how the child stops. It is only ever signalled by its PID.
public final class ChildProcess {
    public let pid: pid_t
    /// Write end of the child's stdin, or -1 once closed.
    public private(set) var standardInput: Int32
    public let standardOutput: Int32
    public let standardError: Int32
    public private(set) var termination: ProcessTermination?

    private init(pid: pid_t, standardInput: Int32, standardOutput: Int32, standardError: Int32) {
        self.pid = pid
        self.standardInput = standardInput
        self.standardOutput = standardOutput
        self.standardError = standardError
    }

    deinit {
        if standardInput >= 0 { close(standardInput) }
        close(standardOutput)
        close(standardError)
    }

    public static func spawn(
        executable: String, arguments: [String], newProcessGroup: Bool = true
    ) throws -> ChildProcess {
        var input: [Int32] = [-1, -1]
        var output: [Int32] = [-1, -1]
        var error: [Int32] = [-1, -1]
        for index in 0..<3 {
            let result = index == 0 ? pipe(&input) : index == 1 ? pipe(&output) : pipe(&error)
            if result != 0 { throw ChildProcessError.pipeFailed(errno: errno) }
        }
        // Our ends must not leak into the child (or into later children).
        for fd in [input[1], output[0], error[0]] { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }

        #if canImport(Glibc)
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        #else
        var actions: posix_spawn_file_actions_t? = nil
        var attributes: posix_spawnattr_t? = nil
        #endif
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, error[1], 2)
        for fd in [input[0], output[1], error[1]] { posix_spawn_file_actions_addclose(&actions, fd) }

        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if newProcessGroup {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        close(input[0])
        close(output[1])
        close(error[1])
        if status != 0 {
            close(input[1])
            close(output[0])
            close(error[0])
            throw ChildProcessError.spawnFailed(executable: executable, errno: status)
        }
        return ChildProcess(pid: pid, standardInput: input[1], standardOutput: output[0], standardError: error[0])
    }

    /// Reaps the child if it has ended; never blocks.
    @discardableResult
    public func poll() -> ProcessTermination? {
        if let termination { return termination }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid { termination = ProcessTermination(waitStatus: status) }
        return termination
    }

    /// Waits up to `timeout` seconds for the child to end.
    @discardableResult
    public func wait(timeout: Double) -> ProcessTermination? {
        let deadline = Date().addingTimeInterval(timeout)
        while poll() == nil {
            if Date() >= deadline { return nil }
            usleep(5_000)
        }
        return termination
    }

    /// Sends `signal` to the child (by PID, never by name).
    public func send(_ signal: Int32) {
        guard poll() == nil else { return }
        kill(pid, signal)
    }

    /// Ends the child: SIGTERM, then SIGKILL if it does not go within `grace` seconds.
    public func terminate(grace: Double = 2) {
        guard poll() == nil else { return }
        send(SIGTERM)
        if wait(timeout: grace) == nil {
            send(SIGKILL)
            wait(timeout: 5)
        }
    }

    public func closeInput() {
        if standardInput >= 0 {
            close(standardInput)
            standardInput = -1
        }
    }
}

/// Runs a command to completion and captures its output (for build steps).
public struct CapturedRun: Sendable {
    public var termination: ProcessTermination
    public var output: String

    public var succeeded: Bool { termination == .exited(0) }

    public static func run(_ executable: String, _ arguments: [String]) throws -> CapturedRun {
        let child = try ChildProcess.spawn(executable: executable, arguments: arguments, newProcessGroup: false)
        child.closeInput()
        var collected = Data()
        var fds = [
            pollfd(fd: child.standardOutput, events: Int16(POLLIN), revents: 0),
            pollfd(fd: child.standardError, events: Int16(POLLIN), revents: 0),
        ]
        var open = 2
        var buffer = [UInt8](repeating: 0, count: 65536)
        while open > 0 {
            _ = Glibc.poll(&fds, nfds_t(fds.count), -1)
            for index in fds.indices where fds[index].fd >= 0 && fds[index].revents != 0 {
                let count = read(fds[index].fd, &buffer, buffer.count)
                if count > 0 {
                    collected.append(contentsOf: buffer[0..<count])
                } else {
                    fds[index].fd = -1
                    open -= 1
                }
            }
        }
        let termination = child.wait(timeout: 3600) ?? .signalled(SIGKILL)
        return CapturedRun(termination: termination, output: String(decoding: collected, as: UTF8.self))
    }
}

/// Finds `name` on PATH (or returns it if it is already a path to an executable).
public func findExecutable(_ name: String, extraDirectories: [String] = [], searchPath: String? = nil) -> String? {
    if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
    let path = searchPath ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    for directory in extraDirectories + path.split(separator: ":").map(String.init) {
        let candidate = directory + "/" + name
        if access(candidate, X_OK) == 0 { return candidate }
    }
    return nil
}
