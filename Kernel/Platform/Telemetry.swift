/// The console side of the telemetry port on the admin NIC
/// (`telemetry-port` in the appliance file, 9100 by default), which the
/// appliance runs: its announcement and the log of admin actions.
enum Telemetry {
    static func start(_ appliance: Appliance) {
        guard let telemetry = appliance.telemetry else {
            console.line("telemetry: the port is taken; no metrics, stream or admin actions")
            return
        }
        appliance.actions.onAction = { action, peer, channel in
            report(action, peer: peer, channel: channel)
        }
        appliance.actions.onUnauthorized = { report in reportUnauthorized(report) }
        console.write("telemetry: admin port ")
        console.write(decimal: UInt64(telemetry.listener.port))
        console.write(": telemetry stream, GET /metrics; admin actions ")
        console.line(appliance.settings.adminToken.isEmpty ? "off (no admin token)" : "need the admin token")
    }

    /// Logs an admin action on the console; the stream tells its subscribers.
    private static func report(_ action: AdminActions.Action, peer: IPv4Address, channel: TelemetryProtocol.Channel) {
        console.beginLine()
        console.write("admin: ")
        switch action {
        case .state(let state, let service, let backend):
            LoadBalancer.writeName(service, backend, to: &console)
            console.write(" set to ")
            console.write(state.name)
        case .weight(let value, let service, let backend):
            LoadBalancer.writeName(service, backend, to: &console)
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
