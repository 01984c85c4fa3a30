/// Active health checks: a TCP connect from the appliance's private address
/// to each backend every interval. A connection that reaches ESTABLISHED
/// within the timeout is a success (and is closed at once); a refusal, a
/// reset or the timeout is a failure. Results go to the balancer's rise/fall
/// machine.
///
/// A check's latency is its connect time: from the SYN leaving (the `now`
/// its `tick` was given) to the SYN-ACK being processed (the time of the
/// poll that received it). The result is settled from the connection's
/// event, at that moment, not at the next tick, so the figure does not
/// depend on how often `tick` runs; only a timeout waits for a tick.
///
/// The checks never compete with clients for TCP connections: the checker
/// reserves `reservedConnections` of the layer's table, which only active
/// opens may take, and a check's connection is reset if its close stalls,
/// so each probe holds at most one connection checking and one closing.
public final class HealthChecker {
    struct Probe {
        var service: LoadBalancer.Service
        var backend: LoadBalancer.Backend
        var nextCheck: Instant
        var connection: TCPConnection?
        /// When the check's SYN went out.
        var started = Instant.zero
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
                probes.append(Probe(service: service, backend: backend, nextCheck: now))
            }
        }
        tcp.configuration.reservedForActiveOpens = Swift.max(tcp.configuration.reservedForActiveOpens, reservedConnections)
    }

    /// Times out the checks past their timeout and starts the ones that are due.
    public func tick(now: Instant) {
        for index in probes.indices {
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
            balancer.recordCheck(service: probe.service, backend: probe.backend, success: false, latency: nil, now: now)
            return
        }
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
        let established = connection.state == .established || connection.state == .closeWait
        let success: Bool
        if established && elapsed < health.timeout {
            success = true
        } else if established || connection.isFinished || elapsed >= health.timeout {
            success = false
        } else {
            return
        }
        connection.onEvent = nil
        probes[index].connection = nil
        if success {
            // A backend that never finishes the close cannot keep the slot past one interval.
            connection.idleTimeout = Swift.min(health.timeout, health.interval)
            connection.close()
        } else if !connection.isFinished {
            connection.abort()
        }
        balancer.recordCheck(service: probe.service, backend: probe.backend, success: success,
                             latency: success ? elapsed : nil, now: now)
    }
}
