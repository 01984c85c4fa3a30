import Foundation
import KernelCore
#if canImport(Glibc)
import Glibc
#endif

/// A synthetic appliance's telemetry port, served over a real loopback
/// socket by the kernel's own `TelemetryServer`: the host's telemetry
/// client, `skerry top` and their tests and benchmarks meet the same
/// sniffing, limits and deadlines as on the appliance. With `busy`, the
/// appliance takes traffic every second.
///
/// The server runs on a core network stack joined by a memory link to a
/// second core stack; each loopback connection is relayed through a TCP
/// connection of that second stack, so every host client shares one source
/// address, as clients behind QEMU's user-mode networking do.
public final class SyntheticTelemetryServer: @unchecked Sendable {
    public let appliance: SyntheticAppliance
    let listener: Int32
    public let port: UInt16
    private let busy: Bool
    private let token: [UInt8]
    private let stopped = NSLock()
    private var stopping = false
    private var thread: Thread?

    static let telemetryPort: UInt16 = 9100
    static let serverAddress = IPv4Address(10, 0, 1, 15)
    static let relayAddress = IPv4Address(10, 0, 1, 2)

    public init(port: UInt16 = 0, services: Int = 1, backends: Int = 3, rules: Int = 5, busy: Bool = false,
                token: String = "loopback-admin-token") throws {
        appliance = SyntheticAppliance(services: services, backends: backends, rules: rules, seed: 21)
        self.busy = busy
        self.token = Array(token.utf8)
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
        guard bound == 0, listen(listener, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(listener)
            throw TelemetryStreamError.connection("cannot listen on 127.0.0.1:\(port): \(reason)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(listener, $0, &length) }
        }
        self.port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in serve() }
        self.thread = thread
        thread.start()
    }

    private var isStopping: Bool { stopped.withLock { stopping } }

    /// Everything below belongs to the server thread alone.
    private func serve() {
        let server = MemoryLinkHost(address: Self.serverAddress, mac: MACAddress(value: 0x5254_0012_3456), buffers: 256)
        let relay = MemoryLinkHost(address: Self.relayAddress, mac: MACAddress(value: 0x5255_0A00_0002), buffers: 256)
        MemoryLinkDevice.connect(server.device, relay.device)
        let appliance = self.appliance
        let actions = AdminActions(token: token, balancer: appliance.balancer)
        var telemetry: TelemetryServer?
        let source = {
            var source = appliance.source()
            source.telemetry = telemetry?.counters
            return source
        }
        let stream = TelemetryStream(applianceName: "loopback", actions: actions) { source() }
        let http = MetricsHTTP { ApplianceMetrics.write(source()).bytes }
        guard let tcpListener = server.stack.tcp.listen(port: Self.telemetryPort, addresses: [Self.serverAddress], backlog: 64) else {
            close(listener)
            return
        }
        telemetry = TelemetryServer(listener: tcpListener, stream: stream, http: http) { Self.now() }
        guard let telemetry else { return }

        var connections: [RelayedConnection] = []
        var exercised = Date()
        var nextTick = Self.now()
        while !isStopping {
            if busy && Date().timeIntervalSince(exercised) >= 1 {
                exercised = Date()
                appliance.exercise(milliseconds: 1000, connections: 300, packets: 20_000)
            }
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            fds += connections.map { pollfd(fd: $0.socket, events: Int16($0.wantsInput ? POLLIN : 0), revents: 0) }
            let busyLink = server.device.hasPendingFrames || relay.device.hasPendingFrames
            _ = poll(&fds, nfds_t(fds.count), busyLink ? 0 : 5)
            let now = Self.now()
            if fds[0].revents & Int16(POLLIN) != 0 {
                let fd = accept(listener, nil, nil)
                if fd >= 0 {
                    if let connection = relay.stack.tcp.connect(from: Self.relayAddress, to: Self.serverAddress, port: Self.telemetryPort, now: now) {
                        connections.append(RelayedConnection(socket: fd, connection: connection))
                    } else {
                        close(fd)
                    }
                }
            }
            for connection in connections { connection.fromSocket() }
            for _ in 0..<8 {
                let served = server.stack.poll(now: now)
                let relayed = relay.stack.poll(now: now)
                let moved = served || relayed
                if !moved && !server.device.hasPendingFrames && !relay.device.hasPendingFrames { break }
            }
            server.stack.tick(now: now)
            relay.stack.tick(now: now)
            if now >= nextTick {
                telemetry.tick(now: now)
                nextTick = now + .milliseconds(100)
            }
            for connection in connections { connection.toSocket() }
            connections.removeAll { connection in
                guard connection.isDone else { return false }
                connection.finish()
                return true
            }
        }
        for connection in connections { connection.finish() }
        telemetry.stop()
        close(listener)
    }

    private static func now() -> Instant { Instant(nanoseconds: DispatchTime.now().uptimeNanoseconds) }

    public func stop() {
        stopped.withLock { stopping = true }
        while thread?.isFinished == false { usleep(5_000) }
    }
}

/// A loopback socket joined to a core TCP connection: bytes move each way
/// as the other side takes them, so a client that stops reading backs up
/// into the core connection, where the server's output bound sees it.
private final class RelayedConnection {
    let socket: Int32
    let connection: TCPConnection
    private var toClient: [UInt8] = []
    private var socketEnded = false
    private var socketFailed = false
    private var endSent = false
    private var buffer = [UInt8](repeating: 0, count: 16 * 1024)

    init(socket: Int32, connection: TCPConnection) {
        self.socket = socket
        self.connection = connection
        connection.onEvent = { _ in }
    }

    /// Whether to read the socket: only while the core connection has room.
    var wantsInput: Bool { !socketEnded && !socketFailed && connection.writableSpace > 0 }

    /// Moves what the client sent into the core connection.
    func fromSocket() {
        guard wantsInput else { return }
        let want = min(buffer.count, connection.writableSpace)
        let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, want, Int32(MSG_DONTWAIT)) }
        if count > 0 {
            _ = buffer.withUnsafeBytes { connection.write(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        } else if count == 0 {
            socketEnded = true
            connection.close()
        } else if errno != EAGAIN && errno != EWOULDBLOCK {
            socketFailed = true
            connection.abort()
        }
    }

    /// Moves what the server sent to the client, as far as the socket takes it.
    func toSocket() {
        while toClient.count < buffer.count {
            let want = buffer.count - toClient.count
            let count = buffer.withUnsafeMutableBytes { connection.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<want])) }
            if count == 0 { break }
            toClient += buffer[0..<count]
        }
        if toClient.isEmpty && connection.atEndOfStream && !endSent && !socketFailed {
            // The server closed: pass the end of stream on, and close our side.
            endSent = true
            shutdown(socket, Int32(SHUT_WR))
            connection.close()
        }
        guard !toClient.isEmpty, !socketFailed else { return }
        let sent = toClient.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
        if sent > 0 {
            toClient.removeFirst(sent)
        } else if sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK {
            socketFailed = true
            connection.abort()
        }
    }

    /// Done once the core connection has ended and the client has all it sent, or the socket failed.
    var isDone: Bool { socketFailed || (connection.isFinished && connection.readableBytes == 0 && toClient.isEmpty) }

    func finish() {
        connection.onEvent = nil
        if !connection.isFinished { connection.abort() }
        close(socket)
    }
}
