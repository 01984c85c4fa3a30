import Foundation
import SkerryKit
#if canImport(Glibc)
import Glibc
#endif

/// A serial console on a Unix stream socket (QEMU's `-serial
/// unix:PATH,server,nowait`): its lines go to the feed, and lines typed in
/// the console view go back to the kernel shell.
public final class SerialSocket: @unchecked Sendable {
    public enum Failure: Error, CustomStringConvertible {
        case cannotConnect(String, String)
        public var description: String {
            switch self {
            case .cannotConnect(let path, let reason): return "cannot open the console socket \(path): \(reason)"
            }
        }
    }

    private let fd: Int32
    private let lock = NSLock()
    private var closed = false

    public init(path: String, feed: DashboardFeed) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        guard path.utf8.count < ConsoleAddress.maximumPathBytes else {
            Glibc.close(fd)
            throw Failure.cannotConnect(path, "the path is too long")
        }
        let result = UnixSocketAddress.connect(fd, to: path)
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw Failure.cannotConnect(path, reason)
        }
        feed.setConsoleWriter { line in
            let text = line + "\n"
            _ = text.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        }
        Thread.detachNewThread { [weak self] in
            var partial: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard count > 0 else { break }
                for byte in buffer[0..<count] {
                    if byte == 0x0A {
                        feed.appendConsole(String(decoding: partial.filter { $0 != 0x0D }, as: UTF8.self))
                        partial.removeAll()
                    } else {
                        partial.append(byte)
                    }
                }
            }
            feed.setConsoleWriter(nil)
            feed.appendConsole("[skerry] the console socket closed")
            // QEMU closes its end only when it exits: the telemetry stream is over too.
            if self?.isClosed == false { feed.endStream("the console socket closed: the VM is gone") }
            _ = self
        }
    }

    /// `close` was called: the socket ended at our end, not QEMU's.
    var isClosed: Bool { lock.withLock { closed } }

    public func close() {
        lock.withLock {
            guard !closed else { return }
            closed = true
            shutdown(fd, Int32(SHUT_RDWR))
        }
    }
}
