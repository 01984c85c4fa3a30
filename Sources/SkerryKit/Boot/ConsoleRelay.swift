import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The serial console served on a Unix stream socket or a TCP port, for
/// `skerry top --attach … --console ADDRESS`, `skerry console ADDRESS`,
/// `socat - UNIX-CONNECT:PATH` or `telnet HOST PORT`.
///
/// skerry serves it (rather than QEMU's `-serial unix:…`) so the console
/// keeps going to stdout, the log and the `--until`/`--fail` patterns, and
/// several clients can watch at once. Every client gets the console's bytes
/// from when it connects; the lines each one types reach the kernel shell,
/// whole lines only, so two clients' keystrokes never interleave.
///
/// The relay runs on its owner's poll loop: `descriptors` to watch, `service`
/// when one is readable. Limits: `maximumClients` at once (a new client
/// replaces the one silent longest), a line of at most `maximumLineBytes`
/// (longer input is sent in pieces of that size), and a client that stops
/// reading until its socket buffer fills is disconnected rather than
/// allowed to hold up the console. The socket file has mode 0600 whatever
/// the umask: only its owner (and root) can connect. A TCP port has no such
/// check: anyone who reaches it types on the kernel shell, which is why
/// `skerry boot` serves it on loopback unless told otherwise. On `telnet:`
/// the relay speaks telnet: it offers ECHO and SUPPRESS-GO-AHEAD (the
/// kernel echoes) and takes the protocol out of what clients type. A typed
/// line ends at LF, CR or CR LF, and reaches the kernel ending in LF.
public final class ConsoleRelay {
    public static let maximumClients = 8
    public static let maximumLineBytes = 1024

    public let address: ConsoleAddress
    /// The Unix socket's path; empty for a TCP relay.
    public let path: String
    private var listener: Int32
    private var clients: [Client] = []
    /// Bumped on every input; the client silent longest has the smallest mark.
    private var clock: UInt64 = 0

    private struct Client {
        var fd: Int32
        var line: [UInt8] = []
        var lastHeard: UInt64
        /// The telnet protocol of a `telnet:` relay's client.
        var telnet: TelnetCodec?
        /// The last line ended at a CR: a LF right after it ends nothing.
        var afterCarriageReturn = false
    }

    public enum Failure: Error, Sendable, CustomStringConvertible {
        case directoryMissing(String)
        case cannotCreate(String, String)
        case notASocket(String)
        case inUse(String)
        case system(String, String)
        /// A TCP address that cannot be listened on, and why.
        case network(ConsoleAddress, String)

        public var description: String {
            switch self {
            case .network(let address, let reason):
                return "--console \(address): cannot listen: \(reason)"
            case .directoryMissing(let path):
                return "--console unix:\(path): the directory \((path as NSString).deletingLastPathComponent.nonEmpty ?? ".") does not exist"
            case .cannotCreate(let path, let reason):
                return "--console unix:\(path): cannot create the socket: \(reason)"
            case .notASocket(let path):
                return "--console unix:\(path): a file that is not a socket is in the way; remove it or choose another path"
            case .inUse(let path):
                return "--console unix:\(path): another process serves a console there; choose another path"
            case .system(let path, let reason):
                return "--console unix:\(path): \(reason)"
            }
        }
    }

    /// Listens at `address`: a Unix socket as `init(path:)` does, or a TCP port.
    public convenience init(address: ConsoleAddress) throws(Failure) {
        if let path = address.path {
            try self.init(path: path)
        } else {
            try self.init(network: address)
        }
    }

