import ArgumentParser
import Foundation
import KernelCore
import SkerryKit

struct BootCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "boot",
        abstract: "Boot an appliance image headless and stream its serial console.",
        discussion: BootCommand.discussion)

    static let discussion: String = {
        let statuses = BootOutcome.allCases.map { ExitStatus(code: Int32($0.exitCode), meaning: "\($0.rawValue): \($0.meaning)") }
            + [ExitStatus(code: Int32(BootOutcome.toolErrorExitCode), meaning: "skerry could not run: no QEMU or image, a failed build, a busy port"),
               .usage]
        return """
            Without IMAGE, builds the kernel in this tree (a cache hit when unchanged) and boots it. \
            An appliance's telemetry port and every service port are forwarded to 127.0.0.1: telemetry \
            to \(ApplianceBootPlan.telemetryHostPort), a service port P to 8000+P below 1024 (80 to 8080) \
            and to P above, when free; else to a free port, with a note. When the kernel is ready, a \
            summary names each address and the `skerry top --attach` command that watches the VM.

            """ + ExitStatuses.help(statuses.sorted { $0.code < $1.code })
    }()

    @Argument(help: ArgumentHelp(
        "A bootable image (the .elf32 from `skerry build`, or an .iso, .img, .raw, .qcow2 or .vmdk from `skerry image`), or an appliance (a directory with appliance.conf, or the file) to build and boot.",
        valueName: "image|appliance"))
    var image: String?

    @Option(help: ArgumentHelp("Also write the timestamped console to this file.", valueName: "file"))
    var log: String?

    @Option(help: ArgumentHelp("Stop with exit code 2 when a console line matches.", valueName: "regex"))
    var until: String?

    @Option(help: ArgumentHelp("Stop with exit code 3 when a console line matches (repeatable).", valueName: "regex"))
    var fail: [String] = []

    // Unconditional, so a negative number reaches the range check instead of reading as an option.
    @Option(parsing: .unconditional, help: ArgumentHelp("Stop with exit code 6 after this many seconds (above 0, at most 604800: a week).", valueName: "seconds"))
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

    @Option(help: ArgumentHelp(
        "Also serve the serial console, for `skerry console ADDRESS` and `skerry top --attach HOST:PORT --console ADDRESS`: on a Unix socket (mode 0600; removed on exit) or a TCP port, raw or telnet (8 clients at once). The console is a root shell with no authentication: a tcp:/telnet: HOST must be loopback unless --console-public.",
        valueName: "unix:PATH|tcp:HOST:PORT|telnet:HOST:PORT"))
    var console: String?

    @Flag(name: .customLong("console-public"), help: "Allow --console tcp:/telnet: on a HOST other than loopback: everyone who reaches it gets the kernel shell, unauthenticated.")
    var consolePublic = false

    func validate() throws {
        if let timeout, let problem = SecondsOption.timeout().problem(timeout) { throw ValidationError(problem) }
        if network == .tap, let serial = boot.serial, serial != .stdio {
            throw ValidationError("--serial \(serial.rawValue) needs --network user: with --network tap QEMU's loopback is in its namespace")
        }
        if network == .tap && !boot.forward.isEmpty {
            throw ValidationError("--forward applies to --network user; in tap mode reach the appliance from inside its namespace")
        }
        do {
            for (option, patterns) in [("--until", until.map { [$0] } ?? []), ("--fail", fail)] {
                for pattern in patterns { try BootSession.check(pattern: pattern, option: option) }
            }
        } catch {
            throw ValidationError("\(error)")
        }
        try boot.checkMedium(image.flatMap { BootCommand.isAppliance($0) ? nil : $0 })
        if let console {
            let address = try ConsoleAddress(argument: console)
            if !address.isLoopback && !consolePublic {
                throw ValidationError(
                    "--console \(address): the console is a root shell with no authentication, and \(address.location) is reachable from other hosts; serve it on 127.0.0.1 (and reach it with ssh -L), or add --console-public")
            }
        }
        if consolePublic && console == nil { throw ValidationError("--console-public goes with --console tcp:HOST:PORT or telnet:HOST:PORT") }
    }

    func run() throws {
        let imageURL: URL
        var symbols: URL?
        let isAppliance = image.map(BootCommand.isAppliance) ?? false
        // A prebuilt image says nothing about itself: the default telemetry port and the test services are assumed.
        let description = try isAppliance ? image.map { try ApplianceFile.load($0) } : nil
        let plan = description.map { ApplianceBootPlan(description: $0) } ?? .standalone
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
        request.macs = description?.pinnedMACs ?? [:]
        request.qemuExecutable = qemu
        request.untilPattern = until
        request.failPatterns = fail
        request.timeout = timeout
        request.forwardInput = input
        request.networkMode = network
        request.console = try console.map { try ConsoleAddress(parsing: $0) }
        // The appliance's services and telemetry, on stable host ports when free, unless the caller boots several
        // appliances at once and wants none of them to take another's port.
        request.forwards = plan.forwards(stableHostPorts: ProcessInfo.processInfo.environment["SKERRY_HOST_PORTS"] != "free")
        try boot.apply(to: &request)

        let output = try BootOutput(json: json, logPath: log,
                                    ready: { plan.readySummary(forwards: $0, console: request.console, executable: CommandLine.arguments[0]) })
        let result: BootResult
        do {
            let session = try BootSession(request: request, observe: output.emit)
            let stop = session.stopHandle.forClosedOutput
            output.onOutputClosed = { stop.stop() }
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

extension BootCommand {
    /// An appliance to build (a directory, or a `.conf` file) rather than an image to boot.
    static func isAppliance(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return path.hasSuffix(".conf") || (FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue)
    }
}

extension NetworkMode: ExpressibleByArgument {}

/// Writes boot events as text (console on stdout, the rest on stderr) or JSON lines.
final class BootOutput {
    let json: Bool
    let log: FileHandle?
    /// The summary for the forwards set up, printed at the kernel's ready line.
    let ready: ([PortForward]) -> ReadySummary
    private var forwards: [PortForward] = []
    private var announced = false
    /// Called once when a write to stdout fails (its reader went, as in
    /// `skerry boot … | head -1`); nothing more is written there.
    var onOutputClosed: () -> Void = {}
    private var outputClosed = false
    private var logFailed = false

    init(json: Bool, logPath: String?, ready: @escaping ([PortForward]) -> ReadySummary = { _ in ReadySummary() }) throws {
        self.json = json
        self.ready = ready
        if let logPath {
            let opened = OutputFile.openLog(logPath)
            guard let handle = opened.handle else { throw CLIError("cannot write the log file \(logPath): \(opened.problem ?? "")") }
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
            logLine("# \(message)\n")
        case .started(let pid, let accelerator, let command):
            if !json { write("skerry: QEMU pid \(pid), \(accelerator.rawValue)\n", to: .standardError) }
            logLine("# \(command.joined(separator: " "))\n")
        case .namespace(let name):
            if !json {
                write("skerry: NICs on bridges in network namespace \(name) (gateways 10.0.1.2, 10.0.2.2, 10.0.3.2); `ip netns exec \(name) …` reaches the appliance\n", to: .standardError)
            }
            logLine("# namespace \(name)\n")
        case .forwarded(let forward):
            forwards.append(forward)
            if !json { write("skerry: \(forward)\n", to: .standardError) }
            logLine("# \(forward)\n")
        case .console(let time, let line):
            let text = BootEvent.stamp(time) + " " + line + "\n"
            if !json { write(text, to: .standardOutput) }
            logLine(text)
            if !announced && line.hasPrefix(KernelContract.readyLine.description) {
                announced = true
                announce(ready(forwards), time: time)
            }
        case .qemu(let time, let line):
            let text = BootEvent.stamp(time) + " qemu: " + line + "\n"
            if !json { write(text, to: .standardError) }
            logLine(text)
        case .finished(let result):
            var text = "skerry: \(result.outcome.rawValue) (exit \(result.outcome.exitCode)): \(result.sentence)"
            if let ready = result.readyAfter { text += String(format: " (ready after %.3f s)", ready) }
            if !json { write(text + "\n", to: .standardError) }
            logLine("# \(text)\n")
        }
    }

    func note(_ message: String) { emit(.note(message)) }

    /// The ready summary: `skerry:` lines on stderr, or one `ready` JSON event.
    private func announce(_ summary: ReadySummary, time: Double) {
        if json {
            if let data = try? JSONSerialization.data(withJSONObject: summary.json(time: time), options: [.sortedKeys, .withoutEscapingSlashes]) {
                write(String(decoding: data, as: UTF8.self) + "\n", to: .standardOutput)
            }
        } else {
            for line in summary.lines { write("skerry: \(line)\n", to: .standardError) }
        }
        for line in summary.lines { logLine("# \(line)\n") }
    }

    /// Appends to the log; a log that stops taking writes (a full disk) is
    /// said once and left, and the boot goes on.
    private func logLine(_ text: String) {
        guard let log, !logFailed else { return }
        do {
            try log.write(contentsOf: Data(text.utf8))
        } catch {
            logFailed = true
            write("skerry: the log file stopped taking writes (\(error.localizedDescription)); the boot goes on without it\n", to: .standardError)
        }
    }

    private func write(_ text: String, to handle: FileHandle) {
        if handle === FileHandle.standardOutput {
            guard !outputClosed else { return }
            do {
                try handle.write(contentsOf: Data(text.utf8))
            } catch {
                outputClosed = true
                onOutputClosed()
            }
        } else {
            try? handle.write(contentsOf: Data(text.utf8))
        }
    }
}
