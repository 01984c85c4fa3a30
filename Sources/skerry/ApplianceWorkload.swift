import Foundation
import KernelCore
import SkerryKit

/// Boots an appliance headless, runs a workload against it once a console
/// line says it is ready, then stops the VM: the shape every benchmark that
/// measures through the appliance shares.
enum ApplianceWorkload {
    private final class State<Result>: @unchecked Sendable {
        var forwards: [PortForward] = []
        var started = false
        var result: Result?
        let done = DispatchSemaphore(value: 0)
    }

    /// - Parameters:
    ///   - ready: true for the console line after which the workload may start.
    ///   - work: runs on its own thread with the boot's forwards.
    static func run<Result>(
        _ request: BootRequest, ready: @escaping (String) -> Bool,
        work: @escaping @Sendable ([PortForward]) -> Result
    ) throws -> Result {
        let state = State<Result>()
        let session = try BootSession(request: request) { event in
            switch event {
            case .forwarded(let forward):
                state.forwards.append(forward)
            case .console(_, let line) where !state.started && ready(line):
                state.started = true
                let forwards = state.forwards
                Thread.detachNewThread {
                    state.result = work(forwards)
                    state.done.signal()
                }
            default:
                break
            }
        }
        let stopper = session.stopHandle
        Thread.detachNewThread {
            state.done.wait()
            stopper.stop()
        }
        let outcome = try session.run()
        guard let result = state.result else {
            throw CLIError("the appliance never became ready (\(outcome.outcome.rawValue): \(outcome.detail))")
        }
        return result
    }

    /// The host port of a forward.
    static func port(_ forwards: [PortForward], _ role: InterfaceRole, _ transport: PortForward.Transport, _ guest: UInt16) -> UInt16? {
        forwards.first { $0.role == role && $0.transport == transport && $0.guestPort == guest }?.hostPort
    }
}