    private init(network address: ConsoleAddress) throws(Failure) {
        self.address = address
        path = ""
        guard let (host, port) = address.endpoint else { throw .network(address, "not a network address") }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &list)
        guard resolved == 0, let info = list else { throw .network(address, String(cString: gai_strerror(resolved))) }
        defer { freeaddrinfo(list) }
        let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw .network(address, String(cString: strerror(errno))) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard Glibc.bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0, listen(fd, 8) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw .network(address, code == EADDRINUSE ? "the port is in use; choose another" : String(cString: strerror(code)))
        }
        listener = fd
    }

    /// Listens on `path`. A socket file nobody listens on (left by a VM that
    /// was killed) is replaced; a live one, or any other file, is an error.
    public init(path: String) throws(Failure) {
        self.path = path
        address = .unix(path: path)
        var status = stat()
        if lstat(path, &status) == 0 {
            guard status.st_mode & S_IFMT == S_IFSOCK else { throw .notASocket(path) }
            if ConsoleRelay.someoneListens(at: path) { throw .inUse(path) }
            unlink(path)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw .system(path, String(cString: strerror(errno))) }
        let bound = UnixSocketAddress.bind(fd, to: path)
        guard bound == 0 else {
            let code = errno
            Glibc.close(fd)
            if code == ENOENT && !ConsoleRelay.directoryExists(of: path) { throw .directoryMissing(path) }
            throw .cannotCreate(path, String(cString: strerror(code)))
        }
        // Nobody can connect before listen(): make the file private first, so
        // the umask never decides who may type on the kernel shell.
        guard chmod(path, 0o600) == 0, ConsoleRelay.isPrivateSocket(path), listen(fd, 8) == 0 else {
            let code = errno
            Glibc.close(fd)
            unlink(path)
            throw .system(path, code == 0 ? "the socket file changed under skerry" : String(cString: strerror(code)))
        }
        listener = fd
    }

    deinit { close() }

    /// The listener and every client: poll these for input.
    public var descriptors: [Int32] { listener < 0 ? [] : [listener] + clients.map(\.fd) }

    /// The listener alone: poll this while typed input cannot be taken, so
    /// clients still connect and see the console but their input waits.
    public var listenerDescriptors: [Int32] { listener < 0 ? [] : [listener] }

    public var clientCount: Int { clients.count }

    /// Accepts new clients and reads the readable ones; returns the whole
    /// lines typed, newline included, in the order they completed.
    public func service(readable: Set<Int32>) -> [UInt8] {
        var typed: [UInt8] = []
        if readable.contains(listener) { acceptAll() }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var index = 0
        while index < clients.count {
            guard readable.contains(clients[index].fd) else { index += 1; continue }
            let count = recv(clients[index].fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if count == 0 || (count < 0 && errno != EAGAIN && errno != EINTR) {
                drop(at: index)
                continue
            }
            if count > 0 {
                clock += 1
                clients[index].lastHeard = clock
                var bytes = Array(buffer[0..<count])
                if var codec = clients[index].telnet {
                    var data: [UInt8] = []
                    var replies: [UInt8] = []
                    codec.decode(bytes, data: &data, replies: &replies)
                    clients[index].telnet = codec
                    bytes = data
                    if !replies.isEmpty && !send(clients[index].fd, replies[...], Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) {
                        drop(at: index)
                        continue
                    }
                }
                for byte in bytes {
                    // A line ends at LF, CR (a terminal in raw mode, a telnet client's CR NUL) or CR LF.
                    defer { clients[index].afterCarriageReturn = byte == 0x0D }
                    if byte == 0x0A && clients[index].afterCarriageReturn { continue }
                    let end = byte == 0x0A || byte == 0x0D
                    clients[index].line.append(end ? 0x0A : byte)
                    if end || clients[index].line.count >= ConsoleRelay.maximumLineBytes {
                        typed += clients[index].line
                        clients[index].line.removeAll(keepingCapacity: true)
                    }
                }
            }
            index += 1
        }
        return typed
    }

    /// Sends console output to every client; one that cannot take it all is disconnected.
    public func broadcast(_ bytes: ArraySlice<UInt8>) {
        guard !bytes.isEmpty else { return }
        var index = 0
        let escaped = address.isTelnet ? TelnetCodec.encode(bytes)[...] : bytes
        while index < clients.count {
            if send(clients[index].fd, escaped, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) { index += 1 } else { drop(at: index) }
        }
    }

    /// Disconnects every client, stops listening and removes the socket file.
    public func close() {
        guard listener >= 0 else { return }
        for client in clients { Glibc.close(client.fd) }
        clients = []
        Glibc.close(listener)
        listener = -1
        if !path.isEmpty { unlink(path) }
    }

    private func acceptAll() {
        while true {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { return }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            if clients.count >= ConsoleRelay.maximumClients,
                let quietest = clients.indices.min(by: { clients[$0].lastHeard < clients[$1].lastHeard })
            {
                _ = send(clients[quietest].fd, Array("skerry: console: another client took this connection's place\n".utf8)[...],
                         Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
                drop(at: quietest)
            }
            clock += 1
            var client = Client(fd: fd, lastHeard: clock)
            if address.isTelnet {
                var codec = TelnetCodec(acceptedRemote: [], acceptedLocal: [TelnetCodec.Option.echo, TelnetCodec.Option.suppressGoAhead])
                let offer = codec.offer(TelnetCodec.Option.echo) + codec.offer(TelnetCodec.Option.suppressGoAhead)
                client.telnet = codec
                _ = send(fd, offer[...], Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            }
            clients.append(client)
        }
    }

    private func drop(at index: Int) {
        Glibc.close(clients[index].fd)
        clients.remove(at: index)
    }

    /// Sends all of `bytes` or reports that the client's buffer is full.
    private func send(_ fd: Int32, _ bytes: ArraySlice<UInt8>, _ flags: Int32) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, flags) }
            if count > 0 { sent += count; continue }
            if count < 0 && errno == EINTR { continue }
            return false
        }
        return true
    }

    /// Whether a live server listens at `path`. The connect never waits: a
    /// server whose backlog is full (EAGAIN) is busy, so it is live.
    static func someoneListens(at path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { Glibc.close(fd) }
        let result = UnixSocketAddress.connect(fd, to: path)
        return result == 0 || errno == EAGAIN || errno == EINPROGRESS
    }

    static func directoryExists(of path: String) -> Bool {
        var status = stat()
        let directory = (path as NSString).deletingLastPathComponent.nonEmpty ?? "."
        return stat(directory, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR
    }

    /// The file at `path` is a socket of ours with mode 0600.
    static func isPrivateSocket(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFSOCK
            && status.st_mode & 0o777 == 0o600 && status.st_uid == geteuid()
    }
}
