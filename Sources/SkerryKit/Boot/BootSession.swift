import Foundation
import KernelCore
#if canImport(Glibc)
import Glibc
#endif

/// Runs one appliance VM headless: starts QEMU, streams the serial console
/// as events, watches for `--until`/`--fail` patterns, the timeout and
/// signals, and decides the outcome from what the console said *and* how
/// QEMU exited. Whatever happens, QEMU is gone when `run` returns.
public final class BootSession {
    /// The request as booted: for an OVA, its extracted disk with the descriptor's settings.
    public let request: BootRequest
    /// What `request.image` is, from its extension.
    public let medium: BootMedium
    private let observe: (BootEvent) -> Void
    /// An OVA's extracted files, removed with the session.
    private let package: OVABoot?

    private var until: Regex<AnyRegexOutput>?
    private var failures: [(pattern: String, regex: Regex<AnyRegexOutput>)] = []
    private var recentLines: [String] = []
    private var qemuLines: [String] = []
    private var sawConsoleOutput = false
    private var readyAfter: Double?
    private var finalLine: KernelContract.ExitValue?
    private var panicHeadline: String?
    private var failureReason: String?
    private var partialLine: [UInt8] = []
    /// Console input not yet taken by QEMU: whole lines from the clients,
    /// `--input` and `sendConsole`, at most about `maximumPendingInput`.
    private var pendingInput: [UInt8] = []
    /// Lines `sendConsole` queued from other threads, for the monitor loop.
    private var injected: [UInt8] = []
    private let injectedLock = NSLock()
    /// Written to by `stop()` from any thread; watched by the monitor loop.
    private let stopPipe: [Int32]
    /// QEMU's stdin (the serial console), once it runs.
    private var consoleInput: Int32 = -1
    /// The console's socket (`--console`), while the VM runs.
    private var relay: ConsoleRelay?
    /// With `--serial tcp|telnet`: QEMU's serial server, and skerry's connection to it.
    private var serialAddress: ConsoleAddress?
    private var serial: ConsoleConnection?
    /// When to try connecting to QEMU's serial server next, and how long to wait after a failure.
    private var serialRetryAt = Date.distantPast
    private var serialBackoff = BootSession.firstSerialRetry
    private var serialConnectedOnce = false
    static let firstSerialRetry = 0.02
    /// Reconnecting to QEMU's serial server backs off to this many seconds.
    public static let maximumSerialRetry = 1.0

    static let keptLines = 40
    /// Input held for QEMU's stdin. While this much waits (before the ready
    /// line, or while the guest reads slowly) skerry stops reading the
    /// console's clients and `--input`, so their writes block instead of
    /// input being lost or QEMU's output stalling behind a blocked write.
    public static let maximumPendingInput = 65536

