import Foundation
import SkerryKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What clients saw while a backend failed and returned, and when the
/// balancer's console said it left and rejoined the rotation.
final class FailoverObservation: @unchecked Sendable {
    private let lock = NSLock()
    private var sentCount = 0
    private var failures: [String] = []
    private var inFlight: [String] = []
    private var faultAt: Date?
    private var servedAfter: [String: Int] = [:]
    private var recovered: Date?
    var downAfter: Double?
    var upAfter: Double?
    /// The guest's `uptime` lines (from `status`) against the host's clock.
    private var uptimes: [(host: Date, guest: Double)] = []

    func uptime(_ guest: Double) { lock.withLock { uptimes.append((Date(), guest)) } }

    /// How fast the guest's clock ran against the host's between the first and last `status`:
    /// the checks' intervals are guest time, so a slow clock stretches them.
    var clockRate: String {
        lock.withLock {
            guard let first = uptimes.first, let last = uptimes.last, last.host > first.host else { return "unknown" }
            return String(format: "%.2fx", (last.guest - first.guest) / last.host.timeIntervalSince(first.host))
        }
    }

    var sent: Int { lock.withLock { sentCount } }
    var failed: [String] { lock.withLock { failures } }
    /// Requests sent before the fault that failed: already on the killed
    /// backend's connection, past the handshake, where an L4 balancer can no
    /// longer move them. At most one per client.
    var lostInFlight: [String] { lock.withLock { inFlight } }

    /// The backend is about to fail: requests sent from now on must all succeed.
    func markFault() { lock.withLock { faultAt = Date() } }
    var served: [String: Int] { lock.withLock { servedAfter } }

    /// A request sent at `time`: `response` nil when the connection failed; a
    /// failure unless HTTP 200. Served counts every answer by its backend.
    func record(_ response: HTTPProbe.Response?, at time: Date, failure: String) {
        let backend = response?.headers.range(of: "X-Backend: ").map { String(response!.headers[$0.upperBound...].prefix { !$0.isNewline }) }
        lock.withLock {
            sentCount += 1
            if response?.status != 200 {
                let text = "\(failure): \(response.map { "HTTP \($0.status)" } ?? "no answer")"
                if let faultAt, time < faultAt, response == nil { inFlight.append(text) } else { failures.append(text) }
            }
            if let backend, let recovered, time >= recovered { servedAfter[backend, default: 0] += 1 }
        }
    }

    /// Responses from now on count in `served`.
    func countServedFromNow() { lock.withLock { recovered = Date() } }
}

/// The web sample (or a variant of it) booted under TCG with three real
/// HTTP backends, each in its own `skerry backends` process, and clients
/// sending GETs through the public forward, a new connection each.
struct FailoverHarness {
    let appliance: String
    let clients: Int
    /// What happens to web2 while the clients run: returns when the scenario is over.
    let scenario: Scenario
    /// What happens to the backends while the clients run; `wait(text, n, timeout)` waits for the
    /// `n`th console line containing `text` since boot and returns the seconds it waited, or nil;
    /// `type` types on the serial console.
    typealias Scenario = @Sendable (_ backends: [BackendProcess], _ wait: (String, Int, Double) -> Double?, _ observation: FailoverObservation,
                                    _ type: (String) -> Void) -> Void

    struct Outcome {
        var run: SkerryCLI.Run
        var observation: FailoverObservation
        var started: Bool
    }

