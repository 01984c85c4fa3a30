import ArgumentParser
import Foundation
import SkerryKit

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print figures (see BENCHMARKS.md).",
        discussion: "Every benchmark prints its figures and ends with one of these.\n" + ExitStatuses.help(ExitStatuses.plain),
        subcommands: [BootBench.self, UDPBench.self, TCPBench.self, DataPathBench.self, BalancerBench.self, FailoverBench.self, FirewallBench.self, TelemetryBench.self, DashboardBench.self, SoakBench.self])
}

struct BootBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "boot",
        abstract: "Median boot-to-ready time under TCG: the kernel, QEMU's floor, and the kernel's ISO under SeaBIOS and OVMF.",
        discussion: """
            Boots the kernel and a minimal image that only prints the ready line through QEMU's -kernel, \
            and the kernel on a hybrid ISO through GRUB under SeaBIOS and under OVMF, in rotating order, \
            with the same QEMU command line otherwise, and reports the medians and their ratios to the floor.
            """)

    @Option(help: "Boots of each image.")
    var runs: Int = 15

    @Option(help: ArgumentHelp("Guest memory in MiB.", valueName: "MiB"))
    var memory: Int = 128

    func validate() throws {
        if runs < 1 || runs > 1000 { throw ValidationError("--runs must be between 1 and 1000") }
    }

    /// What the benchmark boots, in the order of its report.
    enum Subject: CaseIterable {
        case kernel, floor, isoSeaBIOS, isoOVMF

        var name: String {
            switch self {
            case .kernel: return "skerry kernel"
            case .floor: return "QEMU floor"
            case .isoSeaBIOS: return "ISO, SeaBIOS"
            case .isoOVMF: return "ISO, OVMF"
            }
        }
    }

    func run() throws {
        let image = try KernelBuild.build(kernel: nil, output: nil, verbose: true)
        guard let layout = ProjectLayout.find() else { throw CLIError("run inside the Skerry tree") }
        let floor: URL
        do {
            floor = try KernelBuilder(
                kernelDirectory: layout.kernelDirectory, outputDirectory: layout.kernelBuildDirectory,
                toolchain: try Toolchain.locate()
            ).buildFloorImage()
        } catch {
            throw CLIError("\(error)")
        }
        let scratch = try TemporaryDirectory(prefix: "skerry-bench-boot")
        defer { scratch.remove() }
        let iso = try Self.iso(of: image.bootable, in: URL(fileURLWithPath: scratch.path))

        var times: [Subject: [Double]] = [:]
        for round in 0..<runs {
            // Rotate which goes first so drift on a shared machine hits all alike.
            for offset in 0..<Subject.allCases.count {
                let subject = Subject.allCases[(round + offset) % Subject.allCases.count]
                let time: Double
                switch subject {
                case .kernel: time = try bootToReady(image.bootable, arguments: "shutdown-after=0")
                case .floor: time = try bootToReady(floor, arguments: "shutdown-after=0")
                case .isoSeaBIOS: time = try bootToReady(iso, firmware: .bios)
                case .isoOVMF: time = try bootToReady(iso, firmware: .uefi)
                }
                times[subject, default: []].append(time)
            }
        }
        let floorMedian = Statistics.median(times[.floor] ?? [])
        print("boot to ready under TCG, \(runs) boots of each, rotating, \(memory) MiB")
        print("                  median      min      max   / floor")
        for subject in Subject.allCases {
            print(row(subject.name, times[subject] ?? [], floor: floorMedian))
        }
        print(String(format: "kernel ratio      %.2fx (target <= 1.50x)", Statistics.median(times[.kernel] ?? []) / floorMedian))
        print(String(format: "image size        %.1f KiB (target <= 256 KiB)", Double(image.size) / 1024))
        let isoSize = ((try? FileManager.default.attributesOfItem(atPath: iso.path))?[.size] as? NSNumber)?.doubleValue ?? 0
        print(String(format: "ISO size          %.2f MiB (target <= 5 MiB)", isoSize / 1_048_576))
    }

    /// The hybrid ISO `skerry image` makes, of `kernel`, shutting down once ready.
    static func iso(of kernel: URL, in directory: URL) throws -> URL {
        let output = directory.appendingPathComponent("skerry.iso")
        do {
            let staging = directory.appendingPathComponent("staging")
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
            try GrubRescueImage.locate().make(kernel: kernel, grub: try GrubConfiguration(append: "shutdown-after=0"),
                                              staging: staging, output: output)
        } catch {
            throw CLIError("cannot make the benchmark's ISO: \(error)")
        }
        return output
    }

    private func bootToReady(_ image: URL, arguments: String = "", firmware: Firmware = .bios) throws -> Double {
        var request = BootRequest(image: image)
        request.accelerator = .tcg
        request.memoryMiB = memory
        request.kernelArguments = arguments
        request.firmware = firmware
        request.timeout = 60
        let result = try BootSession(request: request, observe: { _ in }).run()
        guard result.outcome == .cleanShutdown, let ready = result.readyAfter else {
            throw CLIError("benchmark boot of \(image.lastPathComponent) (\(firmware.rawValue)) ended with \(result.outcome.rawValue): \(result.detail)")
        }
        return ready
    }

    private func row(_ name: String, _ values: [Double], floor: Double) -> String {
        let padded = name.padding(toLength: 16, withPad: " ", startingAt: 0)
        let median = Statistics.median(values)
        return String(
            format: "%@ %6.1f ms %6.1f ms %6.1f ms %6.2fx", padded, median * 1000,
            (values.min() ?? 0) * 1000, (values.max() ?? 0) * 1000, median / floor)
    }
}

