import Foundation
import KernelCore
import SkerryKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct TelemetryMonitorTests {
    @Test func theMonitorFollowsTheStreamAndReconnectsAfterALoss() throws {
        var server = try SyntheticTelemetryServer()
        let port = server.port
        let monitor = TelemetryMonitor(host: "127.0.0.1", port: port, interval: 0.1)
        let deadline = Date().addingTimeInterval(10)
        while monitor.model.snapshot == nil && Date() < deadline { monitor.step(timeout: 0.2) }
        #expect(monitor.isConnected && monitor.model.hello?.appliance == "loopback")
        #expect(monitor.model.schema?.services.first?.backends.count == 3)
        let admin = try monitor.admin(token: "loopback-admin-token", action: .drain, service: "s0", backend: "b00")
        #expect(admin.code == .ok && admin.message == "s0/b00 is draining")
        let refused = try monitor.admin(token: "wrong", action: .enable, service: "s0", backend: "b00")
        #expect(refused.code == .unauthorized)

        // The appliance goes away: the monitor says why, backs off, and the data ages.
        server.stop()
        let lost = Date().addingTimeInterval(10)
        while monitor.isConnected && Date() < lost { monitor.step(timeout: 0.2) }
        #expect(!monitor.isConnected)
        #expect(monitor.lastError != nil, "the loss has a reason")
        monitor.step(timeout: 0.2)
        #expect(monitor.retryAt != nil)
        let age = try #require(monitor.model.age())
        #expect(age > 0)

        // It comes back on the same port: the monitor reconnects by itself.
        server = try SyntheticTelemetryServer(port: port)
        defer { server.stop() }
        let back = Date().addingTimeInterval(15)
        while !(monitor.isConnected && (monitor.model.age() ?? 99) < 0.5) && Date() < back { monitor.step(timeout: 0.2) }
        #expect(monitor.isConnected && monitor.reconnects == 1)
        #expect((monitor.model.age() ?? 99) < 0.5, "fresh data after the reconnect")
    }

    @Test func aPortThatIsNotTelemetryIsNamedAsSuch() throws {
        // An HTTP-speaking listener: the hello comes back as HTTP, not a frame.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        listen(listener, 1)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(listener, $0, &length) }
        }
        let port = UInt16(bigEndian: address.sin_port)
        let thread = Thread {
            let fd = accept(listener, nil, nil)
            let reply = "HTTP/1.1 400 Bad Request\r\n\r\n"
            _ = reply.withCString { send(fd, $0, strlen($0), 0) }
            usleep(200_000)
            close(fd)
        }
        thread.start()
        defer { close(listener) }
        #expect(throws: TelemetryStreamError.notTelemetry) { _ = try TelemetryConnection(host: "127.0.0.1", port: port, timeout: 3) }
        #expect(throws: TelemetryStreamError.self) { _ = try TelemetryConnection(host: "127.0.0.1", port: 1, timeout: 1) }
    }

    /// A listener on a free loopback port whose one connection gets `answer`.
    static func oneShotListener(_ answer: @escaping @Sendable (Int32) -> Void) -> (UInt16, Int32) {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        listen(listener, 1)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(listener, $0, &length) }
        }
        Thread {
            let fd = accept(listener, nil, nil)
            answer(fd)
            close(fd)
        }.start()
        return (UInt16(bigEndian: address.sin_port), listener)
    }

    @Test func aClientRefusedForWantOfSlotsSaysSo() throws {
        // The appliance's answer to a client it has no slot for: an error frame `busy`, then a close.
        var frame = TelemetryFrameWriter()
        TelemetryEncoder.error(&frame, .busy, "all telemetry slots are taken; try again later")
        let busy = frame.bytes
        let (port, listener) = Self.oneShotListener { fd in
            var hello = [UInt8](repeating: 0, count: 6)
            _ = recv(fd, &hello, 6, 0)
            _ = busy.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            usleep(100_000)
        }
        defer { close(listener) }
        do {
            _ = try TelemetryConnection(host: "127.0.0.1", port: port, timeout: 3)
            Issue.record("connected")
        } catch {
            #expect(error.description.hasPrefix("all telemetry slots are taken"), "\(error)")
        }
        // Reset outright (when even answering is not possible): the same words, not "connection reset".
        let (resetPort, resetListener) = Self.oneShotListener { fd in
            var hello = [UInt8](repeating: 0, count: 6)
            _ = recv(fd, &hello, 6, 0)
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        }
        defer { close(resetListener) }
        do {
            _ = try TelemetryConnection(host: "127.0.0.1", port: resetPort, timeout: 3)
            Issue.record("connected")
        } catch {
            #expect(error.description.contains("all telemetry slots are taken"), "\(error)")
        }
    }
}