    func run() throws -> Outcome {
        sampleBackendPorts.lock()
        defer { sampleBackendPorts.unlock() }
        let backends = BackendProcess.webSample()
        for backend in backends { try backend.start() }
        defer { for backend in backends { backend.stop() } }

        let observation = FailoverObservation()
        let events = Box<[String]>([])
        let lock = NSLock()
        var publicPort: UInt16?
        var started = false
        let (clients, scenario) = (self.clients, self.scenario)
        let run = SkerryCLI.run(
            ["boot", appliance, "--accel", "tcg", "--json", "--forward", "public:tcp:80", "--input", "--timeout", "150"],
            keepInputOpen: true, timeout: 170
        ) { line, child in
            guard let event = SkerryCLI.event(line) else { return }
            if event["event"] as? String == "forward", event["role"] as? String == "public", let port = event["hostPort"] as? Int {
                publicPort = UInt16(port)
            }
            if let console = event["line"] as? String, console.hasPrefix("balancer: ") || console.hasPrefix("web/web") {
                lock.withLock { events.value.append(console) }
            }
            if let console = event["line"] as? String, console.hasPrefix("uptime "), let guest = Double(console.dropFirst(7).prefix { $0 != " " }) {
                observation.uptime(guest)
            }
            let upCount = lock.withLock { events.value.filter { $0.hasSuffix(" is UP") }.count }
            guard !started, upCount >= 3, let port = publicPort else { return }
            started = true
            let input = child.standardInput
            Thread.detachNewThread {
                func type(_ text: String) { _ = text.withCString { write(input, $0, strlen($0)) } }
                func wait(_ text: String, _ count: Int, _ timeout: Double) -> Double? {
                    let start = Date()
                    while Date().timeIntervalSince(start) < timeout {
                        if lock.withLock({ events.value.filter { $0.contains(text) }.count }) >= count { return Date().timeIntervalSince(start) }
                        usleep(20_000)
                    }
                    return nil
                }
                let running = Box(true)
                let start = Date()
                let group = DispatchGroup()
                for _ in 0..<clients {
                    group.enter()
                    Thread.detachNewThread {
                        while lock.withLock({ running.value }) {
                            let sentAt = Date()
                            let response = HTTPProbe.exchange(port: port, path: "/", timeout: 5)
                            observation.record(response, at: sentAt, failure: String(format: "%.1f s after the clients started", sentAt.timeIntervalSince(start)))
                        }
                        group.leave()
                    }
                }
                scenario(backends, wait, observation, type)
                lock.withLock { running.value = false }
                group.wait()
                type("backends\nstatus\nshutdown\n")
            }
        }
        return Outcome(run: run, observation: observation, started: started)
    }

    /// Kill web2 with SIGKILL once the clients have run `before` seconds, restart it once the console
    /// says it is DOWN, and go on until it has served clients again after its return (at most 20 s).
    static func killAndRestartWeb2(before: Double) -> Scenario {
        { backends, wait, observation, type in
            Thread.sleep(forTimeInterval: before)
            type("status\n")
            observation.markFault()
            backends[1].kill()
            observation.downAfter = wait("web/web2 is DOWN", 1, 20)
            type("status\n")
            Thread.sleep(forTimeInterval: 1)
            try? backends[1].start()
            let restarted = Date()
            // The first UP line was at boot; the second is the return after rise.
            if wait("web/web2 is UP", 2, 20) != nil {
                observation.upAfter = Date().timeIntervalSince(restarted)
                observation.countServedFromNow()
            }
            let deadline = Date().addingTimeInterval(20)
            while observation.upAfter != nil, (observation.served["web2"] ?? 0) < 3, Date() < deadline { usleep(50_000) }
        }
    }
}

@Suite(.serialized) struct FailoverIntegrationTests {
    static let sample = SkerryCLI.packageRoot.appendingPathComponent("Samples/web").path

    /// One client, a new connection per request; web2 is killed with
    /// SIGKILL mid-run and restarted: no request fails, and web2 serves
    /// again once the checks have seen it rise.
    @Test func aKilledBackendCostsOneClientNoRequestAndReturnsAfterRise() throws {
        let outcome = try FailoverHarness(appliance: Self.sample, clients: 1, scenario: FailoverHarness.killAndRestartWeb2(before: 4)).run()
        try Self.expectLosslessFailover(outcome, clients: 1)
    }

    /// The same at 16 concurrent clients: no new connection fails.
    @Test func aKilledBackendCostsSixteenClientsNoConnection() throws {
        let outcome = try FailoverHarness(appliance: Self.sample, clients: 16, scenario: FailoverHarness.killAndRestartWeb2(before: 4)).run()
        try Self.expectLosslessFailover(outcome, clients: 16)
    }