struct UDPBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "udp",
        abstract: "UDP echo through the appliance under TCG, beside a host socket echo.",
        discussion: """
            Boots the kernel with each NIC model and sends datagrams of 8 to 1407 bytes to its admin \
            echo service through QEMU's user-mode forward, with a window in flight; then the same \
            client against a plain echo socket on the host. Every reply is checked byte for byte.
            """)

    @Option(help: "Datagrams per run.")
    var count: Int = 20_000

    @Option(help: "Datagrams in flight.")
    var window: Int = 32

    @Option(help: "Runs of each, alternating; the median is reported.")
    var runs: Int = 3

    func validate() throws {
        if count < 1 || window < 1 || runs < 1 { throw ValidationError("--count, --window and --runs must be positive") }
    }

    func run() throws {
        let image = try KernelBuild.build(kernel: nil, output: nil, verbose: true)
        var rates: [String: [Double]] = [:]
        for _ in 0..<runs {
            for model in NICModel.allCases {
                rates[model.rawValue, default: []].append(try throughApplianceRate(image: image.bootable, model: model))
            }
            let server = try UDPEchoServer()
            let result = UDPEchoClient(port: server.port, count: count, window: window).run()
            server.stop()
            try check(result, "host echo")
            rates["host", default: []].append(Double(result.matched) / result.seconds)
        }
        print("UDP echo, \(count) datagrams of 8-1407 bytes, \(window) in flight, median of \(runs)")
        let floor = Statistics.median(rates["host"] ?? [])
        for name in ["virtio", "vmxnet3", "host"] {
            let median = Statistics.median(rates[name] ?? [])
            let label = name == "host" ? "host socket echo" : "appliance, \(name)"
            print(String(format: "%@ %8.0f datagrams/s  (%.2fx of host)", label.padding(toLength: 20, withPad: " ", startingAt: 0), median, median / floor))
        }
    }

    private func throughApplianceRate(image: URL, model: NICModel) throws -> Double {
        var request = BootRequest(image: image)
        request.accelerator = .tcg
        request.nicModel = model
        request.timeout = 300
        let count = self.count
        let window = self.window
        let result = try ApplianceWorkload.run(request, ready: { $0.hasPrefix("arp: admin gateway") }) { forwards in
            ApplianceWorkload.port(forwards, .admin, .udp, 7).map { UDPEchoClient(port: $0, count: count, window: window).run() }
        }
        guard let result else { throw CLIError("no UDP echo forward") }
        try check(result, "appliance (\(model.rawValue))")
        return Double(result.matched) / result.seconds
    }

    private func check(_ result: UDPEchoClient.Result, _ name: String) throws {
        guard result.matched == count, result.mismatched == 0, result.lost == 0 else {
            throw CLIError("\(name): \(result)")
        }
    }
}

