import Glibc

/// Binds or connects a socket to a Unix socket path: the one place that
/// fills a `sockaddr_un`. A path longer than `sun_path` holds is cut, so
/// callers that take paths from users check the length first
/// (`ConsoleAddress.maximumPathBytes`). Returns the call's result, with
/// `errno` as the call left it.
public enum UnixSocketAddress {
    public static func connect(_ fd: Int32, to path: String) -> Int32 {
        with(path) { Glibc.connect(fd, $0, $1) }
    }

    public static func bind(_ fd: Int32, to path: String) -> Int32 {
        with(path) { Glibc.bind(fd, $0, $1) }
    }

    private static func with(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}
