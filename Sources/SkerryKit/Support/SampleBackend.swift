import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP server on the host's loopback that names itself in every
/// response (body and `X-Backend` header) and logs each request: the
/// backends the sample appliances balance over. Its `status` can be
/// switched (200 or, say, 503) while its port keeps accepting connections.
public final class SampleBackend: @unchecked Sendable {
    public let name: String
    public let port: UInt16
    private let listener: Int32
    private let log: @Sendable (String) -> Void
    private let lock = NSLock()
    private var served = 0
    private var answer = 200

    public init(name: String, port: UInt16, status: Int = 200, log: @escaping @Sendable (String) -> Void) throws {
        self.name = name
        self.answer = status
        self.log = log
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0, listen(fd, 128) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw TCPTestClient.ClientError("backend \(name): cannot listen on 127.0.0.1:\(port): \(reason)")
        }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        self.port = UInt16(bigEndian: address.sin_port)
        listener = fd
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    public var requestsServed: Int { lock.withLock { served } }

    /// The status code every response carries: 200, or any other
    /// (e.g. 503) to look listening but broken.
    public var status: Int {
        get { lock.withLock { answer } }
        set { lock.withLock { answer = newValue } }
    }

    /// The reason phrase sent with `status`.
    static func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 404: return "Not Found"
        case 500: return "Internal Server Error"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        default: return "Status"
        }
    }

    public func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while true {
            var peer = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let fd = withUnsafeMutablePointer(to: &peer) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(listener, $0, &length) } }
            guard fd >= 0 else { return }
            var text = [CChar](repeating: 0, count: 32)
            inet_ntop(AF_INET, &peer.sin_addr, &text, socklen_t(text.count))
            let client = "\(String(cString: text)):\(UInt16(bigEndian: peer.sin_port))"
            Thread.detachNewThread { [self] in serve(fd, client: client) }
        }
    }

    private func serve(_ fd: Int32, client: String) {
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while request.count < 16_384 {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { return }
            request += buffer[0..<count]
            if request.count >= 4 && request.suffix(4) == [13, 10, 13, 10] { break }
            if let end = request.firstRange(of: [13, 10, 13, 10]), end.upperBound <= request.count { break }
        }
        let firstLine = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let (number, status) = lock.withLock { () -> (Int, Int) in
            served += 1
            return (served, answer)
        }
        log("\(name) \(firstLine) from \(client) (#\(number))\(status == 200 ? "" : " answered \(status)")")
        let body = "\(name)\n"
        let response = "HTTP/1.1 \(status) \(Self.reason(status))\r\nContent-Type: text/plain\r\nX-Backend: \(name)\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        _ = response.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    }
}