struct TCPBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tcp",
        abstract: "TCP throughput each way and connections per second through the appliance, beside the host.",
        discussion: """
            Boots the kernel under TCG (virtio-net) and drives its admin test services through QEMU's \
            user-mode forwards: discard (host to kernel), chargen (kernel to host), echo, and \
            connect-echo-close rounds. Then the same clients against the same services on the host's \
            loopback. Every transfer is verified.
            """)

    @Option(help: "MiB per throughput run.")
    var mebibytes: Int = 16

    @Option(help: "Connections per connection-rate run.")
    var connections: Int = 200

    @Option(help: "Runs of each; the median is reported.")
    var runs: Int = 3

    func validate() throws {
        if mebibytes < 1 || connections < 1 || runs < 1 { throw ValidationError("--mebibytes, --connections and --runs must be positive") }
    }

    func run() throws {
        let image = try KernelBuild.build(kernel: nil, output: nil, verbose: true)
        var appliance: [String: [Double]] = [:]
        var host: [String: [Double]] = [:]
        for _ in 0..<runs {
            let servers = try HostTestServers()
            host = merge(host, try TCPBench.measure(ports: servers.ports, mebibytes: mebibytes, connections: connections))
            servers.stop()
            appliance = merge(appliance, try measureAppliance(image: image.bootable))
        }
        print("TCP through the appliance (TCG, virtio-net, user-mode forwards) vs the host's loopback, median of \(runs)")
        for (key, unit) in [("host-to-kernel", "MiB/s"), ("kernel-to-host", "MiB/s"), ("echo", "MiB/s"), ("connections", "conn/s")] {
            let a = Statistics.median(appliance[key] ?? [])
            let h = Statistics.median(host[key] ?? [])
            print(String(format: "%@ appliance %9.1f %@   host %9.1f %@   (%.3fx)", key.padding(toLength: 15, withPad: " ", startingAt: 0), a, unit, h, unit, a / h))
        }
    }

    private func merge(_ a: [String: [Double]], _ b: [String: Double]) -> [String: [Double]] {
        var merged = a
        for (key, value) in b { merged[key, default: []].append(value) }
        return merged
    }

    private static func measure(ports: [UInt16: UInt16], mebibytes: Int, connections: Int) throws -> [String: Double] {
        guard let echo = ports[7], let discard = ports[9], let chargen = ports[19] else { throw CLIError("missing service ports") }
        let bytes = mebibytes << 20
        let mib = Double(bytes) / 1_048_576
        let sink = TCPTestClient.discard(port: discard, count: bytes)
        let source = TCPTestClient.chargen(port: chargen, count: bytes)
        let payload = (0..<(bytes / 4)).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) }
        let echoed = TCPTestClient.echo(port: echo, payload: payload)
        for (name, transfer) in [("discard", sink), ("chargen", source), ("echo", echoed)] where !transfer.intact {
            throw CLIError("\(name) transfer failed: \(transfer)")
        }
        let started = Date()
        for index in 0..<connections {
            let fd = try TCPTestClient.connect(port: echo)
            let message = Array("round \(index)".utf8)
            _ = message.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            var buffer = [UInt8](repeating: 0, count: 64)
            var received = 0
            while received < message.count {
                let count = recv(fd, &buffer, buffer.count, 0)
                if count <= 0 { break }
                received += count
            }
            close(fd)
            guard received == message.count else { throw CLIError("connection round \(index) failed") }
        }
        return [
            "host-to-kernel": mib / sink.seconds, "kernel-to-host": mib / source.seconds,
            "echo": Double(payload.count) / 1_048_576 / echoed.seconds,
            "connections": Double(connections) / Date().timeIntervalSince(started),
        ]
    }

    private func measureAppliance(image: URL) throws -> [String: Double] {
        var request = BootRequest(image: image)
        request.accelerator = .tcg
        request.timeout = 600
        let (mebibytes, connections) = (self.mebibytes, self.connections)
        return try ApplianceWorkload.run(request, ready: { $0.hasPrefix("arp: admin gateway") }) { forwards in
            let ports = Dictionary(uniqueKeysWithValues: forwards.filter { $0.transport == .tcp }.map { ($0.guestPort, $0.hostPort) })
            return Result { try TCPBench.measure(ports: ports, mebibytes: mebibytes, connections: connections) }
        }.get()
    }
}


