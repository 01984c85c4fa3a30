import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Minimal HTTP/1.0 requests to 127.0.0.1:port, as the tests, benchmarks
/// and admin commands send them: one request per connection, read to the end.
public enum HTTPProbe {
    public struct Response: Sendable {
        public var status: Int
        public var headers: String
        public var body: String
    }

    /// The answer to one request, or nil when the connection failed or the reply was not HTTP.
    public static func exchange(host: String = "127.0.0.1", port: UInt16, method: String = "GET", path: String = "/",
                                headers: [String: String] = [:], timeout: Double = 10) -> Response? {
        guard let fd = try? TCPTestClient.connect(port: port, address: host, timeout: timeout) else { return nil }
        defer { close(fd) }
        var wait = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        var request = "\(method) \(path) HTTP/1.0\r\nHost: skerry\r\n"
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            response += buffer[0..<count]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard text.hasPrefix("HTTP/1."), let status = Int(text.split(separator: " ").dropFirst().first ?? ""),
            let split = text.range(of: "\r\n\r\n")
        else { return nil }
        return Response(status: status, headers: String(text[..<split.lowerBound]), body: String(text[split.upperBound...]))
    }

    /// The answering sample backend's name (its `X-Backend` header), or nil when the request failed.
    public static func backendName(port: UInt16, timeout: Double = 10) -> String? {
        guard let response = exchange(port: port, timeout: timeout), response.status == 200,
            let header = response.headers.range(of: "X-Backend: ")
        else { return nil }
        return String(response.headers[header.upperBound...].prefix { !$0.isNewline })
    }
}
