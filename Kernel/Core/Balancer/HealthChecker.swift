/// Active health checks from the appliance's private address to each
/// backend every interval, over the kernel's own TCP client:
///
/// - TCP: a connect that reaches ESTABLISHED within the timeout passes
///   (and is closed at once).
/// - HTTP: the connect, then `METHOD PATH HTTP/1.0` with Host, User-Agent
///   and `Connection: close`; the check passes when the response's status
///   line arrives within the timeout and its code is in the expected
///   range. The connection is closed once the status line is read; the
///   rest of the response is never looked at.
///
/// Each finished check records its `HealthCheckOutcome` (and the status
/// code) with the balancer's rise/fall machine.
///
/// A check's latency is its exchange time: from the SYN leaving (the `now`
/// its `tick` was given) to the poll that received the SYN-ACK (TCP) or the
/// end of the status line (HTTP). The result is settled from the
/// connection's event, at that moment, not at the next tick, so the figure
/// does not depend on how often `tick` runs; only a timeout waits for a tick.
///
/// The checks never compete with clients for TCP connections: the checker
/// reserves `reservedConnections` of the layer's table, which only active
/// opens may take. Each probe holds at most one connection checking and one
/// closing: a close that stalls is reset after `min(timeout, interval)`
/// without progress, and at the latest when the probe's next check closes.
public final class HealthChecker {
    struct Probe {
        var service: LoadBalancer.Service
        var backend: LoadBalancer.Backend
        var nextCheck: Instant
        var connection: TCPConnection?
        /// When the check's SYN went out.
        var started = Instant.zero
        /// The request and response buffers, for a service checked over HTTP.
        let http: HTTPHealthProbe?
        /// The last passed check's connection while it closes.
        var closing: TCPConnection?
    }

    let balancer: LoadBalancer
    let tcp: TCPLayer
    let source: IPv4Address
    private var probes: [Probe] = []

    /// How many connection slots the checks can hold at once (two per
    /// probe), reserved in `tcp.configuration.reservedForActiveOpens`; at
    /// most half the table, so clients keep the other half.
    public var reservedConnections: Int {
        Swift.min(2 * probes.count, tcp.configuration.maximumConnections / 2)
    }

    public init(balancer: LoadBalancer, tcp: TCPLayer, source: IPv4Address, now: Instant) {
        self.balancer = balancer
        self.tcp = tcp
        self.source = source
        for service in balancer.services {
            for backend in service.backends {
                var http: HTTPHealthProbe?
                if case .http(let check) = service.configuration.health.kind {
                    http = HTTPHealthProbe(check, backend: backend.configuration.address, port: backend.configuration.port)
                }
                probes.append(Probe(service: service, backend: backend, nextCheck: now, http: http))
            }
        }
        tcp.configuration.reservedForActiveOpens = Swift.max(tcp.configuration.reservedForActiveOpens, reservedConnections)
    }

    /// Times out the checks past their timeout and starts the ones that are due.
    public func tick(now: Instant) {
        for index in probes.indices {
            if let closing = probes[index].closing, closing.isFinished { probes[index].closing = nil }
            if probes[index].connection != nil { settle(index, now: now) }
            guard probes[index].connection == nil, now >= probes[index].nextCheck else { continue }
            start(index, now: now)
        }
    }

    private func start(_ index: Int, now: Instant) {
        let probe = probes[index]
        let backend = probe.backend.configuration
        probes[index].nextCheck = now + probe.service.configuration.health.interval
        probes[index].started = now
        guard let connection = tcp.connect(from: source, to: backend.address, port: backend.port, now: now) else {
            balancer.recordCheck(service: probe.service, backend: probe.backend, outcome: .noConnection, latency: nil, now: now)
            return
        }
        probe.http?.reset()
        probes[index].connection = connection
        // The handler holds the checker only until the check settles: it is
        // dropped then, or by the layer when the connection ends.
        connection.onEvent = { [self] connection in
            guard probes[index].connection === connection else { return }
            settle(index, now: tcp.now)
        }
    }

    /// Records the check in flight on probe `index` if it has an outcome by `now`.
    private func settle(_ index: Int, now: Instant) {
        let probe = probes[index]
        guard let connection = probe.connection else { return }
        let health = probe.service.configuration.health
        let elapsed = now.since(probe.started)
        let progress = self.progress(of: probe, connection)
        var outcome = HealthCheckOutcome.timeout
        var statusCode: UInt16 = 0
        if elapsed < health.timeout {
            // Still in time: an answer counts, and without one the check waits.
            guard let progress else { return }
            (outcome, statusCode) = progress
        }
        connection.onEvent = nil
        probes[index].connection = nil
        if outcome == .passed || outcome == .badStatus {
            retire(index, connection, within: Swift.min(health.timeout, health.interval))
        } else if !connection.isFinished {
            connection.abort()
        }
        balancer.recordCheck(service: probe.service, backend: probe.backend, outcome: outcome, statusCode: statusCode,
                             latency: outcome == .passed ? elapsed : nil, now: now)
    }

    /// How the check on `connection` ended, with the status code it read;
    /// nil while it is under way. Sends the HTTP request and reads the
    /// response as far as the connection allows.
    private func progress(of probe: Probe, _ connection: TCPConnection) -> (HealthCheckOutcome, UInt16)? {
        let established = connection.state == .established || connection.state == .closeWait
        guard let http = probe.http else {
            if established { return (.passed, 0) }
            return connection.isFinished ? (Self.outcome(of: connection.error), 0) : nil
        }
        if established { http.send(on: connection) }
        switch http.receive(from: connection) {
        case .waiting:
            return connection.isFinished ? (Self.outcome(of: connection.error), 0) : nil
        case .status(let code):
            return (http.expects(code) ? .passed : .badStatus, code)
        case .malformed:
            return (.malformed, 0)
        case .ended:
            // A reset is a refusal; an orderly close before the status line ends is a malformed answer.
            return (connection.error.map(Self.outcome) ?? .malformed, 0)
        }
    }

    /// The outcome of a connection that ended with `error` before the check had its answer.
    private static func outcome(of error: TCPError?) -> HealthCheckOutcome {
        switch error {
        case .timedOut?, .idle?: .timeout
        case .reset?, .refused?, .aborted?, .limit?, nil: .refused
        }
    }

    /// Closes a checked connection in order, keeping at most one closing
    /// per probe: the previous one, if it still lingers, is reset.
    private func retire(_ index: Int, _ connection: TCPConnection, within limit: Interval) {
        if let previous = probes[index].closing, !previous.isFinished { previous.abort() }
        // A backend that never finishes the close cannot keep the slot long.
        connection.idleTimeout = limit
        connection.close()
        probes[index].closing = connection.isFinished ? nil : connection
    }
}