struct DataPathBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "datapath",
        abstract: "The balancer's per-packet work on one host core: connection lookup and full-NAT rewrite.",
        discussion: """
            For each of --flows tracked flows, a client packet is looked up by its client-side key and \
            rewritten toward its backend, then (reflected as the backend's reply) looked up by its \
            backend-side key and rewritten back toward the client: addresses, ports, TTL and \
            incremental checksums each way. Reports packets per second; run a release build.
            """)

    @Option(help: "Flows in the connection table.")
    var flows: Int = 10_000

    @Option(help: "Passes over all flows per run.")
    var rounds: Int = 200

    @Option(help: "Runs; the median is reported.")
    var runs: Int = 5

    func validate() throws {
        if flows < 1 || flows > 60_000 || rounds < 1 || runs < 1 {
            // One SNAT port per flow: the pool (1024-65535) bounds the table.
            throw ValidationError("--flows must be 1-60,000 (one SNAT port each); --rounds and --runs positive")
        }
    }

    func run() throws {
        var rates: [Double] = []
        var packets = 0
        for _ in 0..<runs {
            let result = DataPathBenchmark(flows: flows, rounds: rounds).run()
            guard result.verified else { throw CLIError("the rewritten packets did not verify") }
            rates.append(result.packetsPerSecond)
            packets = result.packets
        }
        let median = Statistics.median(rates)
        print("data path (lookup + full-NAT rewrite), \(flows) flows, \(packets) packets per run, median of \(runs), all verified")
        print(String(format: "%.2f Mpps on one core (target 5 Mpps; min %.2f, max %.2f)", median / 1e6,
                     (rates.min() ?? 0) / 1e6, (rates.max() ?? 0) / 1e6))
    }
}

