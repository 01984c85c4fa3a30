/// How a boot ended, and the exit code `skerry boot` reports for it.
///
/// Every outcome has its own code. 0 means the kernel itself reported a
/// clean shutdown *and* QEMU exited with the matching debug-exit status;
/// neither alone is enough.
public enum BootOutcome: String, CaseIterable, Sendable, Codable {
    case cleanShutdown = "clean-shutdown"
    case untilMatched = "until-matched"
    case failMatched = "fail-matched"
    case kernelFailure = "kernel-failure"
    case kernelPanic = "kernel-panic"
    case timeout
    case qemuStartFailed = "qemu-start-failed"
    case qemuDied = "qemu-died"
    case interrupted

    public var exitCode: Int32 {
        switch self {
        case .cleanShutdown: return 0
        case .untilMatched: return 2
        case .failMatched: return 3
        case .kernelFailure: return 4
        case .kernelPanic: return 5
        case .timeout: return 6
        case .qemuStartFailed: return 7
        case .qemuDied: return 8
        case .interrupted: return 130
        }
    }

    public var summary: String {
        switch self {
        case .cleanShutdown: return "the kernel shut down cleanly"
        case .untilMatched: return "--until matched; the VM was stopped"
        case .failMatched: return "--fail matched; the VM was stopped"
        case .kernelFailure: return "the kernel reported a failure"
        case .kernelPanic: return "the kernel panicked"
        case .timeout: return "timed out; the VM was stopped"
        case .qemuStartFailed: return "QEMU failed to start"
        case .qemuDied: return "QEMU ended unexpectedly"
        case .interrupted: return "interrupted; the VM was stopped"
        }
    }

    /// What the exit code means, in a line short enough for `--help` at 80 columns.
    public var meaning: String {
        switch self {
        case .cleanShutdown: return "the kernel shut down cleanly; QEMU's status agrees"
        case .untilMatched: return "a console line matched --until; skerry stopped the VM"
        case .failMatched: return "a console line matched --fail; skerry stopped the VM"
        case .kernelFailure: return "the kernel reported a failure"
        case .kernelPanic: return "the kernel panicked"
        case .timeout: return "--timeout expired; skerry stopped the VM"
        case .qemuStartFailed: return "QEMU failed to start"
        case .qemuDied: return "QEMU ended in a way the kernel did not announce"
        case .interrupted: return "SIGINT, SIGTERM, SIGHUP or stdout closed; the VM was stopped"
        }
    }

    /// Whether skerry ended the VM (rather than the VM ending by itself).
    public var stoppedByHost: Bool {
        switch self {
        case .untilMatched, .failMatched, .timeout, .interrupted: return true
        default: return false
        }
    }

    /// Exit code for errors before anything booted (bad arguments, a failed build).
    public static let toolErrorExitCode: Int32 = 1
}

/// The end of one boot.
public struct BootResult: Sendable {
    public var outcome: BootOutcome
    /// What decided the outcome: the matched line, the panic headline, QEMU's last words.
    public var detail: String
    public var qemuTermination: ProcessTermination?
    /// Seconds from starting QEMU to the end.
    public var elapsed: Double
    /// Seconds from starting QEMU to the kernel's `ready` line, if it was seen.
    public var readyAfter: Double?
    /// The last console lines, for failure reports.
    public var lastConsoleLines: [String]

    /// The outcome as one sentence: what skerry saw, then what it did
    /// (`--until matched "…"; the VM was stopped`), or the outcome and its cause.
    public var sentence: String {
        if detail.isEmpty { return outcome.summary }
        return outcome.stoppedByHost ? "\(detail); the VM was stopped" : "\(outcome.summary): \(detail)"
    }
}
