import Foundation
import SkerryKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Held by every test that runs the sample backends on 127.0.0.1:8081-8083,
/// so that suites running in parallel never share those ports.
let sampleBackendPorts = MachineLock(name: "skerry-sample-backends")

/// A lock across this process's threads and every other process on the
/// machine taking the same name (another test run in another checkout, say):
/// the sample's ports are the machine's, not one process's.
final class MachineLock: @unchecked Sendable {
    private let threads = NSLock()
    private let path: String
    private var descriptor: Int32 = -1

    init(name: String) {
        path = "/tmp/\(name).lock"
    }

    func lock() {
        threads.lock()
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o666)
        // Without the file, the process-wide lock still holds.
        if descriptor >= 0 { _ = flock(descriptor, LOCK_EX) }
    }

    func unlock() {
        if descriptor >= 0 {
            _ = flock(descriptor, LOCK_UN)
            close(descriptor)
            descriptor = -1
        }
        threads.unlock()
    }
}

/// One `skerry backends` process serving one named backend, stoppable by PID.
final class BackendProcess: @unchecked Sendable {
    let name: String
    let port: UInt16
    private(set) var child: ChildProcess?

    init(name: String, port: UInt16) {
        self.name = name
        self.port = port
    }

    /// Samples/web's three backends, web1–web3 on 8081–8083 (not started).
    static func webSample() -> [BackendProcess] {
        (1...3).map { BackendProcess(name: "web\($0)", port: UInt16(8080 + $0)) }
    }

    func start() throws {
        let number = String(name.drop { !$0.isNumber })
        let child = try ChildProcess.spawn(
            executable: SkerryCLI.executable,
            arguments: ["backends", "--count", "1", "--base-port", String(port), "--prefix", "web", "--first", number])
        child.closeInput()
        self.child = child
        // The backend logs every request: a pipe nobody reads would fill and stall it.
        // Each reader holds the child (whose deinit closes the pipes) until end of file.
        let held = Box(child)
        for fd in [child.standardOutput, child.standardError] {
            Thread.detachNewThread {
                var buffer = [UInt8](repeating: 0, count: 4096)
                while read(fd, &buffer, buffer.count) > 0 {}
                withExtendedLifetime(held) {}
            }
        }
        // Ready once it answers.
        for _ in 0..<100 {
            if let fd = try? TCPTestClient.connect(port: port, timeout: 1) {
                close(fd)
                return
            }
            usleep(20_000)
        }
    }

    func stop() {
        child?.terminate(grace: 2)
        child = nil
    }

    /// SIGKILL: the process dies at once, its port refuses from then on.
    func kill() {
        guard let child else { return }
        child.send(SIGKILL)
        _ = child.wait(timeout: 5)
        self.child = nil
    }

    /// SIGUSR1 makes the backend answer 503 while it keeps accepting; SIGUSR2, 200 again.
    func signal(_ number: Int32) {
        child?.send(number)
    }

    deinit { stop() }
}

/// GET / through the appliance; the backend's name, or nil if the request failed.
func fetchBackendName(port: UInt16) -> String? { HTTPProbe.backendName(port: port, timeout: 5) }

final class BalancerScenario: @unchecked Sendable {
    var counts: [String: Int] = [:]
    var failures = 0
    var downAfter: Double?
    var upAfter: Double?
    var afterDown: [String: Int] = [:]
    var afterUp: [String: Int] = [:]
    var afterDrain: [String: Int] = [:]
    var notes: [String] = []
}

@Suite(.serialized) struct BalancerIntegrationTests {
    static let sample = SkerryCLI.packageRoot.appendingPathComponent("Samples/web").path

