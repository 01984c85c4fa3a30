import ArgumentParser
import Foundation
import SkerryConsole
import SkerryConsoleHost
import SkerryKit
import SkerryTerminal

struct TopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "The live dashboard: backends, connections, firewall hits and the serial console.",
        discussion: """
            Boots an appliance (as `skerry boot` does) and shows it, or attaches to one already running \
            with --attach HOST:PORT (its telemetry port) and, optionally, --console ADDRESS (the serial \
            console: the Unix socket or TCP port `skerry boot --console` serves, whose ready summary \
            prints this command, or QEMU's -serial tcp:/telnet: server). Press ? in the dashboard for the keys. When telemetry is lost it says how \
            stale the data is and reconnects; it never exits by itself. NO_COLOR turns colour off.

            """ + ExitStatuses.help(ExitStatuses.interactive))

    @Argument(help: ArgumentHelp("An appliance (a directory with appliance.conf, or the file) or a bootable image (.elf32, .iso, .img, .raw, .qcow2, .vmdk).",
                                 valueName: "appliance|image"))
    var image: String?

    @Option(help: ArgumentHelp("Attach to a running appliance's telemetry port instead of booting one.", valueName: "HOST:PORT"))
    var attach: TelemetryAddress?

    @Option(help: ArgumentHelp(
        "With --attach: the serial console: the Unix socket `skerry boot --console` serves (a bare PATH is one too), or a TCP port, raw or telnet (QEMU's -serial tcp:/telnet:, a vSphere network serial port). A tcp:/telnet: console that drops is shown and reconnected.",
        valueName: "unix:PATH|tcp:HOST:PORT|telnet:HOST:PORT"))
    var console: String?

    @OptionGroup(title: "Access")
    var access: AccessOptions

    @OptionGroup(title: "Boot")
    var boot: BootOptions

    @OptionGroup(title: "Display")
    var display: DashboardOptions

    func validate() throws {
        if attach == nil && image == nil { throw ValidationError("give an appliance or image to boot, or --attach HOST:PORT") }
        if attach != nil && image != nil { throw ValidationError("boot an appliance or --attach to one, not both") }
        if console != nil && attach == nil { throw ValidationError("--console goes with --attach") }
        if let console { _ = try ConsoleAddress(argument: console) }
        if attach != nil, let option = boot.given.first {
            throw ValidationError("\(option) sets how a VM boots; with --attach nothing is booted")
        }
        if let image { try boot.checkMedium(BootCommand.isAppliance(image) ? nil : image) }
    }

    func run() throws {
        guard isatty(STDOUT_FILENO) == 1 else { throw CLIError("skerry top needs a terminal; use skerry stats --watch for logs") }
        let environmentToken = ProcessInfo.processInfo.environment["SKERRY_ADMIN_TOKEN"]
        if let attach {
            let feed = DashboardFeed(interval: display.interval, address: attach.description)
            feed.attach(host: attach.host, port: attach.port)
            let serial = try console.map { argument throws in
                do {
                    return try SerialSocket(address: try ConsoleAddress(argument: argument), feed: feed)
                } catch let failure as ConsoleConnection.Failure {
                    throw CLIError("\(failure)")
                }
            }
            let ending = DashboardLoop(feed: feed, vm: nil, token: access.token ?? environmentToken, readOnly: access.readOnly, display: display).run()
            serial?.close()
            if ending == .signalled { throw ExitStatus.interrupted.exitCode }
            return
        }
        let target = try TopCommand.prepare(image!, boot: boot, interval: display.interval)
        let vm = VMRunner(request: target.request, imageName: target.name, telemetryPort: target.telemetryPort, feed: target.feed)
        vm.start()
        let ending = DashboardLoop(feed: target.feed, vm: vm, token: access.token ?? target.token ?? environmentToken, readOnly: access.readOnly,
                                   display: display).run()
        if ending == .signalled { throw ExitStatus.interrupted.exitCode }
    }

    struct Target {
        var request: BootRequest
        var name: String
        var telemetryPort: UInt16
        var token: String?
        var feed: DashboardFeed
    }

    /// Builds the appliance (or takes the image) and sets up the boot with the telemetry port forwarded:
    /// `base` sets the request first, then `boot` overrides it; `shown` forwards are added. `image`, when
    /// given, is the artefact to boot (an ISO or disk made from `target`), and `target` describes its services.
    static func prepare(_ target: String, image: String? = nil, boot: BootOptions, shown extra: [PortForward] = [], interval: Double,
                        base: (inout BootRequest) -> Void = { _ in }) throws -> Target {
        let isAppliance = BootCommand.isAppliance(target)
        var probe = BootRequest(image: URL(fileURLWithPath: "/"))
        base(&probe)
        try boot.checkMedium(image ?? (isAppliance ? nil : target), kernelArguments: probe.kernelArguments)
        var description: ApplianceDescription?
        var token: String?
        let imageURL: URL
        var symbols: URL?
        if isAppliance {
            description = try ApplianceFile.load(target)
            token = description?.adminToken
        }
        if let image {
            imageURL = URL(fileURLWithPath: image)
        } else if isAppliance {
            let built = try KernelBuild.build(kernel: nil, output: nil, appliance: target, verbose: false)
            imageURL = built.bootable
            symbols = built.elf64
        } else {
            imageURL = URL(fileURLWithPath: target)
        }
        var request = BootRequest(image: imageURL)
        request.macs = description?.pinnedMACs ?? [:]
        request.symbols = symbols
        base(&request)
        // The telemetry port and the services' ports are forwarded to free host ports unless --forward names them:
        // stable ones would make parallel dashboards and suites fight over 9180.
        let plan = description.map { ApplianceBootPlan(description: $0) } ?? .standalone
        try boot.apply(to: &request, shown: plan.forwards(stableHostPorts: false) + extra)
        // Every plan made from a description, the standalone one included, has the telemetry endpoint.
        let telemetryPort = plan.telemetry!.guestPort
        let name = URL(fileURLWithPath: image ?? target).lastPathComponent
        return Target(request: request, name: name, telemetryPort: telemetryPort, token: token,
                      feed: DashboardFeed(interval: interval, address: "127.0.0.1:?"))
    }
}
