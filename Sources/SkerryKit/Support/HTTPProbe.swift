import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One HTTP/1.0 GET to 127.0.0.1:port, as the balancer tests and benchmark
/// send it: the answering sample backend's name (its `X-Backend` header),
/// or nil when the request failed.
public enum HTTPProbe {
    public static func backendName(port: UInt16, timeout: Double = 10) -> String? {
        guard let fd = try? TCPTestClient.connect(port: port, timeout: timeout) else { return nil }
        defer { close(fd) }
        let request = "GET / HTTP/1.0\r\nHost: skerry\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            response += buffer[0..<count]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard text.hasPrefix("HTTP/1.1 200"), let header = text.range(of: "X-Backend: ") else { return nil }
        return String(text[header.upperBound...].prefix { !$0.isNewline })
    }
}
