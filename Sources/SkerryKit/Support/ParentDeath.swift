import Foundation

/// Makes a child die with us: QEMU is started under util-linux's `setpriv
/// --pdeathsig KILL`, which asks the kernel to kill it when the thread that
/// started it ends. Every normal way out stops QEMU itself; this covers the
/// rest (skerry killed with SIGKILL, or crashing), so no VM is orphaned.
public enum ParentDeath {
    /// `setpriv`, if it is installed and knows `--pdeathsig`.
    static let setpriv: String? = {
        guard let path = findExecutable("setpriv"), let help = try? CapturedRun.run(path, ["--help"]),
            help.output.contains("--pdeathsig")
        else { return nil }
        return path
    }()

    /// `executable arguments`, wrapped so that it dies with this thread when possible.
    public static func wrap(_ executable: String, _ arguments: [String]) -> (String, [String]) {
        guard let setpriv else { return (executable, arguments) }
        return (setpriv, ["--pdeathsig", "KILL", "--", executable] + arguments)
    }
}
