/// The HTTP side of the telemetry port on the admin NIC: `GET /metrics`
/// (Prometheus text) and the admin actions, which need the appliance's
/// admin token:
///
///     POST /admin/drain/SERVICE/BACKEND     no new connections; open ones finish
///     POST /admin/disable/SERVICE/BACKEND   nothing; open connections are dropped
///     POST /admin/enable/SERVICE/BACKEND    back in rotation
///     POST /admin/weight/SERVICE/BACKEND/N  weight for new connections (0-1000)
///     POST /admin/reset-counters            zero the balancer's and firewall's totals
///
/// with `Authorization: Bearer TOKEN`. Each action taken is reported
/// through `onAction` (the kernel logs it on the console).
public final class AdminHTTP {
    public enum Action {
        case state(LoadBalancer.AdministrativeState, LoadBalancer.Service, LoadBalancer.Backend)
        case weight(Int, LoadBalancer.Service, LoadBalancer.Backend)
        case resetCounters
    }

    let token: [UInt8]
    let balancer: LoadBalancer?
    let metrics: () -> [UInt8]
    let resetCounters: () -> Void
    /// Called with each action taken and who asked for it.
    public var onAction: ((Action, IPv4Address) -> Void)?

    /// - Parameters:
    ///   - token: the admin token; empty refuses every action.
    ///   - metrics: the `/metrics` body, made when asked for.
    ///   - resetCounters: zeroes the counters `reset-counters` covers.
    public init(token: [UInt8], balancer: LoadBalancer?, metrics: @escaping () -> [UInt8],
                resetCounters: @escaping () -> Void = {}) {
        self.token = token
        self.balancer = balancer
        self.metrics = metrics
        self.resetCounters = resetCounters
    }

    /// The complete response to `request` from `peer`.
    public func respond(to request: HTTPRequest, from peer: IPv4Address) -> [UInt8] {
        let get = request.method.matches("GET")
        let post = request.method.matches("POST")
        if request.path.matches("/metrics") {
            guard get else { return AdminHTTP.response(405, "Method Not Allowed", "use GET\n") }
            return AdminHTTP.response(200, "OK", metrics(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
        if request.path.matches("/") {
            return AdminHTTP.response(
                200, "OK",
                "skerry: GET /metrics; POST /admin/... (docs/telemetry.md)\n")
        }
        let prefix = literalBytes("/admin/")
        guard request.path.starts(with: prefix) else { return AdminHTTP.response(404, "Not Found", "no such path\n") }
        guard post else { return AdminHTTP.response(405, "Method Not Allowed", "admin actions are POST\n") }
        guard !token.isEmpty else {
            return AdminHTTP.response(403, "Forbidden", "admin actions are off: the appliance file sets no admin token\n")
        }
        guard let presented = request.bearerToken, AdminHTTP.constantTimeEqual(presented, token) else {
            return AdminHTTP.response(401, "Unauthorized", "admin actions need the appliance's token: Authorization: Bearer TOKEN\n")
        }
        let parts = request.path[prefix.count...].split(separator: 0x2F, omittingEmptySubsequences: false).map { Array($0) }
        if parts.count == 1 && parts[0].matches("reset-counters") {
            resetCounters()
            onAction?(.resetCounters, peer)
            return AdminHTTP.response(200, "OK", "counters reset\n")
        }
        let isWeight = parts[0].matches("weight")
        guard parts.count == (isWeight ? 4 : 3) else {
            return AdminHTTP.response(404, "Not Found", "no such admin path (docs/telemetry.md)\n")
        }
        var state = LoadBalancer.AdministrativeState.enabled
        var weight = 0
        if parts[0].matches("drain") {
            state = .draining
        } else if parts[0].matches("disable") {
            state = .disabled
        } else if parts[0].matches("enable") {
            state = .enabled
        } else if isWeight {
            guard let value = parts[3].decimalValue, value <= UInt64(LoadBalancer.weights.upperBound) else {
                return AdminHTTP.response(400, "Bad Request", "a weight is a number from 0 to 1000\n")
            }
            weight = Int(value)
        } else {
            return AdminHTTP.response(404, "Not Found", "no such admin action (docs/telemetry.md)\n")
        }
        guard let balancer else { return AdminHTTP.response(404, "Not Found", "this appliance balances no services\n") }
        for service in balancer.services where parts[1].matches(service.configuration.name) {
            for backend in service.backends where parts[2].matches(backend.configuration.name) {
                var body = ByteText()
                body.write(bytes: parts[1])
                body.write("/")
                body.write(bytes: parts[2])
                if isWeight {
                    balancer.setWeight(weight, service: service, backend: backend)
                    onAction?(.weight(weight, service, backend), peer)
                    body.write(" weight ")
                    body.write(decimal: weight)
                } else {
                    balancer.setAdministrative(state, service: service, backend: backend)
                    onAction?(.state(state, service, backend), peer)
                    body.write(" is ")
                    body.write(state.name)
                }
                body.write("\n")
                return AdminHTTP.response(200, "OK", body.bytes)
            }
        }
        return AdminHTTP.response(404, "Not Found", "no such backend\n")
    }


    /// A response to a request that is not HTTP or too long.
    public static var badRequest: [UInt8] { response(400, "Bad Request", "not an HTTP request this endpoint understands\n") }

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

    /// Compares without stopping at the first difference, so timing does not reveal the token.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}