    public init(request: BootRequest, observe: @escaping (BootEvent) -> Void) throws(BootSetupError) {
        self.observe = observe
        if let pattern = request.untilPattern {
            until = try BootSession.compile(pattern, option: "--until")
        }
        for pattern in request.failPatterns {
            failures.append((pattern, try BootSession.compile(pattern, option: "--fail")))
        }
        var request = request
        var medium: BootMedium
        do throws(BootMedium.Problem) {
            medium = try BootMedium(path: request.image.path)
            try medium.check(firmware: request.firmware, kernelArguments: request.kernelArguments)
        } catch {
            throw .medium(error)
        }
        guard FileManager.default.isReadableFile(atPath: request.image.path) else {
            throw .imageMissing(request.image.path)
        }
        if case .package(let url) = medium {
            let opened = try OVABoot(url)
            request = opened.apply(to: request)
            medium = .disk(request.image, format: .vmdk)
            package = opened
        } else {
            package = nil
        }
        // Last: nothing above may throw once the pipe is open, or its descriptors would leak.
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            package?.directory.remove()
            throw .temporaryDirectory("cannot create a pipe")
        }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        stopPipe = fds
        self.request = request
        self.medium = medium
    }

    deinit {
        package?.directory.remove()
        close(stopPipe[0])
        close(stopPipe[1])
    }

    /// Stops the VM from any thread; `run` then returns `interrupted`.
    public func stop() { stopHandle.stop() }

    /// A token another thread can keep to stop this session's VM.
    public struct StopHandle: Sendable {
        let fd: Int32
        /// What ended the run, as the `interrupted` outcome's detail says.
        var reason: StopReason = .caller
        public func stop() {
            var byte = reason.rawValue
            _ = write(fd, &byte, 1)
        }
        /// The same handle, stopping for the reason that standard output was closed.
        public var forClosedOutput: StopHandle { StopHandle(fd: fd, reason: .outputClosed) }
    }

    /// Bytes on the stop pipe: why the monitor loop was woken.
    enum StopReason: UInt8 {
        case wake = 0
        case caller = 1
        case outputClosed = 2

        var detail: String {
            switch self {
            case .wake, .caller: return "its caller asked"
            case .outputClosed: return "standard output was closed"
            }
        }
    }

    public var stopHandle: StopHandle { StopHandle(fd: stopPipe[1]) }

    /// Types `text` (whole lines) on the serial console, the kernel shell,
    /// from any thread. It reaches the kernel after its ready line, behind
    /// input already waiting; when `maximumPendingInput` bytes already wait,
    /// `text` is dropped whole.
    public func sendConsole(_ text: String) {
        injectedLock.withLock { injected += Array(text.utf8) }
        var byte = StopReason.wake.rawValue
        _ = write(stopPipe[1], &byte, 1)
    }

    /// Refuses a `--until`/`--fail` pattern that is not a regular expression.
    public static func check(pattern: String, option: String) throws(BootSetupError) {
        _ = try compile(pattern, option: option)
    }

    static func compile(_ pattern: String, option: String) throws(BootSetupError) -> Regex<AnyRegexOutput> {
        do {
            return try Regex(pattern)
        } catch {
            throw .badPattern(option: option, pattern: pattern, reason: "\(error)")
        }
    }

    /// Boots and blocks until the VM is gone.
    public func run() throws(BootSetupError) -> BootResult {
        let qemu = try QemuCommand.locateExecutable(request.qemuExecutable)
        if let package { observe(.note(package.summary(of: request))) }
        var firmware: String?
        if request.firmware == .uefi {
            do throws(DebianTool.Missing) {
                firmware = try DebianTool.ovmf.locate()
            } catch {
                throw .firmwareMissing(error)
            }
        }
        let accelerator = resolveAccelerator(qemu: qemu)
        let workspace = try TemporaryDirectory(prefix: "skerry-boot")
        defer { workspace.remove() }

        var command = QemuCommand(executable: qemu, medium: medium)
        command.firmware = firmware
        command.memoryMiB = request.memoryMiB
        command.kernelArguments = request.kernelArguments
        command.accelerator = accelerator
        command.qmpSocket = workspace.path + "/qmp.sock"
        command.extraArguments = request.extraQemuArguments
        if request.serial != .stdio {
            // In tap mode QEMU runs in a network namespace of its own, whose loopback skerry cannot reach.
            guard !(request.attachNetworks && request.networkMode == .tap) else {
                throw .console("--serial \(request.serial.rawValue) needs --network user: with --network tap QEMU's loopback is in its namespace")
            }
            command.serialPort = .network(port: try HostPorts.free(.tcp), telnet: request.serial == .telnet)
            serialAddress = command.serialPort.address
        }
        var tap: TapNetwork?
        if request.attachNetworks {
            switch request.networkMode {
            case .user:
                var networks = UserNetworks(model: request.nicModel, forwards: request.forwards, macs: request.macs)
                for note in try networks.resolvePorts() { observe(.note(note)) }
                command.networks = networks
            case .tap:
                tap = try TapNetwork()
                command.tap = tap
                command.networks = UserNetworks(model: request.nicModel, forwards: [], macs: request.macs)
            }
        }
        // The namespace goes when the VM does, whatever ended it.
        defer { tap?.remove() }
        if let console = request.console {
            do throws(ConsoleRelay.Failure) {
                relay = try ConsoleRelay(address: console)
            } catch {
                throw .console("\(error)")
            }
        }
        // The socket file goes with the VM too.
        defer {
            relay?.close()
            relay = nil
            serial?.close()
            serial = nil
        }

        let signalFD = SignalTrap.install()
        _ = SignalTrap.drain()
        // A write to a reader that went (QEMU's stdin, a closed stdout) is an
        // error to handle, not a signal that kills skerry and leaves the VM.
        signal(SIGPIPE, SIG_IGN)
        let started = Date()
        let child: ChildProcess
        let (direct, directArguments) = tap?.wrap(qemu, command.arguments) ?? (qemu, command.arguments)
        let (executable, arguments) = ParentDeath.wrap(direct, directArguments)
        do {
            child = try ChildProcess.spawn(executable: executable, arguments: arguments)
        } catch {
            return finish(.qemuStartFailed, "\(error)", termination: nil, started: started)
        }
        consoleInput = child.standardInput
        defer { consoleInput = -1 }
        // Never block on QEMU's stdin: a guest reading slowly while its
        // output fills would otherwise deadlock the loop that drains it.
        _ = fcntl(consoleInput, F_SETFL, fcntl(consoleInput, F_GETFL) | O_NONBLOCK)
        observe(.started(pid: child.pid, accelerator: accelerator, command: [qemu] + command.arguments))
        if let tap { observe(.namespace(tap.namespace)) }
        if let serialAddress { observe(.note("the serial console is QEMU's \(serialAddress) (one client at a time)")) }
        for forward in command.networks?.forwards ?? [] { observe(.forwarded(forward)) }

        let stop = monitor(child: child, signalFD: signalFD, started: started)
        if let stop {
            stopVM(child, qmpSocket: command.qmpSocket)
            flushPartialLine(started: started)
            return finish(stop.outcome, stop.detail, termination: child.termination, started: started)
        }
        return finish(judgeExit(child.termination), exitDetail(child.termination), termination: child.termination, started: started)
    }

    /// Reads console and QEMU output until QEMU exits (nil) or a reason to
    /// stop it arises. Input moves to QEMU's non-blocking stdin as it
    /// drains; while `maximumPendingInput` bytes wait, no more is read.
    private func monitor(child: ChildProcess, signalFD: Int32, started: Date) -> (outcome: BootOutcome, detail: String)? {
        var fds = [
            pollfd(fd: child.standardOutput, events: Int16(POLLIN), revents: 0),
            pollfd(fd: child.standardError, events: Int16(POLLIN), revents: 0),
            pollfd(fd: signalFD, events: Int16(POLLIN), revents: 0),
            pollfd(fd: request.forwardInput ? 0 : -1, events: Int16(POLLIN), revents: 0),
            pollfd(fd: stopPipe[0], events: Int16(POLLIN), revents: 0),
            pollfd(fd: -1, events: Int16(POLLOUT), revents: 0),
            pollfd(fd: -1, events: Int16(POLLIN), revents: 0),
        ]
        let fixed = fds.count
        var standardInputOpen = request.forwardInput
        var stderrPartial: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while fds[0].fd >= 0 || fds[1].fd >= 0 {
            let full = pendingInput.count >= BootSession.maximumPendingInput
            // The UART drops what arrives before the kernel sets it up, so
            // input waits for the ready line.
            if serialAddress != nil && serial == nil { connectSerial() }
            let inputTarget = serialAddress == nil ? child.standardInput : serial?.descriptor ?? -1
            let writable = readyAfter != nil && !pendingInput.isEmpty && inputTarget >= 0
            fds[3].fd = standardInputOpen && !full ? 0 : -1
            fds[5].fd = writable ? inputTarget : -1
            fds[6].fd = serial?.descriptor ?? -1
            fds.removeSubrange(fixed...)
            if let relay {
                let watched = full ? relay.listenerDescriptors : relay.descriptors
                fds += watched.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            }
            var wait: Int32 = 250
            if let timeout = request.timeout {
                let remaining = timeout - Date().timeIntervalSince(started)
                if remaining <= 0 {
                    return (.timeout, "--timeout expired after \(BootSession.seconds(timeout))")
                }
                wait = Int32(min(250, max(1, remaining * 1000)))
            }
            if serialAddress != nil && serial == nil {
                wait = min(wait, Int32(min(250, max(1, serialRetryAt.timeIntervalSinceNow * 1000))))
            }
            let ready = Glibc.poll(&fds, nfds_t(fds.count), wait)
            if ready < 0 && errno != EINTR { break }
            if fds[2].revents != 0 && SignalTrap.drain() {
                return (.interrupted, "received signal \(SignalTrap.lastSignal)")
            }
            if fds[4].revents != 0, let reason = drainStopPipe() {
                return (.interrupted, reason.detail)
            }
            if let relay, fds.count > fixed {
                let readable = Set(fds[fixed...].filter { $0.revents != 0 }.map(\.fd))
                if !readable.isEmpty { pendingInput += relay.service(readable: readable) }
            }
            if fds[3].fd >= 0 && fds[3].revents != 0 {
                let room = max(1, BootSession.maximumPendingInput - pendingInput.count)
                let count = read(0, &buffer, min(room, buffer.count))
                if count > 0 {
                    pendingInput.append(contentsOf: buffer[0..<count])
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    standardInputOpen = false
                }
            }
            if fds[5].fd >= 0 && fds[5].revents != 0 {
                if let serial {
                    // The socket buffer takes a console's input at once; a guest that stops
                    // reading holds `send` for at most its timeout.
                    if !serial.send(pendingInput) { serialLost(serial.endReason ?? "it stopped taking input", child: child) }
                    pendingInput.removeAll()
                } else {
                    writePendingInput(to: child)
                }
            }
            if fds[6].fd >= 0 && fds[6].revents != 0, let connection = serial {
                if let bytes = connection.receive(timeout: 0) {
                    if let stop = consoleBytes(bytes[...], started: started) { return stop }
                } else {
                    serialLost(connection.endReason ?? "closed", child: child)
                }
            }
            if fds[1].fd >= 0 && fds[1].revents != 0 {
                let count = read(fds[1].fd, &buffer, buffer.count)
                if count > 0 {
                    stderrPartial.append(contentsOf: buffer[0..<count])
                    while let newline = stderrPartial.firstIndex(of: 0x0A) {
                        qemuLine(String(decoding: stderrPartial[..<newline], as: UTF8.self), started: started)
                        stderrPartial.removeSubrange(...newline)
                    }
                } else {
                    if !stderrPartial.isEmpty {
                        qemuLine(String(decoding: stderrPartial, as: UTF8.self), started: started)
                        stderrPartial = []
                    }
                    fds[1].fd = -1
                }
            }
            if fds[0].fd >= 0 && fds[0].revents != 0 {
                let count = read(fds[0].fd, &buffer, buffer.count)
                if count > 0 {
                    if let stop = consoleBytes(buffer[0..<count], started: started) { return stop }
                } else {
                    fds[0].fd = -1
                    flushPartialLine(started: started)
                }
            }
        }
        // Both streams closed: QEMU is exiting. Reap it.
        if child.wait(timeout: 10) == nil {
            child.terminate()
        }
        return nil
    }

    /// Console output, from QEMU's stdout or its serial server: to the
    /// relay's clients, and line by line to the patterns and the observer.
    private func consoleBytes(_ bytes: ArraySlice<UInt8>, started: Date) -> (outcome: BootOutcome, detail: String)? {
        guard !bytes.isEmpty else { return nil }
        relay?.broadcast(bytes)
        partialLine.append(contentsOf: bytes)
        while let newline = partialLine.firstIndex(of: 0x0A) {
            let line = ConsoleLines.text(partialLine[..<newline])
            partialLine.removeSubrange(...newline)
            if let stop = consoleLine(line, started: started) { return stop }
        }
        return nil
    }

    /// Connects to QEMU's serial server when its retry time has come. QEMU
    /// listens before the guest runs, so the first attempts are quick.
    private func connectSerial() {
        guard let address = serialAddress, Date() >= serialRetryAt else { return }
        do throws(ConsoleConnection.Failure) {
            serial = try ConsoleConnection.connect(address, timeout: 1)
            if serialConnectedOnce { observe(.note("the serial console connection is back")) }
            serialConnectedOnce = true
            serialBackoff = BootSession.firstSerialRetry
        } catch {
            serialRetryAt = Date().addingTimeInterval(serialBackoff)
            if serialConnectedOnce { serialBackoff = min(BootSession.maximumSerialRetry, serialBackoff * 2) }
        }
    }

    /// The connection to QEMU's serial server ended: QEMU exiting (said by
    /// its exit, not a note), or a drop to reconnect after.
    private func serialLost(_ reason: String, child: ChildProcess) {
        serial?.close()
        serial = nil
        // QEMU closes the socket as it exits: give it a moment before calling this a drop.
        if child.wait(timeout: 0.5) != nil {
            serialRetryAt = .distantFuture
            return
        }
        observe(.note("the serial console connection dropped (\(reason)); reconnecting"))
        serialBackoff = 0.1
        serialRetryAt = Date().addingTimeInterval(serialBackoff)
    }

    /// Writes what QEMU's stdin takes now; the rest waits for the next turn.
    private func writePendingInput(to child: ChildProcess) {
        let written = pendingInput.withUnsafeBytes { write(child.standardInput, $0.baseAddress, $0.count) }
        if written > 0 {
            pendingInput.removeFirst(written)
        } else if written < 0 && errno != EAGAIN && errno != EINTR {
            // QEMU closed its stdin (it is exiting): nobody will read the rest.
            pendingInput.removeAll()
            child.closeInput()
        }
    }

    /// Empties the stop pipe and queues the lines `sendConsole` left;
    /// returns why to stop, if a stop was asked for.
    private func drainStopPipe() -> StopReason? {
        var stop: StopReason?
        var bytes = [UInt8](repeating: 0, count: 64)
        while true {
            var pfd = pollfd(fd: stopPipe[0], events: Int16(POLLIN), revents: 0)
            guard Glibc.poll(&pfd, 1, 0) > 0 else { break }
            let count = read(stopPipe[0], &bytes, bytes.count)
            guard count > 0 else { break }
            for byte in bytes[0..<count] {
                if let reason = StopReason(rawValue: byte), reason != .wake { stop = stop ?? reason }
            }
        }
        let lines = injectedLock.withLock {
            defer { injected.removeAll() }
            return injected
        }
        if !lines.isEmpty && pendingInput.count < BootSession.maximumPendingInput { pendingInput += lines }
        return stop
    }

    /// Emits what is left of the console once the VM is stopped: the whole
    /// lines that arrived after the one that stopped it, each on its own,
    /// then the unfinished one.
    private func flushPartialLine(started: Date) {
        guard !partialLine.isEmpty else { return }
        let rest = partialLine
        partialLine = []
        for line in rest.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast(rest.last == 0x0A ? 1 : 0) {
            _ = consoleLine(ConsoleLines.text(line), started: started)
        }
    }

    private func consoleLine(_ line: String, started: Date) -> (outcome: BootOutcome, detail: String)? {
        let time = Date().timeIntervalSince(started)
        sawConsoleOutput = true
        recentLines.append(line)
        if recentLines.count > BootSession.keptLines { recentLines.removeFirst() }
        observe(.console(time: time, line: line))

        if readyAfter == nil && line.hasPrefix(KernelContract.readyLine.description) { readyAfter = time }
        for value in KernelContract.ExitValue.allCases where line == value.finalLine.description {
            finalLine = value
        }
        if panicHeadline == nil && line.hasPrefix(KernelContract.panicPrefix.description) {
            panicHeadline = String(line.dropFirst(KernelContract.panicPrefix.utf8CodeUnitCount))
        }
        if failureReason == nil && line.hasPrefix(KernelContract.failurePrefix.description) {
            failureReason = String(line.dropFirst(KernelContract.failurePrefix.utf8CodeUnitCount))
        }
        for failure in failures where line.contains(failure.regex) {
            return (.failMatched, "--fail '\(failure.pattern)' matched \"\(line)\"")
        }
        if let until, line.contains(until) {
            return (.untilMatched, "--until matched \"\(line)\"")
        }
        return nil
    }

    private func qemuLine(_ line: String, started: Date) {
        qemuLines.append(line)
        if qemuLines.count > BootSession.keptLines { qemuLines.removeFirst() }
        observe(.qemu(time: Date().timeIntervalSince(started), line: line))
    }

    /// QEMU exited by itself: only a kernel line and the matching debug-exit
    /// status together make a kernel-reported outcome.
    private func judgeExit(_ termination: ProcessTermination?) -> BootOutcome {
        guard case .exited(let status) = termination else { return .qemuDied }
        if let value = finalLine, status == value.qemuStatus {
            switch value {
            case .cleanShutdown: return .cleanShutdown
            case .failure: return .kernelFailure
            case .panic: return .kernelPanic
            }
        }
        if status != 0 && !sawConsoleOutput { return .qemuStartFailed }
        return .qemuDied
    }

    private func exitDetail(_ termination: ProcessTermination?) -> String {
        let outcome = judgeExit(termination)
        switch outcome {
        case .cleanShutdown:
            return "QEMU \(termination.map(String.init(describing:)) ?? "gone")"
        case .kernelPanic:
            return panicHeadline ?? "panic"
        case .kernelFailure:
            return failureReason ?? "failure"
        case .qemuStartFailed:
            return qemuLines.suffix(3).joined(separator: " | ").nonEmpty ?? "QEMU \(termination.map(String.init(describing:)) ?? "gone")"
        default:
            var detail = "QEMU \(termination.map(String.init(describing:)) ?? "gone")"
            if case .exited(0) = termination {
                detail += " without the kernel's shutdown sequence (triple fault or reset?)"
            } else if let line = finalLine {
                detail += " after the kernel printed '\(line.finalLine)'"
            }
            if let last = qemuLines.last { detail += "; QEMU said: \(last)" }
            return detail
        }
    }

    /// Stops the VM: QMP `quit` first, then SIGTERM, then SIGKILL, by PID.
    private func stopVM(_ child: ChildProcess, qmpSocket: String?) {
        guard child.poll() == nil else { return }
        if let qmpSocket, let client = try? QMPClient(socketPath: qmpSocket, timeout: 1) {
            client.quit()
            if child.wait(timeout: 3) != nil { return }
        }
        child.terminate(grace: 2)
    }

    private func resolveAccelerator(qemu: String) -> Accelerator {
        switch request.accelerator {
        case .tcg: return .tcg
        case .kvm: return .kvm
        case .auto:
            var probe = AcceleratorProbe(qemu: qemu, image: request.image)
            probe.firmware = request.firmware
            let verdict = probe.run()
            if !verdict.usable { observe(.note("KVM unavailable (\(verdict.reason)); using TCG")) }
            return verdict.usable ? .kvm : .tcg
        }
    }

    private func finish(_ outcome: BootOutcome, _ detail: String, termination: ProcessTermination?, started: Date)
        -> BootResult
    {
        let result = BootResult(
            outcome: outcome, detail: detail, qemuTermination: termination,
            elapsed: Date().timeIntervalSince(started), readyAfter: readyAfter, lastConsoleLines: recentLines)
        observe(.finished(result))
        return result
    }

    static func seconds(_ value: Double) -> String { String(format: "%.1f s", value) }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
