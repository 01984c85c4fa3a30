import KernelCore

/// Which lines typed in the console view may reach the kernel shell when
/// the dashboard is read-only: only the shell's commands that change
/// nothing (`ShellCommand.changesState`), each given exactly.
///
/// The kernel's line editor drops bytes outside printable ASCII and acts on
/// backspace, Ctrl-U and line ends, and its word splitter stops a command at
/// `=`: so a line is judged as the kernel would read it only if it holds
/// printable ASCII alone, and its first word is compared whole.
public enum ShellCommandPolicy {
    /// The shell's commands that only report.
    public static let readOnlyCommands = ShellCommand.allCases.filter { !$0.changesState }.map { $0.name.description }

    public enum Verdict: Equatable, Sendable {
        case allowed
        /// Why the line may not be sent, for the dashboard's footer.
        case refused(String)
    }

    /// Whether `line` may be sent to the shell when `readOnly`.
    public static func judge(_ line: String, readOnly: Bool) -> Verdict {
        guard readOnly else { return .allowed }
        let allowed = readOnlyCommands.joined(separator: " ")
        guard line.unicodeScalars.allSatisfy({ (0x20...0x7E).contains($0.value) }) else {
            return .refused("read-only: refused, not plain ASCII; allowed: \(allowed)")
        }
        guard let command = line.split(separator: " ").first else { return .allowed }
        guard readOnlyCommands.contains(String(command)) else {
            return .refused("read-only: '\(command)' refused; allowed: \(allowed)")
        }
        return .allowed
    }
}
