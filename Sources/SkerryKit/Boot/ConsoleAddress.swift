import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where a serial console is served or found: `unix:PATH` (a Unix stream
/// socket), with `tcp:HOST:PORT` and `telnet:HOST:PORT` reserved for the
/// network forms. A bare path means a Unix socket.
public enum ConsoleAddress: Sendable, Equatable, CustomStringConvertible {
    case unix(path: String)
    case tcp(host: String, port: UInt16)
    case telnet(host: String, port: UInt16)

    /// Bytes in `sockaddr_un.sun_path`, its terminating NUL included.
    public static let maximumPathBytes = MemoryLayout.size(ofValue: sockaddr_un().sun_path)

    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case empty
        case malformed(String, expected: String)
        case pathTooLong(String, bytes: Int)
        case notYetSupported(String)

        public var description: String {
            switch self {
            case .empty:
                return "--console needs unix:PATH"
            case .malformed(let text, let expected):
                return "--console '\(text)': expected \(expected)"
            case .pathTooLong(let path, let bytes):
                return "--console 'unix:\(path)': the path is \(bytes) bytes; a Unix socket path has at most \(ConsoleAddress.maximumPathBytes - 1) (use a shorter one, e.g. under /tmp)"
            case .notYetSupported(let text):
                return "--console '\(text)': only unix:PATH is supported; tcp: and telnet: consoles are not supported yet"
            }
        }
    }

    /// Parses `unix:PATH`, `tcp:HOST:PORT`, `telnet:HOST:PORT` or a bare path.
    public init(parsing text: String) throws(Problem) {
        guard !text.isEmpty else { throw .empty }
        for (scheme, make) in [("tcp:", ConsoleAddress.tcp), ("telnet:", ConsoleAddress.telnet)] where text.hasPrefix(scheme) {
            let rest = text.dropFirst(scheme.count)
            guard let colon = rest.lastIndex(of: ":"), colon != rest.startIndex,
                let port = UInt16(rest[rest.index(after: colon)...]), port > 0
            else { throw .malformed(text, expected: "\(scheme)HOST:PORT") }
            self = make(String(rest[..<colon]), port)
            return
        }
        let path = text.hasPrefix("unix:") ? String(text.dropFirst("unix:".count)) : text
        guard !path.isEmpty else { throw .malformed(text, expected: "unix:PATH") }
        let bytes = path.utf8.count
        guard bytes < ConsoleAddress.maximumPathBytes else { throw .pathTooLong(path, bytes: bytes) }
        self = .unix(path: path)
    }

    /// The Unix socket's path; nil for the network forms.
    public var path: String? {
        if case .unix(let path) = self { return path }
        return nil
    }

    /// Refuses the forms that cannot be served yet.
    public func requireSupported() throws(Problem) {
        if path == nil { throw .notYetSupported(description) }
    }

    /// The canonical form, as `--console` takes it.
    public var description: String {
        switch self {
        case .unix(let path): return "unix:\(path)"
        case .tcp(let host, let port): return "tcp:\(host):\(port)"
        case .telnet(let host, let port): return "telnet:\(host):\(port)"
        }
    }
}