    /// The web sample end to end: even spread, a backend stopping and
    /// returning, and a drain from the serial console.
    @Test(.serialized, arguments: ["virtio", "vmxnet3"])
    func theWebSampleBalancesFailsOverRecoversAndDrains(model: String) throws {
        sampleBackendPorts.lock()
        defer { sampleBackendPorts.unlock() }
        let backends = BackendProcess.webSample()
        for backend in backends { try backend.start() }
        defer { for backend in backends { backend.stop() } }

        let scenario = BalancerScenario()
        let events = Box<[String]>([])
        // The guest's `uptime` (status) against the host's clock: the checks' interval is guest time.
        let uptimes = Box<[(host: Date, guest: Double)]>([])
        let lock = NSLock()
        var publicPort: UInt16?
        var started = false
        let run = SkerryCLI.run(
            ["boot", Self.sample, "--accel", "tcg", "--json", "--nic-model", model, "--forward", "public:tcp:80", "--input", "--timeout", "240"],
            keepInputOpen: true, timeout: 270
        ) { line, child in
            guard let event = SkerryCLI.event(line) else { return }
            if event["event"] as? String == "forward", event["role"] as? String == "public", let port = event["hostPort"] as? Int {
                publicPort = UInt16(port)
            }
            if let console = event["line"] as? String, console.hasPrefix("balancer: ") {
                lock.withLock { events.value.append(console) }
            }
            if let console = event["line"] as? String, console.hasPrefix("uptime "),
                let guest = Double(console.dropFirst(7).prefix { $0 != " " })
            {
                lock.withLock { uptimes.value.append((Date(), guest)) }
            }
            let upCount = lock.withLock { events.value.filter { $0.hasSuffix(" is UP") }.count }
            guard !started, upCount >= 3, let port = publicPort else { return }
            started = true
            let input = child.standardInput
            Thread.detachNewThread {
                func type(_ text: String) { _ = text.withCString { write(input, $0, strlen($0)) } }
                func waitFor(_ suffix: String, timeout: Double) -> Double? {
                    let start = Date()
                    while Date().timeIntervalSince(start) < timeout {
                        if lock.withLock({ events.value.contains { $0.hasSuffix(suffix) } }) { return Date().timeIntervalSince(start) }
                        usleep(20_000)
                    }
                    return nil
                }
                for _ in 0..<300 {
                    if let name = fetchBackendName(port: port) { scenario.counts[name, default: 0] += 1 } else { scenario.failures += 1 }
                }
                type("status\n")
                backends[1].stop()
                scenario.downAfter = waitFor("web/web2 is DOWN after 3 failed checks (refused)", timeout: 20)
                type("status\n")
                for _ in 0..<30 {
                    if let name = fetchBackendName(port: port) { scenario.afterDown[name, default: 0] += 1 } else { scenario.failures += 1 }
                }
                try? backends[1].start()
                scenario.upAfter = waitFor("web/web2 is UP", timeout: 20).map { _ in 0 }
                // The second UP line for web2 is the recovery.
                let recovered = Date()
                while lock.withLock({ events.value.filter { $0.hasSuffix("web/web2 is UP") }.count }) < 2 && Date().timeIntervalSince(recovered) < 20 {
                    usleep(20_000)
                }
                scenario.upAfter = Date().timeIntervalSince(recovered)
                for _ in 0..<30 {
                    if let name = fetchBackendName(port: port) { scenario.afterUp[name, default: 0] += 1 } else { scenario.failures += 1 }
                }
                type("drain web/web1\n")
                _ = waitFor("web/web1 set to DRAIN", timeout: 10)
                for _ in 0..<30 {
                    if let name = fetchBackendName(port: port) { scenario.afterDrain[name, default: 0] += 1 } else { scenario.failures += 1 }
                }
                type("backends\nconns\nnetstat\nshutdown\n")
            }
        }
        let panic = run.consoleLines.drop { !$0.hasPrefix("PANIC") }.prefix(30).joined(separator: "\n")
        #expect(run.code == 0, "\(run.stderr.suffix(800)) \(panic)")
        #expect(started, "the backends never all came up: \(events.value)")
        #expect(scenario.counts == ["web1": 100, "web2": 100, "web3": 100], "round robin: \(scenario.counts)")
        #expect(scenario.failures == 0, "\(scenario.failures) requests failed; console:\n\(run.consoleLines.suffix(60).joined(separator: "\n"))")
        let down = try #require(scenario.downAfter, "web2 never went down")
        // The kernel times its checks with its own clock (the TSC, calibrated at boot): a clock
        // running slow stretches every interval, which is the kernel's fault, not the checker's.
        let samples = lock.withLock { uptimes.value }
        let clockRate = samples.count >= 2
            ? (samples[samples.count - 1].guest - samples[0].guest) / samples[samples.count - 1].host.timeIntervalSince(samples[0].host) : nil
        #expect(clockRate.map { abs($0 - 1) <= 0.2 } ?? true,
                "the guest's clock ran at \(clockRate ?? 0)x the host's between the stop and the DOWN line (its boot-time calibration)")
        // fall 3 x interval 1 s, plus one interval of phase and the 500 ms check timeout.
        #expect(down <= 3 * 1.0 + 1.0 + 1.0, "down after \(down) s; guest clock at \(clockRate.map { String(format: "%.2f", $0) } ?? "?")x the host's")
        #expect(scenario.afterDown["web2"] == nil && scenario.afterDown.values.reduce(0, +) == 30, "\(scenario.afterDown)")
        #expect((scenario.afterUp["web2"] ?? 0) > 0, "web2 gets traffic again after recovering: \(scenario.afterUp) \(events.value)")
        #expect(scenario.afterDrain["web1"] == nil && scenario.afterDrain.values.reduce(0, +) == 30, "\(scenario.afterDrain)")
        let connections = run.consoleLines.first { $0.hasPrefix("connections: ") } ?? ""
        #expect(connections.contains(" of 65536, syn "), "conns reports the table's fill and flows by state: \(connections)")
        let table = run.consoleLines.filter { $0.hasPrefix("web/web") }
        #expect(table.count == 3 && table[0].contains("DRAIN"), "\(table)")
    }

    /// A service's connection limit: connections past it are refused at
    /// once with a reset; when one closes, a new one is accepted.
    @Test func aServiceConnectionLimitRefusesTheExtraConnections() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("skerry-limit-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try """
            appliance limited
            service web {
                port 80
                max-connections 2
                health-check interval 1s timeout 500ms rise 1 fall 3
                backend web1 10.0.3.2:8081
            }
            """.write(to: directory.appendingPathComponent("appliance.conf"), atomically: true, encoding: .utf8)
        sampleBackendPorts.lock()
        defer { sampleBackendPorts.unlock() }
        let backend = BackendProcess(name: "web1", port: 8081)
        try backend.start()
        defer { backend.stop() }

        let outcome = Box((held: 0, refusedQuickly: false, afterClose: nil as String?))
        // The host side of a forward accepts before the guest's handshake
        // completes, and the limit counts established flows only: the third
        // connection is opened once the console shows both held ones established.
        let heldEstablished = Box(false)
        var publicPort: UInt16?
        var started = false
        let run = SkerryCLI.run(
            ["boot", directory.path, "--accel", "tcg", "--json", "--forward", "public:tcp:80", "--input", "--timeout", "120"],
            keepInputOpen: true, timeout: 150
        ) { line, child in
            guard let event = SkerryCLI.event(line) else { return }
            if (event["line"] as? String)?.contains("service web: port 80, active 2,") == true {
                heldEstablished.value = true
            }
            if event["event"] as? String == "forward", event["role"] as? String == "public", let port = event["hostPort"] as? Int {
                publicPort = UInt16(port)
            }
            guard !started, let port = publicPort, (event["line"] as? String)?.hasSuffix("web/web1 is UP") == true else { return }
            started = true
            let input = child.standardInput
            Thread.detachNewThread {
                let held = (0..<2).compactMap { _ in try? TCPTestClient.connect(port: port, timeout: 5) }
                outcome.value.held = held.count
                let deadline = Date().addingTimeInterval(20)
                while !heldEstablished.value, Date() < deadline {
                    _ = "backends\n".withCString { write(input, $0, strlen($0)) }
                    usleep(500_000)
                }
                let start = Date()
                if let extra = try? TCPTestClient.connect(port: port, timeout: 5) {
                    // The host side may accept before the guest refuses: the refusal then arrives as a reset or end of stream.
                    var byte: UInt8 = 0
                    let result = recv(extra, &byte, 1, 0)
                    outcome.value.refusedQuickly = result <= 0 && Date().timeIntervalSince(start) < 3
                    close(extra)
                } else {
                    outcome.value.refusedQuickly = Date().timeIntervalSince(start) < 3
                }
                for fd in held { close(fd) }
                usleep(500_000)
                outcome.value.afterClose = fetchBackendName(port: port)
                let commands = "backends\nnetstat\nshutdown\n"
                _ = commands.withCString { write(input, $0, strlen($0)) }
            }
        }
        #expect(run.code == 0, "\(run.stderr.suffix(500))")
        #expect(outcome.value.held == 2)
        #expect(outcome.value.refusedQuickly, "the third connection is refused at once")
        #expect(outcome.value.afterClose == "web1", "a slot freed by closing takes a new connection")
        let stack = run.consoleLines.last { $0.hasPrefix("stack:") } ?? ""
        #expect(stack.contains("balancer-refused=1"), "\(stack)")
    }
}
