import Foundation
import KernelCore
import SkerryKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The kernel's `TelemetryStream` served over a real loopback socket, so the
/// host's connection and monitor run against the appliance's own code.
final class LoopbackTelemetryServer: @unchecked Sendable {
    let appliance = SyntheticAppliance(services: 1, backends: 3, rules: 5, seed: 21)
    let listener: Int32
    let port: UInt16
    private let stopped = NSLock()
    private var stopping = false
    private var thread: Thread?

    init(port: UInt16 = 0) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 4) == 0 else { throw TelemetryStreamError.connection("bind: \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(listener, $0, &length) }
        }
        self.port = UInt16(bigEndian: address.sin_port)
        let appliance = self.appliance
        let actions = AdminActions(token: Array("loopback-admin-token".utf8), balancer: appliance.balancer)
        let stream = TelemetryStream(applianceName: "loopback", actions: actions) { appliance.source() }
        nonisolated(unsafe) let owned = stream  // handed to the server thread, which alone uses it
        let thread = Thread { [self] in serve(owned) }
        self.thread = thread
        thread.start()
    }

    private var isStopping: Bool { stopped.withLock { stopping } }

    private func serve(_ stream: TelemetryStream) {
        var clients: [(Int32, TelemetrySession)] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !isStopping {
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, 20) == 1 {
                let fd = accept(listener, nil, nil)
                if fd >= 0 { clients.append((fd, stream.open(peer: IPv4Address(127, 0, 0, 1), now: now()))) }
            }
            for (fd, session) in clients {
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if count > 0 { buffer.withUnsafeBytes { stream.receive(UnsafeRawBufferPointer(rebasing: $0[0..<count]), from: session, now: now()) } }
            }
            stream.tick(now: now())
            for (fd, session) in clients {
                session.send({ bytes in max(0, send(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))) }, now: now())
            }
        }
        for (fd, session) in clients {
            stream.close(session)
            close(fd)
        }
        close(listener)
    }

    private func now() -> Instant { Instant(nanoseconds: DispatchTime.now().uptimeNanoseconds) }

    func stop() {
        stopped.withLock { stopping = true }
        while thread?.isFinished == false { usleep(5_000) }
    }
}

@Suite(.serialized) struct TelemetryMonitorTests {
    @Test func theMonitorFollowsTheStreamAndReconnectsAfterALoss() throws {
        var server = try LoopbackTelemetryServer()
        let port = server.port
        let monitor = TelemetryMonitor(host: "127.0.0.1", port: port, interval: 0.1)
        let deadline = Date().addingTimeInterval(10)
        while monitor.model.snapshot == nil && Date() < deadline { monitor.step(timeout: 0.2) }
        #expect(monitor.isConnected && monitor.model.hello?.appliance == "loopback")
        #expect(monitor.model.schema?.services.first?.backends.count == 3)
        let admin = try monitor.admin(token: "loopback-admin-token", action: .drain, service: "s0", backend: "b00")
        #expect(admin.code == .ok && admin.message == "s0/b00 is DRAIN")
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
        server = try LoopbackTelemetryServer(port: port)
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
}
