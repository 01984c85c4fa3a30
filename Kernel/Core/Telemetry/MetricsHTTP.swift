/// The HTTP side of the telemetry port on the admin NIC: `GET /metrics`
/// in Prometheus text format, for any scraper. Admin actions are not
/// offered over HTTP; they go over the telemetry stream, with the token.
public struct MetricsHTTP {
    let metrics: () -> [UInt8]

    /// - Parameter metrics: the `/metrics` body, made when asked for.
    public init(metrics: @escaping () -> [UInt8]) {
        self.metrics = metrics
    }

    /// The complete response to `request`.
    public func respond(to request: HTTPRequest) -> [UInt8] {
        let root = request.path.matches("/")
        guard root || request.path.matches("/metrics") else {
            return MetricsHTTP.response(404, "Not Found", "no such path; GET /metrics\n")
        }
        guard request.method.matches("GET") else { return MetricsHTTP.response(405, "Method Not Allowed", "use GET\n") }
        if root {
            return MetricsHTTP.response(200, "OK", "skerry: GET /metrics; the telemetry stream on this port (docs/telemetry.md)\n")
        }
        return MetricsHTTP.response(200, "OK", metrics(), contentType: "text/plain; version=0.0.4; charset=utf-8")
    }

    /// A response to a request that is not HTTP or too long.
    public static var badRequest: [UInt8] { response(400, "Bad Request", "not an HTTP request this endpoint understands\n") }

    /// The answer to a client that found every telemetry slot taken.
    public static var busy: [UInt8] { response(503, "Service Unavailable", "all telemetry slots are taken; try again later\n") }

    static func response(_ status: Int, _ reason: StaticString, _ body: StaticString) -> [UInt8] {
        response(status, reason, body.withUTF8Buffer { Array($0) })
    }

    static func response(_ status: Int, _ reason: StaticString, _ body: [UInt8],
                         contentType: StaticString = "text/plain; charset=utf-8") -> [UInt8] {
        var text = ByteText()
        text.write("HTTP/1.1 ")
        text.write(decimal: status)
        text.write(" ")
        text.write(reason)
        text.write("\r\nContent-Type: ")
        text.write(contentType)
        text.write("\r\nContent-Length: ")
        text.write(decimal: body.count)
        text.write("\r\nConnection: close\r\n\r\n")
        text.bytes += body
        return text.bytes
    }
}
