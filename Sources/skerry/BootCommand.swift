import ArgumentParser
import Foundation
import SkerryKit

struct BootCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "boot",
        abstract: "Boot an appliance image headless and stream its serial console.",
        discussion: """
            Without IMAGE, builds the kernel in this tree (a cache hit when unchanged) and boots it.

            Exit codes:
              0    the kernel shut down cleanly (its shutdown line and QEMU's exit status agree)
              1    skerry could not run (bad arguments, missing QEMU, failed build)
              2    --until matched; skerry stopped the VM
              3    --fail matched; skerry stopped the VM
              4    the kernel reported a failure
              5    the kernel panicked
              6    --timeout expired; skerry stopped the VM
              7    QEMU failed to start
              8    QEMU died unexpectedly (crash, signal, triple fault, or an exit the kernel did not announce)
              130  interrupted by SIGINT, SIGTERM or SIGHUP; skerry stopped the VM
            """)

    @Argument(help: ArgumentHelp(
        "A bootable image (the elf32 from `skerry build`), or an appliance (a directory with appliance.conf, or the file) to build and boot.",
        valueName: "image|appliance"))
    var image: String?

    @Option(help: ArgumentHelp("Also write the timestamped console to this file.", valueName: "file"))
    var log: String?

    @Option(help: ArgumentHelp("Stop with exit code 2 when a console line matches.", valueName: "regex"))
    var until: String?

    @Option(help: ArgumentHelp("Stop with exit code 3 when a console line matches (repeatable).", valueName: "regex"))
    var fail: [String] = []

    @Option(help: ArgumentHelp("Stop with exit code 6 after this many seconds (above 0, at most 604800: a week).", valueName: "seconds"))
    var timeout: Double?

    @OptionGroup(title: "Boot")
    var boot: BootOptions

    @Option(help: ArgumentHelp("QEMU binary.", valueName: "path"))
    var qemu: String?

    @Option(help: ArgumentHelp(
        "user: QEMU user-mode networks reached through --forward. tap: taps on bridges in a fresh network namespace (root only); run clients with `ip netns exec NAMESPACE`.",
        valueName: "user|tap"))
    var network: NetworkMode = .user

    @Flag(help: "Print one JSON object per event instead of text.")
    var json = false

    @Flag(help: "Forward standard input to the serial console (the kernel shell).")
    var input = false

    func validate() throws {
        if let timeout, let problem = SecondsOption.timeout().problem(timeout) { throw ValidationError(problem) }
    }

    func run() throws {
        let imageURL: URL
        var symbols: URL?
        var isDirectory: ObjCBool = false
        let isAppliance = image.map {
            $0.hasSuffix(".conf") || (FileManager.default.fileExists(atPath: $0, isDirectory: &isDirectory) && isDirectory.boolValue)
        } ?? false
        if let image, !isAppliance {
            imageURL = URL(fileURLWithPath: image)
            let elf64 = imageURL.deletingPathExtension().appendingPathExtension("elf")
            symbols = FileManager.default.fileExists(atPath: elf64.path) ? elf64 : nil
        } else {
            let built = try KernelBuild.build(kernel: nil, output: nil, appliance: isAppliance ? image : nil, verbose: !json)
            imageURL = built.bootable
            symbols = built.elf64
        }

        var request = BootRequest(image: imageURL)
        request.symbols = symbols
        request.qemuExecutable = qemu
        request.untilPattern = until
        request.failPatterns = fail
        request.timeout = timeout
        request.forwardInput = input
        request.networkMode = network
        if network == .tap && !boot.forward.isEmpty {
            throw CLIError("--forward applies to --network user; in tap mode reach the appliance from inside its namespace")
        }
        try boot.apply(to: &request)

        let output = try BootOutput(json: json, logPath: log)
        let result: BootResult
        do {
            let session = try BootSession(request: request, observe: output.emit)
            result = try session.run()
        } catch {
            throw CLIError("\(error)")
        }
        if result.outcome == .kernelPanic, let symbols, let symbolizer = Symbolizer(elf: symbols) {
            let addresses = Symbolizer.backtraceAddresses(in: result.lastConsoleLines)
            let names = symbolizer.describe(addresses, firstIsFault: Symbolizer.startsAtFault(result.lastConsoleLines))
            if !names.isEmpty {
                output.note("backtrace symbols:")
                for (index, name) in names.enumerated() { output.note("  #\(index) \(name)") }
            }
        }
        throw ExitCode(result.outcome.exitCode)
    }
}

extension NetworkMode: ExpressibleByArgument {}

/// Writes boot events as text (console on stdout, the rest on stderr) or JSON lines.
final class BootOutput {
    let json: Bool
    let log: FileHandle?

    init(json: Bool, logPath: String?) throws {
        self.json = json
        if let logPath {
            guard FileManager.default.createFile(atPath: logPath, contents: nil),
                let handle = FileHandle(forWritingAtPath: logPath)
            else { throw CLIError("cannot write log file \(logPath)") }
            log = handle
        } else {
            log = nil
        }
    }

    func emit(_ event: BootEvent) {
        if json {
            write(event.jsonLine + "\n", to: .standardOutput)
        }
        switch event {
        case .note(let message):
            if !json { write("skerry: \(message)\n", to: .standardError) }
            log?.write(Data("# \(message)\n".utf8))
        case .started(let pid, let accelerator, let command):
            if !json { write("skerry: QEMU pid \(pid), \(accelerator.rawValue)\n", to: .standardError) }
            log?.write(Data("# \(command.joined(separator: " "))\n".utf8))
        case .namespace(let name):
            if !json {
                write("skerry: NICs on bridges in network namespace \(name) (gateways 10.0.1.2, 10.0.2.2, 10.0.3.2); `ip netns exec \(name) …` reaches the appliance\n", to: .standardError)
            }
            log?.write(Data("# namespace \(name)\n".utf8))
        case .forwarded(let forward):
            if !json { write("skerry: \(forward)\n", to: .standardError) }
            log?.write(Data("# \(forward)\n".utf8))
        case .console(let time, let line):
            let text = BootEvent.stamp(time) + " " + line + "\n"
            if !json { write(text, to: .standardOutput) }
            log?.write(Data(text.utf8))
        case .qemu(let time, let line):
            let text = BootEvent.stamp(time) + " qemu: " + line + "\n"
            if !json { write(text, to: .standardError) }
            log?.write(Data(text.utf8))
        case .finished(let result):
            var text = "skerry: \(result.outcome.rawValue) (exit \(result.outcome.exitCode)): \(result.outcome.summary)"
            if !result.detail.isEmpty { text += " - \(result.detail)" }
            if let ready = result.readyAfter { text += String(format: "; ready after %.3f s", ready) }
            if !json { write(text + "\n", to: .standardError) }
            log?.write(Data("# \(text)\n".utf8))
        }
    }

    func note(_ message: String) { emit(.note(message)) }

    private func write(_ text: String, to handle: FileHandle) {
        handle.write(Data(text.utf8))
    }
}