struct BalancerBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "balancer",
        abstract: "HTTP requests per second through the web sample, beside the same load sent straight to a backend.",
        discussion: """
            Runs the sample backends in-process on 127.0.0.1:8081-8083, boots Samples/web under TCG \
            with its service forwarded, and times --requests GETs (a new connection each, as the \
            backends close after answering) from --clients concurrent clients; then the same load \
            against one backend directly. Every response is checked.
            """)

    @Option(help: "Requests per measurement.")
    var requests: Int = 2000

    @Option(help: "Concurrent clients.")
    var clients: Int = 4

    func validate() throws {
        if requests < 1 || clients < 1 || clients > 64 { throw ValidationError("--requests positive, --clients 1-64") }
    }

    func run() throws {
        guard let layout = ProjectLayout.find() else { throw CLIError("run inside the Skerry tree") }
        let image = try KernelBuild.build(kernel: nil, output: nil, appliance: layout.root.appendingPathComponent("Samples/web").path, verbose: true)
        let backends = try (1...3).map { try SampleBackend(name: "web\($0)", port: UInt16(8080 + $0), log: { _ in }) }
        defer { for backend in backends { backend.stop() } }

        var request = BootRequest(image: image.bootable)
        request.accelerator = .tcg
        request.timeout = 900
        request.forwards.append(PortForward(role: .public, transport: .tcp, guestPort: 80))
        let (requests, clients) = (self.requests, self.clients)
        let loads = try ApplianceWorkload.run(request, ready: { $0.hasSuffix("web/web3 is UP") }) { forwards in
            ApplianceWorkload.port(forwards, .public, .tcp, 80).map {
                (BalancerBench.load(port: $0, requests: requests, clients: clients),
                 BalancerBench.load(port: 8081, requests: requests, clients: clients))
            }
        }
        guard let (appliance, direct) = loads else { throw CLIError("no public forward for port 80") }
        guard appliance.failures == 0, direct.failures == 0 else {
            throw CLIError("failed requests: \(appliance.failures) through the appliance, \(direct.failures) direct")
        }
        print("HTTP GET, a connection each, \(requests) requests from \(clients) clients (TCG, virtio-net, user-mode forward)")
        print(String(format: "through the appliance  %8.0f requests/s", appliance.rate))
        print(String(format: "straight to a backend  %8.0f requests/s   (appliance %.2fx)", direct.rate, appliance.rate / direct.rate))
    }

    struct Load: Sendable {
        var rate: Double
        var failures: Int
    }

    static func load(port: UInt16, requests: Int, clients: Int) -> Load {
        let failures = Box(0)
        let lock = NSLock()
        let group = DispatchGroup()
        let started = Date()
        for client in 0..<clients {
            group.enter()
            Thread.detachNewThread {
                let share = requests / clients + (client < requests % clients ? 1 : 0)
                var failed = 0
                for _ in 0..<share where HTTPProbe.backendName(port: port) == nil { failed += 1 }
                lock.withLock { failures.value += failed }
                group.leave()
            }
        }
        group.wait()
        return Load(rate: Double(requests) / Date().timeIntervalSince(started), failures: failures.value)
    }
}

