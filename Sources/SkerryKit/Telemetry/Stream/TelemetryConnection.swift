import Foundation
#if canImport(KernelCore)
import KernelCore
#endif
#if canImport(Glibc)
import Glibc
#endif

/// One telemetry stream connection to an appliance: connect, hello,
/// then subscribe and read messages, or send admin requests. Blocking,
/// with a deadline on every wait.
public final class TelemetryConnection {
    public let host: String
    public let port: UInt16
    public private(set) var hello: Telemetry.Hello
    private var socket: Int32
    private var decoder = TelemetryDecoder()
    private var nextRequest: UInt64 = 1

    /// Connects and exchanges hellos.
    public init(host: String, port: UInt16, timeout: TimeInterval = 5) throws(TelemetryStreamError) {
        self.host = host
        self.port = port
        socket = try Self.open(host: host, port: port, timeout: timeout)
        hello = Telemetry.Hello(version: 0, appliance: "", uptimeMilliseconds: 0, adminEnabled: false)
        do throws(TelemetryStreamError) {
            try write(TelemetryDecoder.clientHello)
            guard case .hello(let hello) = try receive(timeout: timeout) else { throw TelemetryStreamError.notTelemetry }
            self.hello = hello
        } catch {
            Glibc.close(socket)
            throw error
        }
    }

    deinit { Glibc.close(socket) }

    /// The schema the stream's snapshots follow, once received.
    public var schema: Telemetry.Schema? { decoder.schema }

    public func subscribe(interval: TimeInterval, events: Bool = true) throws(TelemetryStreamError) {
        try write(TelemetryDecoder.subscribeRequest(intervalMilliseconds: UInt64(max(0, interval * 1000)), events: events))
    }

    /// Sends an admin request and waits for its result; snapshots and events
    /// that arrive meanwhile go to `other`.
    public func admin(token: String, action: Telemetry.AdminAction, service: String = "", backend: String = "",
                      weight: UInt64 = 0, timeout: TimeInterval = 5,
                      other: (Telemetry.Message) -> Void = { _ in }) throws(TelemetryStreamError) -> Telemetry.AdminResult {
        let id = nextRequest
        nextRequest += 1
        try write(TelemetryDecoder.adminRequest(id: id, token: token, action: action, service: service, backend: backend, weight: weight))
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let message = try receive(timeout: deadline.timeIntervalSinceNow)
            if case .result(let result) = message, result.request == id { return result }
            other(message)
        }
    }

    /// The next message; throws on a closed, broken or silent connection.
    public func receive(timeout: TimeInterval) throws(TelemetryStreamError) -> Telemetry.Message {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if let message = try decoder.next() { return message }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else {
                // Through a QEMU forward every port accepts, so silence is all a wrong port or a booting appliance shows.
                if hello.version == 0 {
                    throw .connection("no hello from \(host):\(port) within \(Self.format(timeout)): not a telemetry port, or the appliance is not up yet")
                }
                throw .connection("no data from \(host):\(port) for \(Self.format(timeout))")
            }
            var poller = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(remaining * 1000, 60_000)) + 1)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            guard count > 0 else {
                if count < 0 && errno == ECONNRESET && hello.version == 0 {
                    // The appliance answers a client it has no slot for with `busy`, or resets it when even that is not possible.
                    throw .refused(code: Int(TelemetryProtocol.ErrorCode.busy.rawValue), message: "reset before its hello")
                }
                throw .connection(count == 0 ? "\(host):\(port) closed the stream" : "reading \(host):\(port): \(String(cString: strerror(errno)))")
            }
            decoder.append(buffer[0..<count])
        }
    }

    private func write(_ bytes: [UInt8]) throws(TelemetryStreamError) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0 && errno == EINTR { continue }
            guard sent > 0 else { throw .connection("writing \(host):\(port): \(String(cString: strerror(errno)))") }
            offset += sent
        }
    }

    private static func format(_ seconds: TimeInterval) -> String { String(format: "%.1f s", seconds) }

    private static func open(host: String, port: UInt16, timeout: TimeInterval) throws(TelemetryStreamError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &found) == 0, let address = found else {
            throw .connection("cannot resolve \(host)")
        }
        defer { freeaddrinfo(found) }
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw .connection("socket: \(String(cString: strerror(errno)))") }
        // Connect without blocking, then wait at most `timeout`.
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        var result = Glibc.connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen)
        if result != 0 && errno == EINPROGRESS {
            var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            if poll(&poller, 1, Int32(timeout * 1000)) == 1 {
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                errno = error
                result = error == 0 ? 0 : -1
            } else {
                errno = ETIMEDOUT
            }
        }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw .connection("cannot connect to \(host):\(port): \(reason)")
        }
        _ = fcntl(fd, F_SETFL, flags)
        return fd
    }
}
