import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A minimal client for the QEMU Machine Protocol over a Unix socket:
/// enough to negotiate capabilities, ask for status and quit.
public final class QMPClient {
    private let fd: Int32
    private var buffered = Data()

    public enum Failure: Error, CustomStringConvertible {
        case connect(String)
        case protocolError(String)
        case timeout

        public var description: String {
            switch self {
            case .connect(let reason): return "QMP connect failed: \(reason)"
            case .protocolError(let reason): return "QMP error: \(reason)"
            case .timeout: return "QMP timed out"
            }
        }
    }

    /// Connects, reads the greeting and enters command mode.
    public init(socketPath: String, timeout: Double = 2) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var connected: Int32 = -1
        var lastError = "socket never appeared"
        while connected < 0 && Date() < deadline {
            let candidate = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            let result = UnixSocketAddress.connect(candidate, to: socketPath)
            if result == 0 {
                connected = candidate
            } else {
                lastError = String(cString: strerror(errno))
                close(candidate)
                usleep(10_000)
            }
        }
        guard connected >= 0 else { throw Failure.connect(lastError) }
        fd = connected
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let greeting = try readMessage()
        guard greeting["QMP"] != nil else { throw Failure.protocolError("no greeting") }
        _ = try execute("qmp_capabilities")
    }

    deinit { close(fd) }

    /// Runs a command and returns its `return` value.
    @discardableResult
    public func execute(_ command: String) throws -> Any? {
        let request = "{\"execute\":\"\(command)\"}\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        while true {
            let message = try readMessage()
            if message["event"] != nil { continue }
            if let error = message["error"] as? [String: Any] {
                throw Failure.protocolError(error["desc"] as? String ?? "\(error)")
            }
            return message["return"]
        }
    }

    /// Asks QEMU to exit now. QEMU may close the socket before answering.
    public func quit() {
        _ = try? execute("quit")
    }

    private func readMessage() throws -> [String: Any] {
        while true {
            if let newline = buffered.firstIndex(of: 0x0A) {
                let line = buffered[buffered.startIndex..<newline]
                buffered.removeSubrange(buffered.startIndex...newline)
                guard !line.isEmpty else { continue }
                guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                    throw Failure.protocolError("unparsable message")
                }
                return object
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = recv(fd, &chunk, chunk.count, 0)
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { throw Failure.timeout }
            guard count > 0 else { throw Failure.protocolError("connection closed") }
            buffered.append(contentsOf: chunk[0..<count])
        }
    }
}
