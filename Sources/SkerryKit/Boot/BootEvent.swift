import Foundation

/// What a boot session reports as it goes. `skerry boot` prints these as
/// timestamped text or, with `--json`, one JSON object per line.
public enum BootEvent: Sendable {
    /// Something the operator should know that is not console output.
    case note(String)
    case started(pid: Int32, accelerator: Accelerator, command: [String])
    /// A host port that reaches a guest port on one NIC.
    case forwarded(PortForward)
    /// The network namespace holding the VM's bridges (tap mode).
    case namespace(String)
    /// One serial console line, `time` seconds after QEMU started.
    case console(time: Double, line: String)
    /// One line QEMU printed on its own stderr.
    case qemu(time: Double, line: String)
    case finished(BootResult)

    /// The JSON form: an object with an `event` name and fields of its own.
    public var json: [String: Any] {
        switch self {
        case .note(let message):
            return ["event": "note", "message": message]
        case .started(let pid, let accelerator, let command):
            return ["event": "started", "pid": Int(pid), "accelerator": accelerator.rawValue, "command": command]
        case .forwarded(let forward):
            return [
                "event": "forward", "role": forward.role.name.description, "transport": forward.transport.rawValue,
                "guestPort": Int(forward.guestPort), "host": "127.0.0.1", "hostPort": Int(forward.hostPort),
            ]
        case .namespace(let name):
            return ["event": "namespace", "name": name]
        case .console(let time, let line):
            return ["event": "console", "time": BootEvent.rounded(time), "line": line]
        case .qemu(let time, let line):
            return ["event": "qemu", "time": BootEvent.rounded(time), "line": line]
        case .finished(let result):
            var object: [String: Any] = [
                "event": "exit", "outcome": result.outcome.rawValue, "code": Int(result.outcome.exitCode),
                "detail": result.detail, "elapsed": BootEvent.rounded(result.elapsed),
            ]
            if let ready = result.readyAfter { object["ready"] = BootEvent.rounded(ready) }
            switch result.qemuTermination {
            case .exited(let status): object["qemuStatus"] = Int(status)
            case .signalled(let signal): object["qemuSignal"] = Int(signal)
            case nil: break
            }
            return object
        }
    }

    public var jsonLine: String {
        guard let data = try? JSONSerialization.data(withJSONObject: json, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// `[   1.234] text`, the prefix used on the console and in logs.
    public static func stamp(_ time: Double) -> String {
        let text = String(format: "%.3f", time)
        return "[" + String(repeating: " ", count: max(0, 8 - text.count)) + text + "]"
    }

    static func rounded(_ value: Double) -> Double { (value * 1_000_000).rounded() / 1_000_000 }
}
