import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Host-side clients for the appliance's TCP test services (echo, discard,
/// chargen), used by the integration tests and `skerry bench tcp`.
public enum TCPTestClient {
    public struct Transfer: Sendable, CustomStringConvertible {
        public var bytesSent = 0
        public var bytesReceived = 0
        public var intact = false
        public var seconds = 0.0
        public var error: String?
        public init() {}
        public var description: String {
            "sent \(bytesSent), received \(bytesReceived), intact \(intact), \(String(format: "%.3f", seconds)) s\(error.map { ", \($0)" } ?? "")"
        }
    }

    /// Connects to 127.0.0.1:port (or `address`); returns the socket or throws a message.
    public static func connect(port: UInt16, address: String = "127.0.0.1", timeout: Double = 10) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClientError("socket: \(String(cString: strerror(errno)))") }
        var seconds = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &seconds, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &seconds, socklen_t(MemoryLayout<timeval>.size))
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = port.bigEndian
        inet_pton(AF_INET, address, &target.sin_addr)
        let result = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw ClientError("connect 127.0.0.1:\(port): \(message)")
        }
        return fd
    }

    public struct ClientError: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// Sends `payload` to an echo service while reading the echo back, then
    /// half-closes and reads to end of stream; `intact` when every byte matched.
    public static func echo(port: UInt16, payload: [UInt8], timeout: Double = 60) -> Transfer {
        var transfer = Transfer()
        let started = Date()
        let fd: Int32
        do { fd = try connect(port: port, timeout: timeout) } catch {
            transfer.error = "\(error)"
            return transfer
        }
        defer { close(fd) }
        let sent = SentCount()
        let writer = Thread {
            var offset = 0
            while offset < payload.count {
                let count = payload[offset...].withUnsafeBytes { send(fd, $0.baseAddress, min($0.count, 65536), Int32(MSG_NOSIGNAL)) }
                if count <= 0 { break }
                offset += count
            }
            sent.value = offset
            shutdown(fd, Int32(SHUT_WR))
            sent.done.signal()
        }
        writer.start()
        var received: [UInt8] = []
        received.reserveCapacity(payload.count)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 {
                if count < 0 { transfer.error = "recv: \(String(cString: strerror(errno)))" }
                break
            }
            received += buffer[0..<count]
        }
        sent.done.wait()
        transfer.bytesSent = sent.value
        transfer.bytesReceived = received.count
        transfer.intact = received == payload
        transfer.seconds = Date().timeIntervalSince(started)
        return transfer
    }

    /// Sends `count` bytes to a discard service and closes; `intact` when all were accepted.
    public static func discard(port: UInt16, count: Int, timeout: Double = 60) -> Transfer {
        timed(port: port, timeout: timeout) { fd, transfer in
            let chunk = [UInt8](repeating: 0x5A, count: 65536)
            while transfer.bytesSent < count {
                let sent = chunk.withUnsafeBytes { send(fd, $0.baseAddress, min($0.count, count - transfer.bytesSent), Int32(MSG_NOSIGNAL)) }
                if sent <= 0 { break }
                transfer.bytesSent += sent
            }
            shutdown(fd, Int32(SHUT_WR))
            // The service closes after reading everything: end of stream means it all arrived.
            var byte: UInt8 = 0
            let end = recv(fd, &byte, 1, 0)
            transfer.intact = transfer.bytesSent == count && end == 0
        }
    }

    /// Reads `count` bytes from a chargen service; `intact` when they follow its pattern.
    public static func chargen(port: UInt16, count: Int, timeout: Double = 60) -> Transfer {
        timed(port: port, timeout: timeout) { fd, transfer in
            let pattern: [UInt8] = Array(0x20...0x7E) + [0x0D, 0x0A]
            var buffer = [UInt8](repeating: 0, count: 65536)
            var intact = true
            while transfer.bytesReceived < count {
                let received = recv(fd, &buffer, buffer.count, 0)
                if received <= 0 { break }
                for index in 0..<received where buffer[index] != pattern[(transfer.bytesReceived + index) % pattern.count] {
                    intact = false
                }
                transfer.bytesReceived += received
            }
            transfer.intact = intact && transfer.bytesReceived >= count
        }
    }

    /// Connects, runs `body` with the socket, and times the whole exchange;
    /// a failed connect is reported in the transfer.
    private static func timed(port: UInt16, timeout: Double, _ body: (Int32, inout Transfer) -> Void) -> Transfer {
        var transfer = Transfer()
        let started = Date()
        do {
            let fd = try connect(port: port, timeout: timeout)
            body(fd, &transfer)
            close(fd)
        } catch {
            transfer.error = "\(error)"
        }
        transfer.seconds = Date().timeIntervalSince(started)
        return transfer
    }

    private final class SentCount: @unchecked Sendable {
        var value = 0
        let done = DispatchSemaphore(value: 0)
    }
}
