/// The telemetry port on the admin NIC (`telemetry-port` in the appliance
/// file, 9100 by default). One port, two protocols, told apart by the
/// client's first bytes: the telemetry stream (`SKTP`, `TelemetryStream`)
/// and HTTP (`GET /metrics`, `MetricsHTTP`). A bounded
/// number of clients; HTTP clients are answered once and closed, stream
/// clients stay until they leave or stop reading.
enum Telemetry {
    final class Client {
        enum Kind { case unknown, http, stream(TelemetrySession) }

        let connection: TCPConnection
        let opened: Instant
        var kind = Kind.unknown
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
    /// An HTTP client, or one that has not said which protocol it speaks,
    /// must have been answered and drained within this long.
    static let clientDeadline = Interval.seconds(10)

    nonisolated(unsafe) static var listener: TCPListener?
    nonisolated(unsafe) static var http: MetricsHTTP?
    nonisolated(unsafe) static var stream: TelemetryStream?
    nonisolated(unsafe) static var clients: [Client] = []
    nonisolated(unsafe) static var scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 16)
    nonisolated(unsafe) static var loop: KernelLoop?

    static func start(stack: NetworkStack, loop: KernelLoop) {
        guard let admin = stack.interface(.admin) else { return }
        let port = ApplianceConfiguration.telemetryPort
        guard let listener = stack.tcp.listen(port: port, addresses: [admin.address], backlog: 16) else {
            console.line("telemetry: the port is taken; no metrics, stream or admin actions")
            return
        }
        let token = ApplianceConfiguration.adminToken.withUTF8Buffer { Array($0) }
        let actions = AdminActions(token: token, balancer: stack.balancer) { Filtering.firewall?.resetCounters() }
        actions.onAction = { action, peer, channel in
            report(action, peer: peer, channel: channel)
        }
        self.loop = loop
        http = MetricsHTTP { ApplianceMetrics.write(source(stack)).bytes }
        let stream = TelemetryStream(applianceName: ApplianceConfiguration.name, actions: actions) { source(stack) }
        self.stream = stream
        listener.onAcceptable = { acceptAll() }
        self.listener = listener
        loop.repeating(every: .milliseconds(100)) {
            stream.tick(now: Clock.now())
            for client in clients { serve(client) }
            dropStaleClients(now: Clock.now())
        }
        console.write("telemetry: admin port ")
        console.write(decimal: UInt64(port))
        console.write(": telemetry stream, GET /metrics; admin actions ")
        console.line(token.isEmpty ? "off (no admin token)" : "need the admin token")
    }

    /// Pushes `event` to stream subscribers.
    static func publish(_ event: TelemetryEvent) {
        stream?.publish(event, uptime: Clock.now().since(.zero))
    }

    private static func source(_ stack: NetworkStack) -> MetricsSource {
        let now = Clock.now()
        let heap = kernelHeap.statistics
        var source = MetricsSource(
            now: now, uptime: now.since(.zero), heapUsed: UInt64(heap.inUse), heapFree: UInt64(heap.free),
            heapPeak: UInt64(heap.peak), stack: stack, firewall: Filtering.firewall
        ) { ApplianceFirewall.table.name($0) }
        if let loop {
            source.loopBusy = loop.statistics.busy
            source.loopIdle = loop.statistics.idle
        }
        return source
    }

    /// Logs an admin action on the console; the stream tells its subscribers.
    private static func report(_ action: AdminActions.Action, peer: IPv4Address, channel: TelemetryProtocol.Channel) {
        console.beginLine()
        console.write("admin: ")
        switch action {
        case .state(let state, let service, let backend):
            Balancer.writeName(service, backend)
            console.write(" set to ")
            console.write(state.name)
        case .weight(let value, let service, let backend):
            Balancer.writeName(service, backend)
            console.write(" weight set to ")
            console.write(decimal: value)
        case .resetCounters:
            console.write("balancer and firewall counters reset")
        }
        console.write(" by ")
        peer.write(to: &console)
        console.write(" over ")
        console.line(channel.name)
    }

    private static func acceptAll() {
        guard let listener else { return }
        while let connection = listener.accept() {
            guard clients.count < maximumClients else {
                stream?.refusedClients += 1
                connection.abort()
                continue
            }
            let client = Client(connection: connection, opened: Clock.now())
            clients.append(client)
            connection.onEvent = { _ in serve(client) }
            serve(client)
        }
    }

    private static func serve(_ client: Client) {
        let connection = client.connection
        switch client.kind {
        case .unknown:
            readRequest(client)
            if client.request.count >= 4 {
                let magic = TelemetryProtocol.magic
                let bytes = client.request
                if bytes[0] == magic.0 && bytes[1] == magic.1 && bytes[2] == magic.2 && bytes[3] == magic.3, let stream {
                    let session = stream.open(peer: connection.endpoints.remoteAddress, now: Clock.now())
                    client.kind = .stream(session)
                    bytes.withUnsafeBytes { stream.receive($0, from: session, now: Clock.now()) }
                    client.request = []
                } else {
                    client.kind = .http
                }
                serve(client)
            } else if connection.atEndOfStream {
                connection.close()
            }
        case .http:
            serveHTTP(client)
        case .stream(let session):
            serveStream(client, session)
        }
        if connection.isFinished { forget(client) }
    }

    private static func readRequest(_ client: Client) {
        let connection = client.connection
        while connection.readableBytes > 0 {
            let count = connection.read(into: scratch)
            client.request += UnsafeRawBufferPointer(rebasing: scratch[0..<count])
        }
    }

    private static func serveHTTP(_ client: Client) {
        let connection = client.connection
        if !client.answered { readRequest(client) }
        if !client.answered, let http {
            switch HTTPRequest.parse(client.request) {
            case .incomplete:
                if connection.atEndOfStream { connection.close() }
            case .invalid:
                client.response = MetricsHTTP.badRequest
                client.answered = true
            case .complete(let request):
                client.response = http.respond(to: request)
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
    }

    private static func serveStream(_ client: Client, _ session: TelemetrySession) {
        guard let stream else { return }
        let connection = client.connection
        let now = Clock.now()
        while connection.readableBytes > 0, session.state != .dropped {
            let count = connection.read(into: scratch)
            stream.receive(UnsafeRawBufferPointer(rebasing: scratch[0..<count]), from: session, now: now)
        }
        session.send({ connection.write($0) }, now: now)
        switch session.state {
        case .dropped:
            connection.abort()
        case .closing where session.pendingCount == 0:
            connection.close()
        default:
            if connection.atEndOfStream { connection.close() }
        }
    }

    private static func forget(_ client: Client) {
        if case .stream(let session) = client.kind { stream?.close(session) }
        clients.removeAll { $0 === client }
    }

    private static func dropStaleClients(now: Instant) {
        for client in clients {
            if case .stream = client.kind { continue }  // the stream bounds its own clients
            if now.since(client.opened) > clientDeadline { client.connection.abort() }
        }
        for client in clients where client.connection.isFinished { forget(client) }
    }
}
