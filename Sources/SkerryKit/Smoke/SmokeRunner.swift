import Foundation
import KernelCore

/// Runs one smoke suite: starts its backends, boots its appliance, runs the
/// steps in order (the first failure skips the rest), and leaves nothing
/// running: backends stopped, QEMU gone, whatever happened.
public final class SmokeRunner: @unchecked Sendable {
    public struct Target: Sendable {
        public var request: BootRequest
        public var telemetryPort: UInt16
        public var token: String?

        public init(request: BootRequest, telemetryPort: UInt16, token: String?) {
            self.request = request
            self.telemetryPort = telemetryPort
            self.token = token
        }
    }

    let suite: SmokeSuite
    var target: Target
    let logPath: String?
    let shouldStop: @Sendable () -> Bool
    private let lock = NSLock()
    private var console: [String] = []
    private var cursor = 0
    private var forwards: [PortForward] = []
    private var outcome: BootResult?
    private var session: BootSession?
    private var backends: [String: SampleBackend] = [:]
    private var monitor: TelemetryMonitor?
    /// Loads running in the background, by public port.
    private var backgroundLoads: [UInt16: BackgroundLoad] = [:]
    /// Set while cleaning up, so background loads end early.
    private var finishing = false
    private var log: FileHandle?

    /// - Parameter shouldStop: polled between and during steps (Ctrl-C).
    public init(suite: SmokeSuite, target: Target, logPath: String?, shouldStop: @escaping @Sendable () -> Bool = { false }) {
        self.suite = suite
        self.target = target
        self.logPath = logPath
        self.shouldStop = shouldStop
    }

    public func run() -> SmokeResult {
        let started = Date()
        var result = SmokeResult(suite: suite.name, file: suite.file, steps: [], failure: nil, lastConsoleLines: [], consoleLog: logPath,
                                 seconds: 0)
        if let logPath { log = OutputFile.openLog(logPath).handle }
        defer {
            cleanUp()
            try? log?.close()
        }
        for backend in suite.backends {
            do {
                backends[backend.name] = try SampleBackend(name: backend.name, port: backend.port) { _ in }
            } catch {
                result.failure = "cannot start backend \(backend.name) on 127.0.0.1:\(backend.port): \(error)"
                result.seconds = Date().timeIntervalSince(started)
                return result
            }
        }
        guard boot() else {
            result.failure = lock.withLock { outcome.map { "the VM did not start: \($0.outcome.rawValue): \($0.detail)" } } ?? "the VM did not start"
            result.lastConsoleLines = lastLines
            result.seconds = Date().timeIntervalSince(started)
            return result
        }
        let suiteDeadline = started.addingTimeInterval(suite.timeout)
        var failed = false
        for step in suite.steps {
            if shouldStop() { failed = true }
            if failed {
                result.steps.append(.init(name: step.name, status: .skipped, seconds: 0))
                continue
            }
            let stepStarted = Date()
            let deadline = min(stepStarted.addingTimeInterval(step.timeout), suiteDeadline)
            var record = SmokeResult.Step(name: step.name, status: .passed, seconds: 0)
            if let (expected, seen) = execute(step, deadline: deadline) {
                record.status = .failed
                record.expected = expected
                record.seen = Date() >= suiteDeadline && Date() < stepStarted.addingTimeInterval(step.timeout)
                    ? "\(seen) (the suite's \(Int(suite.timeout)) s timeout ran out)" : seen
                failed = true
            }
            record.seconds = Date().timeIntervalSince(stepStarted)
            result.steps.append(record)
        }
        if shouldStop() { result.failure = "interrupted" }
        result.lastConsoleLines = lastLines
        result.seconds = Date().timeIntervalSince(started)
        return result
    }

    var lastLines: [String] { lock.withLock { Array(console.suffix(20)) } }

    // MARK: The VM