struct FailoverBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "failover",
        abstract: "Requests lost when a backend dies or answers 503, and how long it takes to leave and rejoin the rotation.",
        discussion: """
            Runs the sample backends in-process on 127.0.0.1:8081-8083 and boots Samples/web under TCG \
            (user-mode networking) with its service forwarded. One client sends GETs, a new connection \
            each; after 3 s web2 fails (kill: its port refuses; 503: its port accepts and answers 503, \
            under an HTTP check), and a second after its DOWN line it is repaired. Reports requests sent \
            and failed, the seconds from the fault to the DOWN line and from the repair to the UP line, \
            each with the service's `retries` at --retries (redispatch on) and at 0 (off), medians over \
            --runs. A black-holed backend needs tap networking: TapFailoverTests measures it.
            """)

    @Option(help: "Runs of each fault and setting; the median is reported.")
    var runs: Int = 3

    @Option(help: "The service's retries with redispatch on.")
    var retries: Int = 2

    func validate() throws {
        if runs < 1 || runs > 100 { throw ValidationError("--runs must be 1-100") }
        if retries < 1 || retries > 8 { throw ValidationError("--retries must be 1-8 (0 is the comparison run)") }
    }

    func run() throws {
        guard let layout = ProjectLayout.find() else { throw CLIError("run inside the Skerry tree") }
        let sample = layout.root.appendingPathComponent("Samples/web")
        let scratch = try TemporaryDirectory(prefix: "skerry-bench-failover")
        defer { scratch.remove() }
        let settings = [retries, 0]
        var images: [String: URL] = [:]
        var unbuilt: [FailoverBenchmark.Fault: String] = [:]
        for fault in FailoverBenchmark.Fault.allCases {
            for setting in settings {
                let directory = URL(fileURLWithPath: scratch.path).appendingPathComponent("\(fault.rawValue)-\(setting)")
                do {
                    try FailoverBenchmark.appliance(sample: sample, retries: setting, fault: fault, into: directory)
                } catch {
                    throw CLIError("cannot write the benchmark's appliance file: \(error)")
                }
                do {
                    images["\(fault.rawValue)-\(setting)"] = try KernelBuild.build(kernel: nil, output: nil, appliance: directory.path, verbose: false).bootable
                } catch {
                    // Reported in the table: the other faults are still measured.
                    unbuilt[fault] = String("\(error)".split(separator: "\n").prefix(2).joined(separator: " ").prefix(240))
                }
            }
        }
        var results: [String: [FailoverBenchmark.Result]] = [:]
        for _ in 0..<runs {
            for fault in FailoverBenchmark.Fault.allCases where unbuilt[fault] == nil {
                for setting in settings {
                    let key = "\(fault.rawValue)-\(setting)"
                    results[key, default: []].append(try Self.measure(image: images[key]!, fault: fault))
                }
            }
        }
        print("failover: one client, GET on a new connection each, Samples/web under TCG (user-mode networking), median of \(runs)")
        print("fault        retries   sent  failed  leaves rotation  returns")
        for fault in FailoverBenchmark.Fault.allCases {
            if let reason = unbuilt[fault] {
                print("\(fault.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)) (not measured: its appliance did not build: \(reason))")
                continue
            }
            for setting in settings {
                let figures = results["\(fault.rawValue)-\(setting)"] ?? []
                func seconds(_ values: [Double?]) -> String {
                    let known = values.compactMap { $0 }
                    guard known.count == values.count, !known.isEmpty else { return "never (\(values.count - known.count) of \(values.count))" }
                    return String(format: "%.1f s", Statistics.median(known))
                }
                print(String(format: "%@ %7d %6.0f %7.0f  %@ %@", fault.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0), setting,
                             Statistics.median(figures.map { Double($0.sent) }), Statistics.median(figures.map { Double($0.failed) }),
                             seconds(figures.map(\.leftAfter)).padding(toLength: 16, withPad: " ", startingAt: 0), seconds(figures.map(\.returnedAfter))))
            }
        }
        print("black-hole   (tap networking only: TapFailoverTests, as root)")
    }

    /// One boot of `image` with fresh backends, and the fault's figures.
    static func measure(image: URL, fault: FailoverBenchmark.Fault) throws -> FailoverBenchmark.Result {
        let backends = Box(try (1...3).map { try SampleBackend(name: "web\($0)", port: UInt16(8080 + $0), log: { _ in }) })
        defer { for backend in backends.value { backend.stop() } }
        var request = BootRequest(image: image)
        request.accelerator = .tcg
        request.timeout = 300
        request.forwards.append(PortForward(role: .public, transport: .tcp, guestPort: 80))
        let console = FailoverBenchmark.ConsoleWatch()
        let state = Box((forwards: [PortForward](), result: FailoverBenchmark.Result?.none))
        let ready = DispatchSemaphore(value: 0)
        let session = try BootSession(request: request) { event in
            switch event {
            case .forwarded(let forward): state.value.forwards.append(forward)
            case .console(_, let line):
                console.append(line)
                if line.hasSuffix("web/web3 is UP") { ready.signal() }
            default: break
            }
        }
        let stopper = session.stopHandle
        Thread.detachNewThread {
            // Every backend UP: web3 is checked last.
            guard ready.wait(timeout: .now() + 120) == .success, console.waitFor("is UP", count: 3, timeout: 10) != nil,
                let port = ApplianceWorkload.port(state.value.forwards, .public, .tcp, 80)
            else {
                stopper.stop()
                return
            }
            state.value.result = FailoverBenchmark.measure(port: port, backends: &backends.value, fault: fault, console: console)
            stopper.stop()
        }
        let outcome = try session.run()
        guard let result = state.value.result else {
            throw CLIError("the appliance never had three backends UP (\(outcome.outcome.rawValue): \(outcome.detail))")
        }
        return result
    }
}

final class Box<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}

