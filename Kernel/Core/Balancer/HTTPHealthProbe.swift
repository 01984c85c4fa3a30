/// The HTTP side of one backend's checks: the request, built once, and the
/// start of each response, read until its status line is whole.
///
/// Both buffers are allocated at init and reused by every check, so a
/// check allocates nothing and a backend cannot make it hold more than
/// `statusLineLimit` bytes of its answer.
final class HTTPHealthProbe {
    /// How much of a response may come before its status line ends: past
    /// it the answer is malformed.
    static let statusLineLimit = 256

    let expectedStatus: ClosedRange<Int>
    /// `METHOD PATH HTTP/1.0`, Host, User-Agent and `Connection: close`.
    let request: [UInt8]
    private var response: [UInt8]
    private var sent = 0
    private var received = 0

    /// How one exchange stands after the bytes read so far.
    enum Progress: Equatable {
        /// No whole status line yet, and the connection may still bring one.
        case waiting
        /// A status line with this code.
        case status(UInt16)
        /// Not a status line, or none within `statusLineLimit` bytes.
        case malformed
        /// The connection ended (closed or reset) before a whole status line.
        case ended
    }

    init(_ check: HTTPHealthCheck, backend: IPv4Address, port: UInt16) {
        expectedStatus = check.expectedStatus
        var text = ByteText()
        text.write(check.method)
        text.write(" ")
        text.write(check.path)
        text.write(" HTTP/1.0\r\nHost: ")
        backend.write(to: &text)
        text.write(":")
        text.write(decimal: UInt64(port))
        text.write("\r\nUser-Agent: skerry-health\r\nConnection: close\r\n\r\n")
        request = text.bytes
        response = Array(repeating: 0, count: Self.statusLineLimit)
    }

    /// Starts a new exchange: nothing sent, nothing read.
    func reset() {
        sent = 0
        received = 0
    }

    /// Whether the status code is one the check expects.
    func expects(_ code: UInt16) -> Bool { expectedStatus.contains(Int(code)) }

    /// Writes what is left of the request, as far as the connection takes it.
    func send(on connection: TCPConnection) {
        guard sent < request.count else { return }
        sent += request.withUnsafeBytes { bytes in
            connection.write(UnsafeRawBufferPointer(rebasing: bytes[sent...]))
        }
    }

    /// Reads the response up to `statusLineLimit` bytes and says how the exchange stands.
    func receive(from connection: TCPConnection) -> Progress {
        response.withUnsafeMutableBytes { buffer in
            while received < buffer.count {
                let count = connection.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[received...]))
                guard count > 0 else { break }
                received += count
            }
            switch HTTPStatusLine.parse(UnsafeRawBufferPointer(rebasing: buffer[..<received])) {
            case .status(let code):
                return .status(code)
            case .malformed:
                return .malformed
            case .incomplete:
                if received == buffer.count { return .malformed }
                return connection.atEndOfStream ? .ended : .waiting
            }
        }
    }
}
