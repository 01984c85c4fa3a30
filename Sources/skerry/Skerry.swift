import ArgumentParser
import Foundation

@main
struct Skerry: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "skerry",
        abstract: "Build, boot and watch Skerry unikernel appliances.",
        discussion: """
            Skerry is a unikernel L4 load balancer and firewall written in Embedded Swift. \
            It boots as a VM with three NICs; this command builds its image and runs it in QEMU.
            Every command exits 64 for an invalid command line and 130 when interrupted; \
            its own exit codes are in its --help.
            """,
        subcommands: [BuildCommand.self, ImageCommand.self, BootCommand.self, BackendsCommand.self, RulesCommand.self, StatsCommand.self, AdminCommand.self, TopCommand.self, ConsoleCommand.self, DemoCommand.self, SmokeCommand.self, BenchCommand.self])

    @Flag(help: "Print the version, the commit and the toolchains, and exit.")
    var version = false

    func run() throws {
        guard version else { throw CleanExit.helpRequest(self) }
        print(SkerryVersion.text)
    }

    /// ArgumentParser's own entry, except that a `CLIError` exits with its status.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as CLIError {
            FileHandle.standardError.write(Data("Error: \(error.description)\n".utf8))
            exit(withError: error.status.exitCode)
        } catch {
            exit(withError: error)
        }
    }
}
