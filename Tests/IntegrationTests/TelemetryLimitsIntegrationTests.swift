import Foundation
import KernelCore
import SkerryKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

final class TelemetryLimitsScenario: @unchecked Sendable {
    var heapBefore: UInt64?
    var heapAfter: UInt64?
    var refusedStream: String?
    var refusedHTTP: Int?
    var hostileReset = false
    var hostileSent = 0
    var metrics: String?
    var failure: String?
}

/// The telemetry port's limits on the real kernel, from the host through
/// QEMU user-mode networking, where every client is 10.0.1.2.
@Suite(.serialized) struct TelemetryLimitsIntegrationTests {
    static let sample = SkerryCLI.packageRoot.appendingPathComponent("Samples/web").path

    @Test func theHostsShareIsRefusedClearlyAndANonReadingGuesserIsResetWithItsMemory() throws {
        let scenario = TelemetryLimitsScenario()
        var port: UInt16?
        var started = false
        let run = SkerryCLI.run(
            ["boot", Self.sample, "--accel", "tcg", "--json", "--forward", "admin:tcp:9100", "--input", "--timeout", "150"],
            keepInputOpen: true, timeout: 180
        ) { line, child in
            guard let event = SkerryCLI.event(line) else { return }
            if event["event"] as? String == "forward", event["role"] as? String == "admin", let host = event["hostPort"] as? Int {
                port = UInt16(host)
            }
            guard !started, (event["line"] as? String) == "skerry: ready", let port else { return }
            started = true
            let input = child.standardInput
            Thread.detachNewThread {
                defer { _ = "shutdown\n".withCString { write(input, $0, strlen($0)) } }
                Self.exercise(scenario, port: port)
            }
        }
        #expect(run.code == 0, "\(run.stderr.suffix(800))")
        #expect(started)
        #expect(scenario.failure == nil, "\(scenario.failure ?? "")")
        #expect(scenario.refusedStream?.contains("all telemetry slots are taken") == true, "\(scenario.refusedStream ?? "connected")")
        #expect(scenario.refusedHTTP == 503)
        #expect(scenario.hostileReset, "the non-reading client was reset after \(scenario.hostileSent) bytes")
        let before = try #require(scenario.heapBefore)
        let after = try #require(scenario.heapAfter)
        #expect(after <= before + 256 * 1024, "heap \(before) -> \(after)")
        let metrics = scenario.metrics ?? ""
        #expect(Self.sample(metrics, "skerry_telemetry_events_total{event=\"stalls\"}").map { $0 >= 1 } == true, "\(metrics.suffix(900))")
        #expect(Self.sample(metrics, "skerry_telemetry_events_total{event=\"admin-rate-limited\"}").map { $0 > 0 } == true)
        #expect(Self.sample(metrics, "skerry_telemetry_events_total{event=\"clients-refused\"}").map { $0 >= 2 } == true)
        #expect(run.consoleLines.contains { $0.hasPrefix("admin: unauthorized admin action from 10.0.1.2 (") }, "\(run.consoleLines.suffix(10))")
    }

    static func sample(_ metrics: String, _ name: String) -> UInt64? {
        metrics.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { UInt64($0.split(separator: " ").last ?? "") }
    }

    static func heap(_ port: UInt16) -> UInt64? {
        HTTPProbe.exchange(port: port, path: "/metrics").flatMap { sample($0.body, "skerry_heap_bytes{kind=\"used\"}") }
    }

    static func exercise(_ scenario: TelemetryLimitsScenario, port: UInt16) {
        do {
            scenario.heapBefore = heap(port)
            // The host's share: 8 subscribers; a 9th client is refused in its protocol.
            var holders: [TelemetryConnection] = []
            for _ in 0..<TelemetryServer.perSourceClients {
                // The heap probe's slot is freed once its close completes, which takes
                // longer under a slow guest clock: a refused holder tries again, as a client should.
                var attempt = 0
                while true {
                    do {
                        let holder = try TelemetryConnection(host: "127.0.0.1", port: port)
                        try holder.subscribe(interval: 5, events: false)
                        holders.append(holder)
                        break
                    } catch {
                        attempt += 1
                        guard attempt < 20, error.description.contains("all telemetry slots are taken") else { throw error }
                        Thread.sleep(forTimeInterval: 0.5)
                    }
                }
            }
            do {
                _ = try TelemetryConnection(host: "127.0.0.1", port: port, timeout: 5)
            } catch {
                scenario.refusedStream = error.description
            }
            scenario.refusedHTTP = HTTPProbe.exchange(port: port, path: "/metrics", timeout: 5)?.status
            holders.removeAll()
            Thread.sleep(forTimeInterval: 1)
            scenario.hostileSent = try hostile(port: port, reset: &scenario.hostileReset)
            Thread.sleep(forTimeInterval: 2)
            scenario.heapAfter = heap(port)
            scenario.metrics = HTTPProbe.exchange(port: port, path: "/metrics")?.body
        } catch {
            scenario.failure = "\(error)"
        }
    }

    /// A client that sends wrong-token admin frames and never reads; returns
    /// how much it got to send before the appliance reset it (or 60 s passed).
    static func hostile(port: UInt16, reset: inout Bool) throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var small: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw TelemetryStreamError.connection("connect: \(String(cString: strerror(errno)))") }
        let frames = TelemetryDecoder.clientHello + (0..<500).flatMap {
            TelemetryDecoder.adminRequest(id: UInt64($0), token: "wrong-token-\($0)", action: .drain, service: "web", backend: "web1")
        }
        var sent = 0
        var offset = 0
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && sent < 30_000_000 {
            let count = frames[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
            if count > 0 {
                sent += count
                offset = (offset + count) % frames.count
                if offset == 0 { offset = TelemetryDecoder.clientHello.count }
                continue
            }
            if errno == EAGAIN || errno == EWOULDBLOCK {
                // Is it still there? A reset shows as an error or an end on the socket.
                var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&poller, 1, 50)
                if poller.revents & Int16(POLLERR | POLLHUP) != 0 {
                    reset = true
                    break
                }
                continue
            }
            reset = errno == ECONNRESET || errno == EPIPE
            break
        }
        return sent
    }
}
