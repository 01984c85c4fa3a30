import ArgumentParser
import Foundation
import SkerryKit
#if canImport(Glibc)
import Glibc
#endif

/// `skerry console ADDRESS`: the serial shell of a running appliance from a plain terminal.
struct ConsoleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Type into a running appliance's serial console (its kernel shell) from a plain terminal.",
        discussion: """
            ADDRESS is unix:PATH or tcp:HOST:PORT (what `skerry boot --console` serves, or QEMU's \
            -serial unix:/tcp: server) or telnet:HOST:PORT (QEMU's -serial telnet:, a vSphere VM's \
            network serial port); an IPv6 HOST goes in brackets, tcp:[::1]:4555. On a terminal, keys go \
            to the console as they are typed and \(ConsoleCommand.escapeName) then q disconnects (as in \
            telnet); the terminal is restored however the command ends. With standard input not a \
            terminal, its lines are sent and the console printed until the connection closes, or until \
            standard input has ended and the console has been silent for \(Format.duration(ConsoleCommand.drainSeconds)). \
            The console is a root shell with no authentication: anyone who reaches ADDRESS can use it.

            """ + ExitStatuses.help(ExitStatuses.console))

    /// Ctrl-]: the key that escapes to skerry instead of the console.
    static let escapeByte: UInt8 = 0x1D
    static let escapeName = "Ctrl-]"
    /// Non-interactive: after standard input ends, the console's answer is awaited this long after its last byte.
    static let drainSeconds = 1.0

    @Argument(help: ArgumentHelp("Where the console is.", valueName: "unix:PATH|tcp:HOST:PORT|telnet:HOST:PORT"))
    var address: String

    @Option(help: ArgumentHelp("Seconds to wait for the connection (above 0, at most 300).", valueName: "seconds"))
    var connectTimeout: Double = 5

    func validate() throws {
        _ = try ConsoleAddress(argument: address)
        if !(connectTimeout > 0 && connectTimeout <= 300) { throw ValidationError("--connect-timeout must be above 0 and at most 300 seconds") }
    }

    func run() throws {
        let target = try ConsoleAddress(argument: address)
        let connection: ConsoleConnection
        do {
            connection = try ConsoleConnection.connect(target, timeout: connectTimeout)
        } catch {
            throw CLIError("\(error)", status: .consoleUnavailable)
        }
        signal(SIGPIPE, SIG_IGN)
        let signals = SignalTrap.install()
        let interactive = isatty(STDIN_FILENO) == 1
        let session = ConsoleSession(connection: connection, signals: signals, interactive: interactive)
        let ending: ConsoleSession.Ending
        if interactive {
            FileHandle.standardError.write(Data("skerry: connected to \(target); \(ConsoleCommand.escapeName) then q disconnects\r\n".utf8))
            let terminal = RawTerminal(STDIN_FILENO)
            ending = session.run()
            terminal.restore()
        } else {
            ending = session.run()
        }
        switch ending {
        case .escaped, .inputEnded:
            return
        case .closed(let reason):
            FileHandle.standardError.write(Data("skerry: console \(target): \(reason)\n".utf8))
        case .signalled:
            throw ExitStatus.interrupted.exitCode
        }
    }
}

/// The terminal in raw mode while the console runs: keys reach the console
/// unchanged (Ctrl-C included). Restored by `restore`, at exit, or on a
/// fatal signal's way out.
final class RawTerminal {
    private let fd: Int32
    private var saved = termios()
    private var active = false

    init(_ fd: Int32) {
        self.fd = fd
        guard tcgetattr(fd, &saved) == 0 else { return }
        RawTerminal.savedForExit = (fd, saved)
        atexit { RawTerminal.restoreAtExit() }
        var raw = saved
        cfmakeraw(&raw)
        // Keep output processing: the console's LF still returns the carriage.
        raw.c_oflag |= tcflag_t(OPOST | ONLCR)
        active = tcsetattr(fd, TCSAFLUSH, &raw) == 0
    }

    func restore() {
        guard active else { return }
        active = false
        _ = tcsetattr(fd, TCSAFLUSH, &saved)
        RawTerminal.savedForExit = nil
    }

    nonisolated(unsafe) private static var savedForExit: (Int32, termios)?

    private static func restoreAtExit() {
        guard var (fd, saved) = savedForExit else { return }
        _ = tcsetattr(fd, TCSAFLUSH, &saved)
    }
}

/// The poll loop of `skerry console`: standard input to the console, the console to standard output.
struct ConsoleSession {
    enum Ending: Equatable {
        case escaped
        case inputEnded
        case closed(String)
        case signalled
    }

    let connection: ConsoleConnection
    let signals: Int32
    let interactive: Bool

    func run() -> Ending {
        var inputOpen = true
        var afterEscape = false
        var inputEndedAt: Date?
        var lastOutput = Date()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if let ended = inputEndedAt, Date().timeIntervalSince(max(ended, lastOutput)) >= ConsoleCommand.drainSeconds {
                return .inputEnded
            }
            var fds = [
                pollfd(fd: connection.descriptor, events: Int16(POLLIN), revents: 0),
                pollfd(fd: inputOpen ? STDIN_FILENO : -1, events: Int16(POLLIN), revents: 0),
                pollfd(fd: signals, events: Int16(POLLIN), revents: 0),
            ]
            _ = poll(&fds, nfds_t(fds.count), 100)
            if fds[2].revents != 0 && SignalTrap.drain() { return .signalled }
            if fds[0].revents != 0 {
                guard let data = connection.receive(timeout: 0) else { return .closed(connection.endReason ?? "closed") }
                if !data.isEmpty {
                    lastOutput = Date()
                    guard write(all: data) else { return .closed("standard output was closed") }
                }
            }
            if fds[1].revents != 0 {
                let count = read(STDIN_FILENO, &buffer, buffer.count)
                if count <= 0 {
                    if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                    inputOpen = false
                    inputEndedAt = Date()
                    continue
                }
                var typed: [UInt8] = []
                for byte in buffer[0..<count] {
                    guard interactive else { typed.append(byte); continue }
                    if afterEscape {
                        afterEscape = false
                        if byte == UInt8(ascii: "q") || byte == UInt8(ascii: "Q") { _ = connection.send(typed); return .escaped }
                        // Any other key after the escape goes to the console (the escape typed twice sends one).
                        typed.append(byte)
                    } else if byte == ConsoleCommand.escapeByte {
                        afterEscape = true
                    } else {
                        typed.append(byte)
                    }
                }
                if !typed.isEmpty && !connection.send(typed) { return .closed(connection.endReason ?? "the console stopped taking input") }
            }
        }
    }

    private func write(all bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(STDOUT_FILENO, $0.baseAddress! + sent, $0.count - sent) }
            if count > 0 { sent += count; continue }
            if count < 0 && errno == EINTR { continue }
            return false
        }
        return true
    }
}
