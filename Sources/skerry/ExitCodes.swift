import ArgumentParser
import Foundation
import KernelCore
import SkerryKit

/// An exit status of `skerry` and what it means. Every status a command
/// uses is one of the constants below (`boot`'s outcomes are `BootOutcome`'s);
/// each command's help lists its own from here.
struct ExitStatus: Equatable, Sendable {
    var code: Int32
    var meaning: String

    /// Something went wrong that no other status names: an invalid file, a failed build, a file that cannot be written.
    static let failure = ExitStatus(code: 1, meaning: "skerry could not do what was asked; the message says why")
    /// ArgumentParser's own status for a command line it refuses (sysexits' EX_USAGE).
    static let usage = ExitStatus(code: ExitCode.validationFailure.rawValue, meaning: "invalid command line")
    /// sysexits' EX_NOUSER: the addressee is unknown.
    static let notFound = ExitStatus(code: 67, meaning: "the appliance has no such service or backend")
    /// sysexits' EX_UNAVAILABLE.
    static let unreachable = ExitStatus(code: 69, meaning: "no telemetry port answered, or it stayed silent: is it the telemetry port, and the appliance up?")
    /// sysexits' EX_TEMPFAIL: the same command may work later.
    static let busy = ExitStatus(code: 75, meaning: "the appliance refused the connection: all telemetry slots are taken")
    /// sysexits' EX_PROTOCOL.
    static let protocolError = ExitStatus(code: 76, meaning: "the port answered, but not as a telemetry port this skerry speaks")
    /// sysexits' EX_NOPERM.
    static let refused = ExitStatus(code: 77, meaning: "refused: no token, a wrong one, or an appliance that takes no actions")
    /// 128 + SIGINT, what a shell reports for a command Ctrl-C ended.
    static let interrupted = ExitStatus(code: 130, meaning: "interrupted (SIGINT, SIGTERM or SIGHUP); what it started is stopped")

    static let success = ExitStatus(code: 0, meaning: "success")

    /// `console`: sysexits' EX_UNAVAILABLE, for a console address nothing answers at.
    static let consoleUnavailable = ExitStatus(code: 69, meaning: "no console there: the connection was refused, timed out, or the host is unknown or unreachable")
    /// `console`: the session ended as asked, or the console closed it.
    static let consoleEnded = ExitStatus(code: 0, meaning: "disconnected: Ctrl-] q, standard input ended, or the console closed the connection")

    /// `rules match`: the verdict, as the rule or the default policy gives it.
    static func verdict(_ action: FirewallAction) -> ExitStatus {
        switch action {
        case .accept: return ExitStatus(code: 0, meaning: "the packet is accepted")
        case .drop: return ExitStatus(code: 2, meaning: "the packet is dropped")
        case .reject: return ExitStatus(code: 3, meaning: "the packet is rejected")
        }
    }

    /// `smoke`'s own: a failed step, and files refused before anything boots.
    static let smokeFailed = ExitStatus(code: 1, meaning: "a step or a suite failed")
    static let smokeInvalid = ExitStatus(code: 2, meaning: "a smoke file is invalid; nothing was booted")

    var exitCode: ExitCode { ExitCode(code) }
}

/// The statuses each command can end with, in its help and in README.md.
enum ExitStatuses {
    static let telemetry: [ExitStatus] = [.unreachable, .busy, .protocolError]
    static let admin: [ExitStatus] = [.success, .failure, .usage, .notFound] + telemetry + [.refused, .interrupted]
    static let stats: [ExitStatus] = [.success, .failure, .usage] + telemetry + [.interrupted]
    static let rulesMatch: [ExitStatus] = FirewallAction.allCases.map(ExitStatus.verdict) + [.failure, .usage, .interrupted]
    static let smoke: [ExitStatus] = [.success, .smokeFailed, .smokeInvalid, .usage, .interrupted]
    /// Commands that run until they are stopped: `top`, `demo`, `backends`.
    static let interactive: [ExitStatus] = [.success, .failure, .usage, .interrupted]
    static let console: [ExitStatus] = [.consoleEnded, .usage, .consoleUnavailable, .interrupted]
    /// `build`, `rules check|compile|generate`.
    static let plain: [ExitStatus] = [.success, .failure, .usage, .interrupted]

    /// "Exit codes:" and one indented line per status, for a command's discussion.
    static func help(_ statuses: [ExitStatus]) -> String {
        "\nExit codes:\n" + statuses.map { "  " + "\($0.code)".padding(toLength: 5, withPad: " ", startingAt: 0) + $0.meaning }
            .joined(separator: "\n")
    }
}

extension ExitStatus {
    /// The status for a telemetry stream that failed.
    init(_ error: TelemetryStreamError) {
        switch error {
        case .connection: self = .unreachable
        case .refused(let code, _) where code == Int(TelemetryProtocol.ErrorCode.busy.rawValue): self = .busy
        default: self = .protocolError
        }
    }

    /// The status for an admin action the appliance answered.
    init(_ code: TelemetryProtocol.ResultCode) {
        switch code {
        case .ok: self = .success
        case .unauthorized, .actionsOff: self = .refused
        case .notFound: self = .notFound
        case .badRequest: self = .failure
        }
    }
}
