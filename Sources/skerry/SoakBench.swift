import ArgumentParser
import Foundation
import SkerryKit

/// Long-running load with monitoring attached, to show that the appliance's
/// heap stays flat: what a leak per connection, scrape or subscriber would
/// turn into an out-of-memory panic.
struct SoakBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "Balanced load plus monitoring for minutes; prints the kernel heap at start and end.",
        discussion: """
            Runs the sample backends in-process on 127.0.0.1:8081-8083 and boots Samples/web under \
            TCG. For --minutes it sends HTTP GETs through the service from --clients clients (a \
            connection each), scrapes /metrics every --scrape-interval seconds, and keeps a \
            telemetry subscriber (as `skerry stats --watch` is) that reconnects every \
            --reconnect-interval seconds. Prints the heap after the first minute and at the end, \
            its range in between, every error, and the peak connections. The heap is called flat \
            when the end is within 256 KiB of the first minute's figure.
            """)

    @Option(help: "Minutes of load.")
    var minutes: Double = 10

    @Option(help: "Concurrent HTTP clients.")
    var clients: Int = 2

    @Option(help: ArgumentHelp("Seconds between /metrics scrapes.", valueName: "SECONDS"))
    var scrapeInterval: Double = 1

    @Option(help: ArgumentHelp("Seconds a subscriber stays before it reconnects.", valueName: "SECONDS"))
    var reconnectInterval: Double = 10

    func validate() throws {
        guard minutes.isFinite, minutes > 0, minutes <= 24 * 60 else { throw ValidationError("--minutes must be more than 0 and at most 1440") }
        guard (1...64).contains(clients) else { throw ValidationError("--clients must be 1-64") }
        if let problem = SecondsOption("--scrape-interval", minimum: 0.1, maximum: 3600).problem(scrapeInterval) {
            throw ValidationError(problem)
        }
        if let problem = SecondsOption("--reconnect-interval", minimum: 1, maximum: 3600).problem(reconnectInterval) {
            throw ValidationError(problem)
        }
    }

    /// What the workers saw; guarded by `lock`.
    final class Tally: @unchecked Sendable {
        let lock = NSLock()
        var requests = 0
        var failedRequests = 0
        var scrapes = 0
        var failedScrapes = 0
        var subscriptions = 0
        var failedSubscriptions = 0
        var heap: [(seconds: Double, bytes: UInt64)] = []
        var peakActive: UInt64 = 0
        var peakTCPOpen: UInt64 = 0
        var errors: [String: Int] = [:]

        func note(_ error: String) { errors[error, default: 0] += 1 }
    }

    func run() throws {
        guard let layout = ProjectLayout.find() else { throw CLIError("run inside the Skerry tree") }
        let sample = layout.root.appendingPathComponent("Samples/web").path
        let image = try KernelBuild.build(kernel: nil, output: nil, appliance: sample, verbose: true)
        let backends = try (1...3).map { try SampleBackend(name: "web\($0)", port: UInt16(8080 + $0), log: { _ in }) }
        defer { for backend in backends { backend.stop() } }

        var request = BootRequest(image: image.bootable)
        request.accelerator = .tcg
        request.timeout = minutes * 60 + 300
        request.forwards.append(PortForward(role: .public, transport: .tcp, guestPort: 80))
        request.forwards.append(PortForward(role: .admin, transport: .tcp, guestPort: 9100))
        let tally = Tally()
        let settings = (seconds: minutes * 60, clients: clients, scrape: scrapeInterval, reconnect: reconnectInterval)
        let found = try ApplianceWorkload.run(request, ready: { $0.hasSuffix("web/web3 is UP") }) { forwards -> Bool in
            guard let web = ApplianceWorkload.port(forwards, .public, .tcp, 80),
                let telemetry = ApplianceWorkload.port(forwards, .admin, .tcp, 9100)
            else { return false }
            SoakBench.soak(web: web, telemetry: telemetry, settings: settings, tally: tally)
            return true
        }
        guard found else { throw CLIError("no forwards for the service and the telemetry port") }
        report(tally)
    }

    static func soak(web: UInt16, telemetry: UInt16,
                     settings: (seconds: Double, clients: Int, scrape: Double, reconnect: Double), tally: Tally) {
        let started = Date()
        let end = started.addingTimeInterval(settings.seconds)
        let group = DispatchGroup()
        func worker(_ body: @escaping @Sendable () -> Void) {
            group.enter()
            Thread.detachNewThread {
                body()
                group.leave()
            }
        }
        for _ in 0..<settings.clients {
            worker {
                while Date() < end {
                    let ok = HTTPProbe.backendName(port: web) != nil
                    tally.lock.withLock {
                        tally.requests += 1
                        if !ok {
                            tally.failedRequests += 1
                            tally.note("request failed")
                        }
                    }
                }
            }
        }
        worker {
            while Date() < end {
                let next = Date().addingTimeInterval(settings.scrape)
                let response = HTTPProbe.exchange(port: telemetry, path: "/metrics")
                tally.lock.withLock {
                    tally.scrapes += 1
                    if response?.status != 200 {
                        tally.failedScrapes += 1
                        tally.note("scrape: \(response.map { "HTTP \($0.status)" } ?? "no response")")
                    }
                }
                Thread.sleep(until: next)
            }
        }
        worker {
            while Date() < end {
                let leave = min(end, Date().addingTimeInterval(settings.reconnect))
                do throws(TelemetryStreamError) {
                    let connection = try TelemetryConnection(host: "127.0.0.1", port: telemetry)
                    try connection.subscribe(interval: 1)
                    tally.lock.withLock { tally.subscriptions += 1 }
                    while Date() < leave {
                        guard case .snapshot(let snapshot) = try connection.receive(timeout: 5) else { continue }
                        let seconds = Date().timeIntervalSince(started)
                        tally.lock.withLock {
                            tally.heap.append((seconds, snapshot.heapUsed))
                            tally.peakActive = max(tally.peakActive, snapshot.services.map { $0[.activeConnections] }.max() ?? 0)
                            tally.peakTCPOpen = max(tally.peakTCPOpen, snapshot.tcpOpen)
                        }
                    }
                } catch {
                    tally.lock.withLock {
                        tally.failedSubscriptions += 1
                        tally.note("subscriber: \(error)")
                    }
                    Thread.sleep(forTimeInterval: 1)
                }
            }
        }
        group.wait()
    }

    func report(_ tally: Tally) {
        let heap = tally.heap
        guard let first = heap.first, let last = heap.last else {
            print("no snapshot arrived; errors: \(tally.errors)")
            return
        }
        let warmed = heap.first { $0.seconds >= 60 } ?? first
        let later = heap.filter { $0.seconds >= warmed.seconds }.map(\.bytes)
        func kib(_ bytes: UInt64) -> String { String(format: "%.1f KiB", Double(bytes) / 1024) }
        let drift = Int64(bitPattern: last.bytes &- warmed.bytes)
        print(String(format: "soak: %.1f min of Samples/web under TCG, %d HTTP clients, /metrics every %.1f s, a subscriber reconnecting every %.0f s",
                     minutes, clients, scrapeInterval, reconnectInterval))
        print("requests     \(tally.requests) (\(tally.failedRequests) failed)")
        print("scrapes      \(tally.scrapes) (\(tally.failedScrapes) failed)")
        print("subscribers  \(tally.subscriptions) (\(tally.failedSubscriptions) failed to connect or dropped)")
        print("peak         \(tally.peakActive) balanced connections, \(tally.peakTCPOpen) kernel TCP connections")
        print("heap         \(kib(first.bytes)) at the first snapshot, \(kib(warmed.bytes)) after \(Int(warmed.seconds)) s, \(kib(last.bytes)) at the end")
        print("             range after warm-up \(kib(later.min() ?? 0)) - \(kib(later.max() ?? 0)); drift \(drift >= 0 ? "+" : "")\(String(format: "%.1f", Double(drift) / 1024)) KiB: \(abs(drift) <= 256 * 1024 ? "flat" : "NOT FLAT")")
        if !tally.errors.isEmpty {
            for (error, count) in tally.errors.sorted(by: { $0.value > $1.value }) { print("error        \(count)x \(error)") }
        }
    }
}
