import Foundation
import KernelCore
#if canImport(Glibc)
import Glibc
#endif

/// The kernel's `TelemetryStream` for a synthetic appliance, served over a
/// real loopback socket: the host's telemetry client, `skerry top` and
/// their tests and benchmarks run against the appliance's own code. With
/// `busy`, the appliance takes traffic every second.
public final class SyntheticTelemetryServer: @unchecked Sendable {
    public let appliance: SyntheticAppliance
    let listener: Int32
    public let port: UInt16
    private let busy: Bool
    private let stopped = NSLock()
    private var stopping = false
    private var thread: Thread?

    public init(port: UInt16 = 0, services: Int = 1, backends: Int = 3, rules: Int = 5, busy: Bool = false,
                token: String = "loopback-admin-token") throws {
        appliance = SyntheticAppliance(services: services, backends: backends, rules: rules, seed: 21)
        self.busy = busy
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
        guard bound == 0, listen(listener, 4) == 0 else { throw TelemetryStreamError.connection("cannot listen on 127.0.0.1:\(port): \(String(cString: strerror(errno)))") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(listener, $0, &length) }
        }
        self.port = UInt16(bigEndian: address.sin_port)
        let appliance = self.appliance
        let actions = AdminActions(token: Array(token.utf8), balancer: appliance.balancer)
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
        var exercised = Date()
        while !isStopping {
            if busy && Date().timeIntervalSince(exercised) >= 1 {
                exercised = Date()
                appliance.exercise(milliseconds: 1000, connections: 300, packets: 20_000)
            }
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

    public func stop() {
        stopped.withLock { stopping = true }
        while thread?.isFinished == false { usleep(5_000) }
    }
}

