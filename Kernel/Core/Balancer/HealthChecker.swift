/// Active health checks: a TCP connect from the appliance's private address
/// to each backend every interval. A connection that reaches ESTABLISHED in
/// time is a success (and is closed at once); a refusal, a reset or the
/// timeout is a failure. Results go to the balancer's rise/fall machine.
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

    /// Starts the checks that are due and settles the ones in flight.
    public func tick(now: Instant) {
        for index in probes.indices {
            var probe = probes[index]
            let health = probe.service.configuration.health
            if let connection = probe.connection {
                if connection.state == .established || connection.state == .closeWait {
                    balancer.recordCheck(service: probe.service, backend: probe.backend, success: true,
                                         latency: now.since(probe.started), now: now)
                    // A backend that never finishes the close cannot keep the slot past one interval.
                    connection.idleTimeout = Swift.min(health.timeout, health.interval)
                    connection.close()
                    probe.connection = nil
                } else if connection.isFinished || now.since(probe.started) >= health.timeout {
                    if !connection.isFinished { connection.abort() }
                    balancer.recordCheck(service: probe.service, backend: probe.backend, success: false, latency: nil, now: now)
                    probe.connection = nil
                }
            }
            if probe.connection == nil && now >= probe.nextCheck {
                probe.nextCheck = now + health.interval
                probe.started = now
                let backend = probe.backend.configuration
                probe.connection = tcp.connect(from: source, to: backend.address, port: backend.port, now: now)
                if probe.connection == nil {
                    balancer.recordCheck(service: probe.service, backend: probe.backend, success: false, latency: nil, now: now)
                }
            }
            probes[index] = probe
        }
    }
}
