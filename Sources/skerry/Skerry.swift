import ArgumentParser

@main
struct Skerry: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "skerry",
        abstract: "Build, boot and watch Skerry unikernel appliances.",
        discussion: """
            Skerry is a unikernel L4 load balancer and firewall written in Embedded Swift. \
            It boots as a VM with three NICs; this command builds its image and runs it in QEMU.
            """,
        subcommands: [BuildCommand.self, BootCommand.self, BackendsCommand.self, RulesCommand.self, StatsCommand.self, AdminCommand.self, TopCommand.self, DemoCommand.self, SmokeCommand.self, BenchCommand.self])
}