    static func expectLosslessFailover(_ outcome: FailoverHarness.Outcome, clients: Int) throws {
        let run = outcome.run
        let observation = outcome.observation
        #expect(run.code == 0, "\(run.stderr.suffix(800))")
        try #require(outcome.started, "the three backends never came up: \(run.consoleLines.suffix(30))")
        #expect(!run.consoleLines.contains { $0.contains("PANIC") })
        #expect(observation.sent >= 20 * clients, "\(observation.sent) requests sent")
        #expect(observation.failed.count == 0, "\(observation.failed.count) of \(observation.sent) requests failed: \(observation.failed.prefix(10))")
        #expect(observation.lostInFlight.count <= clients, "in flight at the kill: \(observation.lostInFlight)")
        #expect(observation.downAfter != nil, "web2 never left the rotation (guest clock at \(observation.clockRate) the host's):\n\(run.consoleLines.suffix(40).joined(separator: "\n"))")
        #expect(observation.upAfter != nil, "web2 never came back UP: \(run.consoleLines.filter { $0.hasPrefix("balancer: ") })")
        #expect((observation.served["web2"] ?? 0) >= 1, "web2 serves again after its return: \(observation.served)")
    }

    /// A backend whose port still accepts but which answers 503 goes DOWN
    /// under the HTTP check (`health-check http GET / expect 200`), takes no
    /// requests while DOWN, and returns when it answers 200 again.
    @Test func aBackendAnswering503GoesDownUnderTheHTTPCheckWhileItsPortAccepts() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("skerry-http-check-\(getpid())")
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let sample = URL(fileURLWithPath: Self.sample)
        let original = try String(contentsOf: sample.appendingPathComponent("appliance.conf"), encoding: .utf8)
        let checked = original.replacingOccurrences(of: "health-check interval", with: "health-check http GET / expect 200 interval")
        try #require(checked != original, "Samples/web has no health-check line to extend")
        try checked.write(to: directory.appendingPathComponent("appliance.conf"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(at: sample.appendingPathComponent("firewall.rules"), to: directory.appendingPathComponent("firewall.rules"))

        let portAccepts = Box(false)
        let duringDown = Box<[String: Int]>([:])
        let outcome = try FailoverHarness(appliance: directory.path, clients: 1) { backends, wait, observation, type in
            Thread.sleep(forTimeInterval: 2)
            type("status\n")
            backends[1].signal(SIGUSR1)
            observation.downAfter = wait("web/web2 is DOWN", 1, 15)
            type("status\n")
            if let fd = try? TCPTestClient.connect(port: 8082, timeout: 2) {
                portAccepts.value = true
                close(fd)
            }
            // The table while web2 is DOWN says why.
            type("backends\n")
            // Counts from here are what the clients got while web2 was DOWN.
            observation.countServedFromNow()
            Thread.sleep(forTimeInterval: 2)
            duringDown.value = observation.served
            backends[1].signal(SIGUSR2)
            let healed = Date()
            if wait("web/web2 is UP", 2, 15) != nil { observation.upAfter = Date().timeIntervalSince(healed) }
        }.run()
        let run = outcome.run
        #expect(run.code == 0, "\(run.stderr.suffix(800))")
        try #require(outcome.started, "the three backends never came up (does the appliance file parse?): \(run.stderr.suffix(400)) \(run.consoleLines.suffix(20))")
        let down = try #require(outcome.observation.downAfter, "web2 never went DOWN: \(run.consoleLines.filter { $0.hasPrefix("balancer: ") })")
        // fall 3 x interval 1 s, one interval of phase, and the 500 ms check timeout.
        #expect(down <= 3 * 1.0 + 1.0 + 0.5 + 1.0, "DOWN after \(down) s; the guest's clock ran at \(outcome.observation.clockRate) the host's")
        #expect(portAccepts.value, "web2's port still accepted connections while it answered 503")
        #expect(duringDown.value["web2"] == nil && duringDown.value.values.reduce(0, +) > 0,
                "a DOWN backend takes no requests: \(duringDown.value)")
        #expect(outcome.observation.upAfter != nil, "web2 came back UP once it answered 200")
        let reason = run.consoleLines.filter { $0.contains("web/web2") }.joined(separator: "\n")
        #expect(reason.contains("503"), "the console says why web2 failed its checks:\n\(reason)")
    }
}
