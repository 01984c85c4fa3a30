import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A client of a serial console at a `ConsoleAddress`: a Unix socket, a raw
/// TCP port, or a telnet server (negotiated with `TelnetCodec`). Everything
/// that attaches to a console uses it: `skerry console`, `skerry top
/// --console` and `skerry boot --serial tcp|telnet`.
///
/// `receive` returns the console's data (the telnet protocol taken out);
/// `ConsoleLines` makes lines of it. `send` may be called from another
/// thread than `receive`.
public final class ConsoleConnection: @unchecked Sendable {
    public let address: ConsoleAddress
    /// The socket: poll it for input.
    public let descriptor: Int32
    /// The negotiation state; only `receive` touches it.
    private var telnet: TelnetCodec?
    private let sendLock = NSLock()
    private var closed = false
    /// Why the connection ended, once `receive` returned nil.
    public private(set) var endReason: String?
    /// The TCP send buffer asked for (the kernel doubles it).
    public static let sendBufferBytes = 65536
    /// A peer that does not read is given this long for one `send`.
    public static let sendTimeout: Double = 5

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case unresolved(ConsoleAddress, String)
        case refused(ConsoleAddress)
        case unreachable(ConsoleAddress, String)
        case timedOut(ConsoleAddress, Double)
        case system(ConsoleAddress, String)

        public var description: String {
            switch self {
            case .unresolved(let address, let reason):
                return "console \(address): cannot resolve the host: \(reason)"
            case .refused(let address):
                return address.path == nil
                    ? "console \(address): connection refused (is the VM running with its serial port there?)"
                    : "console \(address): nobody serves a console there (connection refused)"
            case .unreachable(let address, let reason):
                return "console \(address): unreachable: \(reason)"
            case .timedOut(let address, let seconds):
                return "console \(address): no answer within \(Format.duration(seconds))"
            case .system(let address, let reason):
                return "console \(address): \(reason)"
            }
        }

