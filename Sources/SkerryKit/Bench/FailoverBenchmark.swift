import Foundation

/// `skerry bench failover`: one client sends GETs through the web sample
/// (a new connection each) while web2 fails and returns, and the figures
/// are what a user sees: requests sent and failed, and how long web2 took
/// to leave the rotation (its DOWN line) and to return (its UP line).
public enum FailoverBenchmark {
    /// How web2 fails.
    public enum Fault: String, CaseIterable, Sendable {
        /// Its listener closes: connections to its port are refused.
        case kill
        /// Its port keeps accepting, its answers are 503 (under an HTTP check).
        case badStatus = "503"

        /// The appliance file's change for this fault: the sample's health check
        /// for `kill`, an HTTP check for `503`.
        func healthCheck(_ line: Substring) -> String {
            switch self {
            case .kill: return String(line)
            case .badStatus: return line.replacingOccurrences(of: "health-check ", with: "health-check http GET / expect 200 ")
            }
        }
    }

    /// The figures of one run.
    public struct Result: Sendable {
        public var sent = 0
        public var failed = 0
        /// Seconds from the fault to web2's DOWN line.
        public var leftAfter: Double?
        /// Seconds from web2's repair to its UP line.
        public var returnedAfter: Double?
    }

    /// Samples/web's appliance file with `retries` set on its service and the fault's health check.
    public static func appliance(sample: URL, retries: Int, fault: Fault, into directory: URL) throws {
        let text = try String(contentsOf: sample.appendingPathComponent("appliance.conf"), encoding: .utf8)
        var lines: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.trimmingCharacters(in: .whitespaces).hasPrefix("health-check ") {
                lines.append(fault.healthCheck(line))
                lines.append("    retries \(retries)")
            } else {
                lines.append(String(line))
            }
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try lines.joined(separator: "\n").write(to: directory.appendingPathComponent("appliance.conf"), atomically: true, encoding: .utf8)
        let rules = directory.appendingPathComponent("firewall.rules")
        try? FileManager.default.removeItem(at: rules)
        try FileManager.default.copyItem(at: sample.appendingPathComponent("firewall.rules"), to: rules)
    }

    /// The console lines a boot printed, in order, for `waitFor`.
    public final class ConsoleWatch: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []

        public init() {}

        public func append(_ line: String) { lock.withLock { lines.append(line) } }

        /// Waits until `count` lines contain `text`; the seconds it waited, or nil after `timeout`.
        public func waitFor(_ text: String, count: Int = 1, timeout: Double) -> Double? {
            let start = Date()
            while Date().timeIntervalSince(start) < timeout {
                if lock.withLock({ lines.filter { $0.contains(text) }.count }) >= count { return Date().timeIntervalSince(start) }
                usleep(10_000)
            }
            return nil
        }
    }

    /// Runs the fault against a booted appliance whose service is on the host's `port` and whose
    /// backends are `backends` (web1-web3, in-process): `lead` seconds of load, the fault, web2's DOWN
    /// line (or `limit` seconds), a second, the repair, web2's UP line, then `tail` seconds of load.
    /// Returns the backends as they are afterwards (a killed one is replaced).
    public static func measure(port: UInt16, backends: inout [SampleBackend], fault: Fault, console: ConsoleWatch,
                               lead: Double = 3, tail: Double = 2, limit: Double = 20) -> Result {
        let load = Load()
        Thread.detachNewThread {
            while load.running {
                load.count(ok: HTTPProbe.exchange(port: port, path: "/", timeout: 5)?.status == 200)
            }
            load.done.signal()
        }
        Thread.sleep(forTimeInterval: lead)
        let web2 = backends[1]
        switch fault {
        case .kill: web2.stop()
        case .badStatus: web2.status = 503
        }
        let left = console.waitFor("web/web2 is DOWN", timeout: limit)
        Thread.sleep(forTimeInterval: 1)
        let repaired = Date()
        switch fault {
        case .kill:
            while Date().timeIntervalSince(repaired) < 5 {
                if let again = try? SampleBackend(name: web2.name, port: web2.port, log: { _ in }) {
                    backends[1] = again
                    break
                }
                usleep(50_000)
            }
        case .badStatus: web2.status = 200
        }
        // The first UP line was at boot; the second is the return.
        let returned = console.waitFor("web/web2 is UP", count: 2, timeout: limit).map { _ in Date().timeIntervalSince(repaired) }
        Thread.sleep(forTimeInterval: tail)
        load.stop()
        load.done.wait()
        var figures = load.figures
        figures.leftAfter = left
        figures.returnedAfter = returned
        return figures
    }

    /// The client's loop: running until stopped, and its counts.
    private final class Load: @unchecked Sendable {
        private let lock = NSLock()
        private var active = true
        private var result = Result()
        let done = DispatchSemaphore(value: 0)

        var running: Bool { lock.withLock { active } }
        var figures: Result { lock.withLock { result } }
        func stop() { lock.withLock { active = false } }

        func count(ok: Bool) {
            lock.withLock {
                result.sent += 1
                if !ok { result.failed += 1 }
            }
        }
    }
}
