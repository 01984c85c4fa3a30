/// The telemetry port on the admin NIC (`telemetry-port` in the appliance
/// file, 9100 by default): HTTP for `/metrics` and the admin actions
/// (`AdminHTTP`). A bounded number of clients, each answered once and
/// closed; idle or slow clients are dropped.
enum Telemetry {
    final class Client {
        let connection: TCPConnection
        let opened: Instant
        var request: [UInt8] = []
        var response: [UInt8] = []
        var sent = 0
        var answered = false

        init(connection: TCPConnection, opened: Instant) {
            self.connection = connection
            self.opened = opened
        }
    }

    static let maximumClients = 8
    /// A client must have been answered and drained within this long.
    static let clientDeadline = Interval.seconds(10)

    nonisolated(unsafe) static var listener: TCPListener?
    nonisolated(unsafe) static var service: AdminHTTP?
    nonisolated(unsafe) static var clients: [Client] = []
    nonisolated(unsafe) static var refused: UInt64 = 0
    nonisolated(unsafe) static var scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 16)

    static func start(stack: NetworkStack, loop: KernelLoop) {
        guard let admin = stack.interface(.admin) else { return }
        let port = ApplianceConfiguration.telemetryPort
        guard let listener = stack.tcp.listen(port: port, addresses: [admin.address], backlog: 16) else {
            console.line("telemetry: the port is taken; no metrics or admin actions")
            return
        }
        let token = ApplianceConfiguration.adminToken.withUTF8Buffer { Array($0) }
        let service = AdminHTTP(token: token, balancer: stack.balancer, metrics: { metrics(stack) }) {
            stack.balancer?.resetStatistics()
            Filtering.firewall?.resetCounters()
        }
        service.onAction = { action, peer in
            console.beginLine()
            console.write("admin: ")
            switch action {
            case .state(let state, let target, let backend):
                Balancer.writeName(target, backend)
                console.write(" set to ")
                console.write(state.name)
            case .weight(let weight, let target, let backend):
                Balancer.writeName(target, backend)
                console.write(" weight set to ")
                console.write(decimal: weight)
            case .resetCounters:
                console.write("balancer and firewall counters reset")
            }
            console.write(" by ")
            peer.write(to: &console)
            console.line(" over HTTP")
        }
        listener.onAcceptable = { acceptAll() }
        self.listener = listener
        self.service = service
        loop.repeating(every: .seconds(1)) { dropStaleClients(now: Clock.now()) }
        console.write("telemetry: admin port ")
        console.write(decimal: UInt64(port))
        console.write(": GET /metrics; admin actions ")
        console.line(token.isEmpty ? "off (no admin token)" : "need the admin token")
    }

    private static func metrics(_ stack: NetworkStack) -> [UInt8] {
        let now = Clock.now()
        let heap = kernelHeap.statistics
        let source = MetricsSource(
            now: now, uptime: now.since(.zero), heapUsed: UInt64(heap.inUse), heapFree: UInt64(heap.free),
            heapPeak: UInt64(heap.peak), stack: stack, firewall: Filtering.firewall
        ) { ApplianceFirewall.table.name($0) }
        return ApplianceMetrics.write(source).bytes
    }

    private static func acceptAll() {
        guard let listener else { return }
        while let connection = listener.accept() {
            guard clients.count < maximumClients else {
                refused += 1
                connection.abort()
                continue
            }
            let client = Client(connection: connection, opened: Clock.now())
            clients.append(client)
            connection.onEvent = { serve(client) }
            serve(client)
        }
    }

    private static func serve(_ client: Client) {
        let connection = client.connection
        while !client.answered, connection.readableBytes > 0 {
            let count = connection.read(into: scratch)
            client.request += UnsafeRawBufferPointer(rebasing: scratch[0..<count])
        }
        if !client.answered, let service {
            switch HTTPRequest.parse(client.request) {
            case .incomplete:
                if connection.atEndOfStream { connection.close() }
            case .invalid:
                client.response = AdminHTTP.badRequest
                client.answered = true
            case .complete(let request):
                client.response = service.respond(to: request, from: connection.endpoints.remoteAddress)
                client.answered = true
            }
        }
        if client.answered {
            while client.sent < client.response.count, connection.writableSpace > 0 {
                let end = min(client.response.count, client.sent + connection.writableSpace)
                let written = client.response[client.sent..<end].withUnsafeBytes { connection.write($0) }
                if written == 0 { break }
                client.sent += written
            }
            if client.sent == client.response.count { connection.close() }
        }
        if connection.isFinished { clients.removeAll { $0 === client } }
    }

    private static func dropStaleClients(now: Instant) {
        for client in clients where now.since(client.opened) > clientDeadline {
            client.connection.abort()
        }
        clients.removeAll { $0.connection.isFinished || now.since($0.opened) > clientDeadline }
    }
}
