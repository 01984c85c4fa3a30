import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where a serial console is served or found: `unix:PATH` (a Unix stream
/// socket), `tcp:HOST:PORT` (raw bytes, as QEMU's `-serial tcp:` serves
/// them) or `telnet:HOST:PORT` (the telnet protocol, as QEMU's `-serial
/// telnet:` and a vSphere VM's network serial port serve it). A bare path
/// means a Unix socket; an IPv6 host is written in brackets, `tcp:[::1]:4555`.
public enum ConsoleAddress: Sendable, Equatable, Hashable, CustomStringConvertible {
    case unix(path: String)
    case tcp(host: String, port: UInt16)
    case telnet(host: String, port: UInt16)

    /// Bytes in `sockaddr_un.sun_path`, its terminating NUL included.
    public static let maximumPathBytes = MemoryLayout.size(ofValue: sockaddr_un().sun_path)

    /// The forms, as help and errors name them.
    public static let forms = "unix:PATH, tcp:HOST:PORT or telnet:HOST:PORT"

    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case empty
        case malformed(String, expected: String)
        case pathTooLong(String, bytes: Int)

        public var description: String {
            switch self {
            case .empty:
                return "--console needs \(ConsoleAddress.forms)"
            case .malformed(let text, let expected):
                return "--console '\(text)': expected \(expected)"
            case .pathTooLong(let path, let bytes):
                return "--console 'unix:\(path)': the path is \(bytes) bytes; a Unix socket path has at most \(ConsoleAddress.maximumPathBytes - 1) (use a shorter one, e.g. under /tmp)"
            }
        }
    }

    /// Parses `unix:PATH`, `tcp:HOST:PORT`, `telnet:HOST:PORT` or a bare path.
    public init(parsing text: String) throws(Problem) {
        guard !text.isEmpty else { throw .empty }
        for (scheme, make) in [("tcp:", ConsoleAddress.tcp), ("telnet:", ConsoleAddress.telnet)] where text.hasPrefix(scheme) {
            guard let (host, port) = ConsoleAddress.hostAndPort(text.dropFirst(scheme.count)) else {
                throw .malformed(text, expected: "\(scheme)HOST:PORT (an IPv6 HOST in brackets: \(scheme)[::1]:PORT)")
            }
            self = make(host, port)
            return
        }
        let path = text.hasPrefix("unix:") ? String(text.dropFirst("unix:".count)) : text
        guard !path.isEmpty else { throw .malformed(text, expected: "unix:PATH") }
        let bytes = path.utf8.count
        guard bytes < ConsoleAddress.maximumPathBytes else { throw .pathTooLong(path, bytes: bytes) }
        self = .unix(path: path)
    }

    /// `HOST:PORT` or `[V6HOST]:PORT`, with a port from 1 to 65535.
    private static func hostAndPort(_ rest: Substring) -> (String, UInt16)? {
        let host: Substring
        let portText: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]"), rest[rest.index(after: close)...].hasPrefix(":") else { return nil }
            host = rest[rest.index(after: rest.startIndex)..<close]
            portText = rest[rest.index(close, offsetBy: 2)...]
            guard host.contains(":") else { return nil }
        } else {
            guard let colon = rest.lastIndex(of: ":") else { return nil }
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
            // An unbracketed IPv6 address would make the port ambiguous.
            guard !host.contains(":") else { return nil }
        }
        guard !host.isEmpty, !host.contains(where: { $0.isWhitespace || $0 == "/" }),
            portText.allSatisfy({ $0.isASCII && $0.isNumber }), let port = UInt16(portText), port > 0
        else { return nil }
        return (String(host), port)
    }

    /// The Unix socket's path; nil for the network forms.
    public var path: String? {
        if case .unix(let path) = self { return path }
        return nil
    }

    /// The host and port of the network forms; nil for `unix:`.
    public var endpoint: (host: String, port: UInt16)? {
        switch self {
        case .unix: return nil
        case .tcp(let host, let port), .telnet(let host, let port): return (host, port)
        }
    }

    /// Whether the bytes are telnet protocol rather than raw.
    public var isTelnet: Bool {
        if case .telnet = self { return true }
        return false
    }

    /// A network form whose host is this machine only: `localhost`, 127.0.0.0/8 or `::1`.
    /// A Unix socket is local too.
    public var isLoopback: Bool {
        guard let (host, _) = endpoint else { return true }
        if host == "localhost" || host == "::1" { return true }
        var address = in_addr()
        return inet_pton(AF_INET, host, &address) == 1 && UInt32(bigEndian: address.s_addr) >> 24 == 127
    }

    /// The canonical form, as `--console` takes it.
    public var description: String {
        switch self {
        case .unix(let path): return "unix:\(path)"
        case .tcp(let host, let port): return "tcp:\(ConsoleAddress.bracketed(host)):\(port)"
        case .telnet(let host, let port): return "telnet:\(ConsoleAddress.bracketed(host)):\(port)"
        }
    }

    /// `HOST:PORT` for the network forms, the path for `unix:`.
    public var location: String {
        if let (host, port) = endpoint { return "\(ConsoleAddress.bracketed(host)):\(port)" }
        return path ?? ""
    }

    static func bracketed(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }
}
