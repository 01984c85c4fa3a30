import ArgumentParser
import Foundation
import SkerryKit

struct BackendsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backends",
        abstract: "Run sample HTTP backends on the host's loopback.",
        discussion: """
            Starts COUNT servers on 127.0.0.1, ports BASE-PORT upward, named PREFIX1, PREFIX2, … \
            Each answers every request with its name (body and X-Backend header) and logs it. \
            They run until interrupted. The sample appliances reach them from their private NIC \
            at 10.0.3.2.

            SIGUSR1 makes them answer 503 Service Unavailable while their ports keep accepting \
            connections (a listening but broken service, for HTTP health checks); SIGUSR2 makes \
            them answer 200 again.

            """ + ExitStatuses.help(ExitStatuses.interactive))

    @Option(help: "How many backends.")
    var count: Int = 3

    @Option(name: .customLong("base-port"), help: "Port of the first backend.")
    var basePort: UInt16 = 8081

    @Option(help: "Name prefix; backends are PREFIX1, PREFIX2, …")
    var prefix: String = "web"

    @Option(help: "Number of the first backend.")
    var first: Int = 1

    @Option(help: "The status code they answer with until SIGUSR1 or SIGUSR2.")
    var status: Int = 200

    func validate() throws {
        if count < 1 || count > 64 { throw ValidationError("--count must be 1-64") }
        if !(100...599).contains(status) { throw ValidationError("--status must be 100-599") }
        if Int(basePort) + count - 1 > 65535 || basePort == 0 { throw ValidationError("--base-port leaves no room for \(counted(count, "backend"))") }
    }

    func run() throws {
        // Trapped before the first "listening" line: a signal from then on stops the servers.
        let stop = SignalTrap.install()
        StatusSignals.install(initial: status)
        let log: @Sendable (String) -> Void = { line in
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        }
        var backends: [SampleBackend] = []
        for index in 0..<count {
            do {
                backends.append(try SampleBackend(name: "\(prefix)\(first + index)", port: basePort + UInt16(index), status: status, log: log))
            } catch {
                throw CLIError("\(error)")
            }
        }
        for backend in backends { log("\(backend.name) listening on 127.0.0.1:\(backend.port)") }
        var pollDescriptor = pollfd(fd: stop, events: Int16(POLLIN), revents: 0)
        var answering = status
        while !SignalTrap.drain() {
            _ = poll(&pollDescriptor, 1, 50)
            let wanted = Int(StatusSignals.wanted)
            guard wanted != answering else { continue }
            answering = wanted
            for backend in backends { backend.status = wanted }
            log("answering \(wanted) \(wanted == 200 ? "again" : "from now on")")
        }
        for backend in backends { backend.stop() }
        throw ExitStatus.interrupted.exitCode
    }
}

/// SIGUSR1 and SIGUSR2 switch the sample backends' answer between 503 and 200.
enum StatusSignals {
    /// The status the last signal asked for; read by the command's poll loop.
    nonisolated(unsafe) static var wanted: Int32 = 200

    static func install(initial: Int) {
        wanted = Int32(initial)
        signal(SIGUSR1) { _ in StatusSignals.wanted = 503 }
        signal(SIGUSR2) { _ in StatusSignals.wanted = 200 }
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        sigaddset(&unblocked, SIGUSR1)
        sigaddset(&unblocked, SIGUSR2)
        pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
    }
}
