import Foundation
import KernelCore
import SkerryKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The host's telemetry endpoint runs the kernel's `TelemetryServer`: the
/// protocol sniffing, the per-source share and the busy refusal seen here
/// are the appliance's own.
@Suite(.serialized) struct SyntheticTelemetryServerTests {
    /// Sends `request` on a fresh loopback connection and reads until the peer closes or `timeout`.
    static func exchange(port: UInt16, _ request: String, timeout: TimeInterval = 5) -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return "" }
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) >= 0 else { break }
            if poller.revents == 0 { continue }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received += chunk[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }

    @Test func httpIsSniffedAndAnsweredWithTheAppliancesMetrics() throws {
        let server = try SyntheticTelemetryServer()
        defer { server.stop() }
        let reply = Self.exchange(port: server.port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(reply.hasPrefix("HTTP/1.1 200"), "\(reply.prefix(200))")
        #expect(reply.contains("skerry_telemetry_events_total{event=\"clients-accepted\"} 1"), "the core server counted this client")
        #expect(reply.contains("skerry_backend_admin_state{"), "the synthetic appliance's balancer is reported")
        let missing = Self.exchange(port: server.port, "GET /nothing HTTP/1.1\r\n\r\n")
        #expect(missing.hasPrefix("HTTP/1.1 404"), "\(missing.prefix(200))")
    }

    @Test func oneSourceGetsItsShareThenIsRefusedAsBusy() throws {
        let server = try SyntheticTelemetryServer()
        defer { server.stop() }
        // Every loopback client shares the relay's address, as clients behind QEMU's user-mode networking do.
        var held: [TelemetryConnection] = []
        for _ in 0..<TelemetryServer.perSourceClients {
            let connection = try TelemetryConnection(host: "127.0.0.1", port: server.port, timeout: 5)
            try connection.subscribe(interval: 1)
            held.append(connection)
        }
        var refusal: TelemetryStreamError?
        do {
            let extra = try TelemetryConnection(host: "127.0.0.1", port: server.port, timeout: 5)
            try extra.subscribe(interval: 1)
            for _ in 0..<3 { _ = try extra.receive(timeout: 3) }
        } catch {
            refusal = error
        }
        guard case .refused(let code, _) = refusal else {
            Issue.record("the ninth client from one source is refused, not \(String(describing: refusal))")
            return
        }
        #expect(code == Int(TelemetryProtocol.ErrorCode.busy.rawValue))
        held.removeAll()
    }
}