    private func boot() -> Bool {
        var request = target.request
        request.failPatterns += suite.failOn
        // Every public port a step uses, forwarded to a free loopback port.
        var ports = Set<UInt16>()
        for step in suite.steps {
            switch step.action {
            case .http(let port, _, _, _, _), .servedBy(let port, _), .connect(let port), .refused(let port), .load(let port, _, _, _, _): ports.insert(port)
            default: break
            }
        }
        var wanted = ports.sorted().map { PortForward(role: .public, transport: .tcp, guestPort: $0) }
        wanted.append(PortForward(role: .admin, transport: .tcp, guestPort: target.telemetryPort))
        // The parser refused malformed and duplicate forwards already.
        request.forwards = PortForward.merge(PortForward.merge(request.forwards, overriddenBy: wanted),
                                             overriddenBy: (try? PortForward.parse(arguments: suite.forwards)) ?? [])
        let session: BootSession
        do {
            session = try BootSession(request: request) { [weak self] event in self?.observe(event) }
        } catch {
            lock.withLock { console.append("skerry smoke: \(error)") }
            return false
        }
        lock.withLock { self.session = session }
        nonisolated(unsafe) let running = session
        Thread.detachNewThread { [weak self] in
            let result = try? running.run()
            self?.lock.withLock { self?.outcome = result ?? BootResult(outcome: .qemuStartFailed, detail: "", qemuTermination: nil, elapsed: 0,
                                                                       readyAfter: nil, lastConsoleLines: []) }
        }
        // Up when the forwards are known, or down.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && !shouldStop() {
            if lock.withLock({ outcome != nil }) { return false }
            if hostPort(.admin, target.telemetryPort) != nil { return true }
            usleep(20_000)
        }
        return false
    }

    private func observe(_ event: BootEvent) {
        switch event {
        case .console(let time, let line):
            lock.withLock { console.append(line) }
            try? log?.write(contentsOf: Data(String(format: "[%8.3f] %@\n", time, line).utf8))
        case .qemu(_, let line):
            try? log?.write(contentsOf: Data("qemu: \(line)\n".utf8))
        case .note(let message):
            try? log?.write(contentsOf: Data("skerry: \(message)\n".utf8))
        case .forwarded(let forward):
            lock.withLock { forwards.append(forward) }
        default:
            break
        }
    }

    private func hostPort(_ role: InterfaceRole, _ guest: UInt16) -> UInt16? {
        lock.withLock { forwards.first { $0.role == role && $0.transport == .tcp && $0.guestPort == guest }?.hostPort }
    }

    private func cleanUp() {
        lock.withLock { finishing = true }
        for load in backgroundLoads.values { load.done.wait() }
        backgroundLoads.removeAll()
        let session = lock.withLock { self.session }
        if let session {
            session.stop()
            let deadline = Date().addingTimeInterval(30)
            while lock.withLock({ outcome == nil }) && Date() < deadline { usleep(10_000) }
        }
        for backend in backends.values { backend.stop() }
        backends.removeAll()
    }

    // MARK: Steps

    /// Runs `step`; nil when it passed, otherwise what was expected and what was seen.
    private func execute(_ step: SmokeStep, deadline: Date) -> (String, String)? {
        if let ended = lock.withLock({ outcome }), !isShutdown(step) {
            return ("a running VM", "the VM had exited: \(ended.outcome.rawValue): \(ended.detail)")
        }
        switch step.action {
        case .expectConsole(let pattern):
            guard let regex = try? Regex(pattern) else { return ("a valid pattern", pattern) }
            while Date() < deadline && !shouldStop() {
                let (lines, start) = lock.withLock { (console, cursor) }
                if let index = lines[start...].firstIndex(where: { $0.contains(regex) }) {
                    lock.withLock { cursor = index + 1 }
                    return nil
                }
                if let ended = lock.withLock({ outcome }) {
                    return ("a console line matching /\(pattern)/", "the VM exited first: \(ended.outcome.rawValue): \(ended.detail)")
                }
                usleep(20_000)
            }
            return ("a console line matching /\(pattern)/", "none within \(Self.seconds(step.timeout)); last line: \(lastLines.last ?? "(no output)")")
        case .send(let line):
            lock.withLock { session }?.sendConsole(line + "\n")
            return nil
        case .http(let port, let path, let status, let body, let backend):
            guard let host = hostPort(.public, port) else { return ("a forward of public port \(port)", "none") }
            var response: HTTPProbe.Response?
            while response == nil && Date() < deadline && !shouldStop() {
                response = HTTPProbe.exchange(port: host, path: path, timeout: max(0.5, min(5, deadline.timeIntervalSinceNow)))
                if response == nil { usleep(100_000) }
            }
            guard let response else { return ("an HTTP answer from public port \(port)\(path)", "no answer within \(Self.seconds(step.timeout))") }
            if let status, response.status != status { return ("HTTP \(status)", "HTTP \(response.status)") }
            if let body, !response.body.contains((try? Regex(body)) ?? Regex(verbatim: body)) {
                return ("a body matching /\(body)/", "\(response.body.prefix(200).debugDescription)")
            }
            if let backend {
                let served = Self.backendHeader(response)
                if served != backend { return ("served by \(backend)", "served by \(served ?? "no backend header")") }
            }
            return nil
        case .servedBy(let port, let backend):
            guard let host = hostPort(.public, port) else { return ("a forward of public port \(port)", "none") }
            var seen: [String: Int] = [:]
            while Date() < deadline && !shouldStop() {
                let started = Date()
                let served = HTTPProbe.exchange(port: host, path: "/", timeout: max(0.5, min(2, deadline.timeIntervalSinceNow)))
                    .map { Self.backendHeader($0) ?? "no backend header" } ?? "no answer"
                if served == backend { return nil }
                seen[served, default: 0] += 1
                Thread.sleep(until: min(started.addingTimeInterval(0.1), deadline))
            }
            let tally = seen.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            return ("a response from \(backend)", tally.isEmpty ? "no request sent" : tally)
        case .connect(let port):
            guard let host = hostPort(.public, port) else { return ("a forward of public port \(port)", "none") }
            // QEMU accepts on the host side whatever the guest does; a connection the guest
            // refuses is closed again at once, so it must stay open for half a second.
            var seen = "no connection"
            while Date() < deadline && !shouldStop() {
                if let fd = try? TCPTestClient.connect(port: host, timeout: 2) {
                    defer { close(fd) }
                    var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                    var byte: UInt8 = 0
                    if poll(&poller, 1, 500) == 0 || recv(fd, &byte, 1, Int32(MSG_PEEK)) > 0 { return nil }
                    seen = "the connection was closed at once (refused or reset by the appliance)"
                }
                usleep(100_000)
            }
            return ("a TCP connection to public port \(port)", seen)
        case .refused(let port):
            guard let host = hostPort(.public, port) else { return ("a forward of public port \(port)", "none") }
            let wait = max(0.5, min(3, deadline.timeIntervalSinceNow))
            if let response = HTTPProbe.exchange(port: host, path: "/", timeout: wait) {
                return ("no answer on public port \(port)", "HTTP \(response.status)")
            }
            return nil
        case .wait(let condition):
            guard let monitor = telemetry() else { return ("telemetry", "no telemetry forward") }
            while Date() < deadline && !shouldStop() {
                monitor.step(timeout: 0.2)
                if condition.holds(in: monitor.model) { return nil }
            }
            let seen = condition.observed(in: monitor.model)
                ?? (monitor.model.snapshot == nil ? "no telemetry (\(monitor.lastError.map { "\($0)" } ?? "no snapshot yet"))" : "no \(condition.key)")
            return (condition.description, "\(condition.field.isEmpty ? condition.key : condition.field) = \(seen)")
        case .admin(let action, let service, let backend, let weight):
            guard let token = target.token else { return ("an admin token", "the appliance file sets none") }
            guard let port = hostPort(.admin, target.telemetryPort) else { return ("telemetry", "no telemetry forward") }
            do {
                let connection = try TelemetryConnection(host: "127.0.0.1", port: port, timeout: max(1, deadline.timeIntervalSinceNow))
                let result = try connection.admin(token: token, action: action, service: service, backend: backend, weight: weight,
                                                  timeout: max(1, deadline.timeIntervalSinceNow))
                return result.code == .ok ? nil : ("the action taken", "refused (\(result.code)): \(result.message)")
            } catch {
                return ("the action taken", "\(error)")
            }
        case .stopBackend(let name):
            backends[name]?.stop()
            backends[name] = nil
            return nil
        case .startBackend(let name):
            guard backends[name] == nil, let declared = suite.backends.first(where: { $0.name == name }) else { return nil }
            while Date() < deadline {
                if let started = try? SampleBackend(name: name, port: declared.port, log: { _ in }) {
                    backends[name] = started
                    return nil
                }
                usleep(100_000)
            }
            return ("backend \(name) listening on 127.0.0.1:\(declared.port)", "the port stayed busy")
        case .load(let port, let seconds, let rate, let failures, let background):
            guard let host = hostPort(.public, port) else { return ("a forward of public port \(port)", "none") }
            guard background else {
                let tally = sendLoad(to: host, seconds: seconds, rate: rate, until: deadline)
                return tally.failed <= failures ? nil : ("at most \(failures) of \(tally.sent) requests failing", "\(tally.failed) failed")
            }
            let load = BackgroundLoad(failures: failures)
            backgroundLoads[port] = load
            load.done.enter()
            Thread.detachNewThread { [self] in
                let tally = sendLoad(to: host, seconds: seconds, rate: rate, until: .distantFuture)
                lock.withLock { load.tally = tally }
                load.done.leave()
            }
            return nil
        case .finishLoad(let port):
            // The parser pairs every finish-load with an earlier background load.
            guard let load = backgroundLoads[port] else { return ("a background load on port \(port)", "none") }
            guard load.done.wait(timeout: .now() + max(0, deadline.timeIntervalSinceNow)) == .success else {
                return ("the background load on port \(port) to end", "still running after \(Self.seconds(step.timeout))")
            }
            backgroundLoads[port] = nil
            let tally = lock.withLock { load.tally }
            return tally.failed <= load.failures ? nil : ("at most \(load.failures) of \(tally.sent) requests failing", "\(tally.failed) failed")
        case .sleep(let seconds):
            let end = min(Date().addingTimeInterval(seconds), deadline)
            while Date() < end && !shouldStop() { Thread.sleep(forTimeInterval: min(0.1, max(0, end.timeIntervalSinceNow))) }
            return nil
        case .shutdown(let expected):
            lock.withLock { session }?.sendConsole("shutdown\n")
            while Date() < deadline && !shouldStop() {
                if let ended = lock.withLock({ outcome }) {
                    return ended.outcome == expected ? nil : ("the VM to end with \(expected.rawValue)", "\(ended.outcome.rawValue): \(ended.detail)")
                }
                usleep(20_000)
            }
            return ("the VM to end with \(expected.rawValue)", "still running after \(Self.seconds(step.timeout))")
        }
    }

    /// Requests sent and failed by a load.
    struct LoadTally: Sendable {
        var sent = 0
        var failed = 0
    }

    /// A load running beside later steps, and how it went once `done`.
    final class BackgroundLoad: @unchecked Sendable {
        let failures: Int
        let done = DispatchGroup()
        var tally = LoadTally()

        init(failures: Int) { self.failures = failures }
    }

    /// GET / on the host's `port` at `rate` a second for `seconds` (or until `limit`, a stop or the clean-up):
    /// a request fails unless it gets HTTP 200.
    private func sendLoad(to port: UInt16, seconds: Double, rate: Double, until limit: Date) -> LoadTally {
        let end = min(Date().addingTimeInterval(seconds), limit)
        var tally = LoadTally()
        let start = Date()
        while Date() < end && !shouldStop() && !lock.withLock({ finishing }) {
            if HTTPProbe.exchange(port: port, path: "/", timeout: 2)?.status != 200 { tally.failed += 1 }
            tally.sent += 1
            let due = start.addingTimeInterval(Double(tally.sent) / rate)
            if due > Date() { Thread.sleep(until: min(due, end)) }
        }
        return tally
    }

    /// The backend a sample backend's response names in its X-Backend header.
    static func backendHeader(_ response: HTTPProbe.Response) -> String? {
        response.headers.range(of: "X-Backend: ").map { String(response.headers[$0.upperBound...].prefix { !$0.isNewline }) }
    }

    private func isShutdown(_ step: SmokeStep) -> Bool {
        if case .shutdown = step.action { return true }
        return false
    }

    private func telemetry() -> TelemetryMonitor? {
        if let monitor { return monitor }
        guard let port = hostPort(.admin, target.telemetryPort) else { return nil }
        let created = TelemetryMonitor(host: "127.0.0.1", port: port, interval: 0.2)
        monitor = created
        return created
    }

    static func seconds(_ value: Double) -> String { value == value.rounded() ? "\(Int(value)) s" : String(format: "%.1f s", value) }
}
