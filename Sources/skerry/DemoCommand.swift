import ArgumentParser
import Foundation
import KernelCore
import SkerryConsole
import SkerryConsoleHost
import SkerryKit
import SkerryTerminal

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start the sample backends, boot Samples/web and watch it in the dashboard, with light traffic.",
        discussion: """
            Starts web1-web3 on 127.0.0.1:8081-8083, builds and boots Samples/web with its service and \
            telemetry forwarded, opens `skerry top` on it, and sends a few requests a second through the \
            balancer once every backend is UP, plus, now and then, a connection its firewall drops (SSH), so \
            every view has something to show. q quits and stops everything.

            """ + ExitStatuses.help(ExitStatuses.interactive))

    @Option(help: "Requests a second through the balancer.")
    var rate = 3

    @Option(help: ArgumentHelp(
        "Boot this image of Samples/web (an .iso, .img, .raw, .qcow2 or .vmdk from `skerry image Samples/web`) instead of building its kernel.",
        valueName: "path"))
    var image: String?

    @OptionGroup(title: "Access")
    var access: AccessOptions

    @OptionGroup(title: "Boot")
    var boot: BootOptions

    @OptionGroup(title: "Display")
    var display: DashboardOptions

    func validate() throws {
        if rate < 0 || rate > 100 { throw ValidationError("--rate must be 0-100 requests a second") }
        try boot.checkMedium(image)
    }

    func run() throws {
        guard isatty(STDOUT_FILENO) == 1 else { throw CLIError("skerry demo needs a terminal") }
        guard let layout = ProjectLayout.find() else { throw CLIError("run skerry demo inside the Skerry tree (it boots Samples/web)") }
        var backends: [SampleBackend] = []
        for index in 1...3 {
            do {
                backends.append(try SampleBackend(name: "web\(index)", port: UInt16(8080 + index)) { _ in })
            } catch {
                for backend in backends { backend.stop() }
                throw CLIError("cannot start backend web\(index) on 127.0.0.1:\(8080 + index): \(error); is scripts/run or another demo running?")
            }
        }
        defer { for backend in backends { backend.stop() } }
        let sample = layout.root.appendingPathComponent("Samples/web").path
        if image == nil { FileHandle.standardError.write(Data("skerry: building \(sample)\n".utf8)) }
        // SSH is forwarded too, for the firewall to drop.
        let target = try TopCommand.prepare(sample, image: image, boot: boot, shown: [PortForward(role: .public, transport: .tcp, guestPort: 22)],
                                            interval: display.interval)
        let vm = VMRunner(request: target.request, imageName: "Samples/web", telemetryPort: target.telemetryPort, feed: target.feed)
        vm.start()
        let traffic = DemoTraffic(vm: vm, feed: target.feed, rate: rate)
        let token = access.token ?? target.token ?? ProcessInfo.processInfo.environment["SKERRY_ADMIN_TOKEN"]
        let ending = DashboardLoop(feed: target.feed, vm: vm, token: token, readOnly: access.readOnly, display: display,
                                   everySecond: { traffic.tick() }).run()
        if ending == .signalled { throw ExitStatus.interrupted.exitCode }
    }
}

/// A few requests a second through the balancer, and a blocked connection now
/// and then, from the first snapshot in which every backend is UP: sooner, the
/// balancer would refuse them for want of a backend.
final class DemoTraffic: @unchecked Sendable {
    let vm: VMRunner
    let feed: DashboardFeed
    let rate: Int
    private var seconds = 0
    private var started = false

    init(vm: VMRunner, feed: DashboardFeed, rate: Int) {
        self.vm = vm
        self.feed = feed
        self.rate = rate
    }

    func tick() {
        if !started {
            guard let backends = feed.input(readOnly: true).model.snapshot?.backends, !backends.isEmpty, backends.allSatisfy(\.up) else { return }
            started = true
        }
        seconds += 1
        guard let web = vm.hostPort(role: .public, guestPort: 80) else { return }
        let ssh = seconds % 5 == 0 ? vm.hostPort(role: .public, guestPort: 22) : nil
        let count = rate
        Thread.detachNewThread {
            for _ in 0..<count { _ = HTTPProbe.exchange(port: web, path: "/", timeout: 2) }
            // The web sample's firewall drops SSH on the public side: this shows as block-ssh hits.
            if let ssh, let fd = try? TCPTestClient.connect(port: ssh, timeout: 1) { close(fd) }
        }
    }
}