        /// Refused or absent: a listener may appear later (a VM still starting).
        public var isRefused: Bool {
            if case .refused = self { return true }
            return false
        }
    }

    /// Connects, waiting at most `timeout` seconds for a network address.
    public static func connect(_ address: ConsoleAddress, timeout: Double = 5) throws(Failure) -> ConsoleConnection {
        let fd = try open(address, timeout: timeout)
        return ConsoleConnection(address: address, descriptor: fd)
    }

    private init(address: ConsoleAddress, descriptor: Int32) {
        self.address = address
        self.descriptor = descriptor
        if address.isTelnet { telnet = TelnetCodec() }
    }

    deinit {
        close()
        Glibc.close(descriptor)
    }

    /// Waits up to `timeout` seconds and returns the data that arrived
    /// (empty when none did, or only negotiation); nil once the connection
    /// ended, with `endReason` saying why.
    public func receive(timeout: Double) -> [UInt8]? {
        guard endReason == nil else { return nil }
        var pfd = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let ready = poll(&pfd, 1, Int32(max(0, timeout * 1000)))
        if ready < 0 && errno == EINTR { return [] }
        guard ready > 0 else { return [] }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        if count == 0 { return end("the console closed the connection") }
        if count < 0 {
            if errno == EAGAIN || errno == EINTR { return [] }
            return end(String(cString: strerror(errno)))
        }
        guard var codec = telnet else { return Array(buffer[0..<count]) }
        var data: [UInt8] = []
        var replies: [UInt8] = []
        codec.decode(buffer[0..<count], data: &data, replies: &replies)
        telnet = codec
        if !replies.isEmpty && !sendRaw(replies[...], flags: Int32(MSG_DONTWAIT)) {
            return end("the telnet server does not read its negotiation replies")
        }
        return data
    }

    /// Sends `bytes` (0xFF escaped for telnet), waiting up to `sendTimeout`
    /// for a peer that reads slowly; false when the connection is gone.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        let wire = address.isTelnet ? TelnetCodec.encode(bytes) : bytes
        return sendRaw(wire[...], flags: 0)
    }

    /// Sends one typed line, its newline added.
    @discardableResult
    public func send(line: String) -> Bool { send(Array((line + "\n").utf8)) }

    /// Ends the connection; a `receive` on another thread returns nil.
    /// The descriptor stays open (shut down) until the connection is freed,
    /// so a poll on another thread never watches a reused number.
    public func close() {
        sendLock.withLock {
            guard !closed else { return }
            closed = true
            shutdown(descriptor, Int32(SHUT_RDWR))
        }
    }

    private func end(_ reason: String) -> [UInt8]? {
        endReason = reason
        return nil
    }

    /// Writes all of `bytes` within `sendTimeout`; with MSG_DONTWAIT, only what fits now.
    private func sendRaw(_ bytes: ArraySlice<UInt8>, flags: Int32) -> Bool {
        sendLock.withLock {
            guard !closed else { return false }
            let deadline = Date().addingTimeInterval(ConsoleConnection.sendTimeout)
            var sent = 0
            while sent < bytes.count {
                let count = bytes.withUnsafeBytes {
                    Glibc.send(descriptor, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                }
                if count > 0 { sent += count; continue }
                if count < 0 && errno == EINTR { continue }
                guard count < 0 && errno == EAGAIN && flags & Int32(MSG_DONTWAIT) == 0 else { return false }
                let remaining = deadline.timeIntervalSinceNow
                guard remaining > 0 else { return false }
                var pfd = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                _ = poll(&pfd, 1, Int32(remaining * 1000) + 1)
            }
            return true
        }
    }

    /// A connected, non-blocking, close-on-exec socket.
    private static func open(_ address: ConsoleAddress, timeout: Double) throws(Failure) -> Int32 {
        let flags = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard let (host, port) = address.endpoint else {
            let path = address.path ?? ""
            let fd = socket(AF_UNIX, flags, 0)
            guard fd >= 0 else { throw .system(address, String(cString: strerror(errno))) }
            guard path.utf8.count < ConsoleAddress.maximumPathBytes else {
                Glibc.close(fd)
                throw .system(address, "the path is too long")
            }
            guard UnixSocketAddress.connect(fd, to: path) == 0 else {
                let code = errno
                Glibc.close(fd)
                if code == ECONNREFUSED || code == ENOENT { throw .refused(address) }
                throw .system(address, String(cString: strerror(code)))
            }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            return fd
        }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &list)
        guard resolved == 0, let first = list else {
            throw .unresolved(address, String(cString: gai_strerror(resolved)))
        }
        defer { freeaddrinfo(list) }
        var failure = Failure.unreachable(address, "no address for \(host)")
        var entry: UnsafeMutablePointer<addrinfo>? = first
        let deadline = Date().addingTimeInterval(timeout)
        while let info = entry {
            entry = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, flags | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else { continue }
            var code: Int32 = 0
            if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 {
                code = errno
                if code == EINPROGRESS {
                    var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    let remaining = max(0, deadline.timeIntervalSinceNow)
                    if poll(&pfd, 1, Int32(remaining * 1000)) <= 0 {
                        code = ETIMEDOUT
                    } else {
                        var length = socklen_t(MemoryLayout<Int32>.size)
                        getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
                    }
                }
            }
            if code == 0 {
                var one: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                // Typed lines are small: a small send buffer makes a peer that never reads
                // (negotiation replies pile up) show at once instead of after megabytes.
                var sendBuffer = Int32(ConsoleConnection.sendBufferBytes)
                setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sendBuffer, socklen_t(MemoryLayout<Int32>.size))
                return fd
            }
            Glibc.close(fd)
            switch code {
            case ECONNREFUSED: failure = .refused(address)
            case ETIMEDOUT: failure = .timedOut(address, timeout)
            default: failure = .unreachable(address, String(cString: strerror(code)))
            }
        }
        throw failure
    }
}
