import Foundation
import SkerryKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A booted appliance whose console lines a test thread can wait for, and
/// whose serial shell it can type into.
final class ConsoleWatch: @unchecked Sendable {
    private let lock = NSCondition()
    private var lines: [String] = []
    var input: Int32 = -1

    func append(_ line: String) {
        lock.lock()
        lines.append(line)
        lock.broadcast()
        lock.unlock()
    }

    /// Types `command` and returns the first line after it that starts with `prefix`.
    func ask(_ command: String, expecting prefix: String, timeout: Double = 20) -> String? {
        lock.lock()
        let start = lines.count
        lock.unlock()
        _ = (command + "\n").withCString { write(input, $0, strlen($0)) }
        let deadline = Date().addingTimeInterval(timeout)
        lock.lock()
        defer { lock.unlock() }
        while true {
            if let line = lines[start...].first(where: { $0.hasPrefix(prefix) }) { return line }
            if !lock.wait(until: deadline) { return nil }
        }
    }

    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return lines
    }
}

/// The heap figure in bytes from a `heap: used 7.1 MiB, ...` line.
func heapUsed(_ line: String?) -> Double? {
    guard let line, let range = line.range(of: "heap: used ") else { return nil }
    let words = line[range.upperBound...].split(separator: " ")
    guard words.count >= 2, let value = Double(words[0]) else { return nil }
    let unit = words[1].trimmingCharacters(in: CharacterSet(charactersIn: ","))
    let scale: Double = ["B": 1, "KiB": 1024, "MiB": 1024 * 1024, "GiB": 1024 * 1024 * 1024][unit] ?? .nan
    return value * scale
}

/// One `GET /metrics` over a fresh connection; returns the status line.
func scrapeMetrics(port: UInt16) -> String? {
    guard let fd = try? TCPTestClient.connect(port: port, timeout: 10) else { return nil }
    defer { close(fd) }
    let request = Array("GET /metrics HTTP/1.1\r\nHost: skerry\r\nConnection: close\r\n\r\n".utf8)
    _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = recv(fd, &buffer, buffer.count, 0)
        if count <= 0 { break }
        response += buffer[0..<count]
    }
    return String(decoding: response.prefix { $0 != 0x0D }, as: UTF8.self)
}

/// One short echo exchange over a fresh connection.
func echoOnce(port: UInt16, _ text: String) -> Bool {
    guard let fd = try? TCPTestClient.connect(port: port, timeout: 10) else { return false }
    defer { close(fd) }
    let message = Array(text.utf8)
    _ = message.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 256)
    while received.count < message.count {
        let count = recv(fd, &buffer, buffer.count, 0)
        if count <= 0 { break }
        received += buffer[0..<count]
    }
    return received == message
}

/// What an attacker on the admin network, or plain monitoring, does to a
/// booted appliance in user-mode networking.
@Suite(.serialized) struct HardeningIntegrationTests {
    /// Boots the standalone image with the telemetry port forwarded and runs
    /// `body` with the forwarded ports and the console once the admin path is up.
    func withWatchedAppliance(timeout: Double = 600, _ body: @escaping @Sendable ([UInt16: UInt16], ConsoleWatch) -> Void)
        -> SkerryCLI.Run
    {
        let watch = ConsoleWatch()
        var ports: [UInt16: UInt16] = [:]
        var started = false
        return SkerryCLI.boot(["--forward", "admin:tcp:9100", "--input", "--timeout", String(Int(timeout))],
                              keepInputOpen: true, timeout: timeout + 30) { line, child in
            guard let event = SkerryCLI.event(line) else { return }
            if event["event"] as? String == "forward", event["transport"] as? String == "tcp",
                let guest = event["guestPort"] as? Int, let host = event["hostPort"] as? Int
            {
                ports[UInt16(guest)] = UInt16(host)
            }
            if event["event"] as? String == "console", let text = event["line"] as? String { watch.append(text) }
            guard !started, (event["line"] as? String)?.hasPrefix("arp: admin gateway") == true else { return }
            started = true
            watch.input = child.standardInput
            let forwarded = ports
            Thread.detachNewThread {
                body(forwarded, watch)
                _ = "shutdown\n".withCString { write(watch.input, $0, strlen($0)) }
            }
        }
    }

    /// Finding: every admin-plane connection leaked its buffers (about 32 KiB
    /// an echo connection, 48 KiB a scrape) until the heap ran out.
    @Test func thousandsOfAdminConnectionsLeaveTheHeapWhereItWas() {
        let outcome = Box((baseline: nil as Double?, after: nil as Double?, echoed: 0, scraped: 0, lines: [String]()))
        let run = withWatchedAppliance { ports, watch in
            guard let echo = ports[7], let telemetry = ports[9100] else { return }
            // Warm up: the stack's tables reach their working size.
            for index in 0..<100 { _ = echoOnce(port: echo, "warm-up \(index)") }
            for _ in 0..<50 { _ = scrapeMetrics(port: telemetry) }
            sleep(2)
            outcome.value.baseline = heapUsed(watch.ask("heap", expecting: "heap: used"))
            for index in 0..<3000 where echoOnce(port: echo, "connection \(index)") { outcome.value.echoed += 1 }
            for _ in 0..<1000 where scrapeMetrics(port: telemetry)?.hasPrefix("HTTP/1.1 200") == true {
                outcome.value.scraped += 1
            }
            sleep(2)
            outcome.value.after = heapUsed(watch.ask("heap", expecting: "heap: used"))
            outcome.value.lines = [watch.ask("tcp", expecting: "tcp:") ?? "", watch.ask("netstat", expecting: "stack:") ?? ""]
        }
        #expect(run.code == 0, "\(run.stderr.suffix(800))")
        #expect(!run.consoleLines.contains { $0.contains("PANIC") })
        #expect(outcome.value.echoed == 3000 && outcome.value.scraped == 1000, "\(outcome.value)")
        let baseline = outcome.value.baseline ?? .nan
        let after = outcome.value.after ?? .nan
        #expect(after - baseline < 256 * 1024, "heap went from \(baseline) to \(after) bytes: \(outcome.value.lines)")
    }
}
