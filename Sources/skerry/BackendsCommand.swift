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

            """ + ExitStatuses.help(ExitStatuses.interactive))

    @Option(help: "How many backends.")
    var count: Int = 3

    @Option(name: .customLong("base-port"), help: "Port of the first backend.")
    var basePort: UInt16 = 8081

    @Option(help: "Name prefix; backends are PREFIX1, PREFIX2, …")
    var prefix: String = "web"

    @Option(help: "Number of the first backend.")
    var first: Int = 1

    func validate() throws {
        if count < 1 || count > 64 { throw ValidationError("--count must be 1-64") }
        if Int(basePort) + count - 1 > 65535 || basePort == 0 { throw ValidationError("--base-port leaves no room for \(counted(count, "backend"))") }
    }

    func run() throws {
        // Trapped before the first "listening" line: a signal from then on stops the servers.
        let stop = SignalTrap.install()
        let log: @Sendable (String) -> Void = { line in
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        }
        var backends: [SampleBackend] = []
        for index in 0..<count {
            do {
                backends.append(try SampleBackend(name: "\(prefix)\(first + index)", port: basePort + UInt16(index), log: log))
            } catch {
                throw CLIError("\(error)")
            }
        }
        for backend in backends { log("\(backend.name) listening on 127.0.0.1:\(backend.port)") }
        var pollDescriptor = pollfd(fd: stop, events: Int16(POLLIN), revents: 0)
        while !SignalTrap.drain() { _ = poll(&pollDescriptor, 1, 1000) }
        for backend in backends { backend.stop() }
        throw ExitStatus.interrupted.exitCode
    }
}
