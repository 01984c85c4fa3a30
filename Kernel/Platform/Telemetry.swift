/// The telemetry port on the admin NIC (`telemetry-port` in the appliance
/// file, 9100 by default): the kernel's wiring of the core's
/// `TelemetryServer` (clients, protocols, limits) to the admin NIC, the
/// clock, the event loop and the console.
enum Telemetry {
    nonisolated(unsafe) static var server: TelemetryServer?
    nonisolated(unsafe) static var stream: TelemetryStream?
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
        actions.onUnauthorized = { report in reportUnauthorized(report) }
        self.loop = loop
        let http = MetricsHTTP { ApplianceMetrics.write(source(stack)).bytes }
        let stream = TelemetryStream(applianceName: ApplianceConfiguration.name, actions: actions) { source(stack) }
        self.stream = stream
        let server = TelemetryServer(listener: listener, stream: stream, http: http) { Clock.now() }
        self.server = server
        loop.repeating(every: .milliseconds(100)) { server.tick(now: Clock.now()) }
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
        source.telemetry = stream?.counters
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

    /// A source's failed admin tokens, at most once per source every
    /// `TokenFailureLimiter.reportInterval`.
    private static func reportUnauthorized(_ report: TokenFailureLimiter.Report) {
        console.beginLine()
        console.write("admin: unauthorized admin action from ")
        report.source.write(to: &console)
        console.write(" (")
        console.write(decimal: report.lastMinute)
        console.line(" in the last minute)")
    }
}
