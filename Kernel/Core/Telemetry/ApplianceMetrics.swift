/// What `/metrics` reports, gathered from the running appliance.
public struct MetricsSource {
    public var now: Instant
    /// Time since boot.
    public var uptime: Interval
    public var heapUsed: UInt64
    public var heapFree: UInt64
    public var heapPeak: UInt64
    /// The event loop's time working and waiting since boot.
    public var loopBusy = Interval.zero
    public var loopIdle = Interval.zero
    public var stack: NetworkStack
    /// The balancer on the stack's inbound chain, if the appliance balances.
    public var balancer: LoadBalancer?
    public var firewall: Firewall?
    /// The telemetry port's counters, where it runs.
    public var telemetry: TelemetryCounters?
    /// The name of firewall rule `index`, as UTF-8 that outlives the scrape.
    public var ruleName: (Int) -> UnsafeBufferPointer<UInt8>

    public init(now: Instant, uptime: Interval, heapUsed: UInt64, heapFree: UInt64, heapPeak: UInt64, stack: NetworkStack,
                firewall: Firewall?, ruleName: @escaping (Int) -> UnsafeBufferPointer<UInt8>) {
        self.now = now
        self.uptime = uptime
        self.heapUsed = heapUsed
        self.heapFree = heapFree
        self.heapPeak = heapPeak
        self.stack = stack
        self.firewall = firewall
        self.ruleName = ruleName
    }
}

/// The appliance's state in Prometheus text format: every counter the
/// stack, TCP, the balancer and the firewall keep, with conventional names
/// (`skerry_…`, counters ending in `_total`) and labels.
public enum ApplianceMetrics {
    public static func write(_ source: MetricsSource) -> PrometheusText {
        var text = PrometheusText()
        system(&text, source)
        interfaces(&text, source.stack)
        stackAndTCP(&text, source.stack)
        if let balancer = source.balancer {
            services(&text, balancer)
            backends(&text, balancer, now: source.now)
            connectionTable(&text, balancer.tracker)
            text.family("skerry_balancer_events_total", .counter, "Packets the balancer dropped or refused, by reason.")
            balancer.counters.forEach { key, value in text.sample("skerry_balancer_events_total", .init("event", key.name), value) }
        }
        if let firewall = source.firewall { firewallCounters(&text, firewall, source) }
        if let telemetry = source.telemetry {
            text.family("skerry_telemetry_events_total", .counter, "The telemetry port's counters: clients, bounds, failed admin tokens.")
            telemetry.forEach { key, value in text.sample("skerry_telemetry_events_total", .init("event", key.name), value) }
        }
        return text
    }

    private static func system(_ text: inout PrometheusText, _ source: MetricsSource) {
        text.family("skerry_uptime_seconds", .gauge, "Time since boot.")
        text.sample("skerry_uptime_seconds", .init(), seconds: source.uptime)
        text.family("skerry_heap_bytes", .gauge, "Kernel heap bytes.")
        text.sample("skerry_heap_bytes", .init("kind", "used"), source.heapUsed)
        text.sample("skerry_heap_bytes", .init("kind", "free"), source.heapFree)
        text.sample("skerry_heap_bytes", .init("kind", "peak"), source.heapPeak)
    }

    private static func interfaces(_ text: inout PrometheusText, _ stack: NetworkStack) {
        let labels = stack.interfaces.map { PrometheusText.Labels("nic", $0.role.name).with("model", $0.device.model) }
        text.family("skerry_nic_link_up", .gauge, "1 if the NIC's link is up.")
        for (index, interface) in stack.interfaces.enumerated() {
            text.sample("skerry_nic_link_up", labels[index], interface.device.linkUp ? 1 : 0)
        }
        // Traffic counters each have a family; drops share one, labelled by the counter's name.
        DeviceCounters().forEach { key, _ in
            guard let family = key.trafficFamily else { return }
            text.family(family.name, .counter, family.help)
            for (index, interface) in stack.interfaces.enumerated() {
                text.sample(family.name, labels[index], interface.device.counters[key])
            }
        }
        text.family("skerry_nic_drops_total", .counter, "Driver drops.")
        for (index, interface) in stack.interfaces.enumerated() {
            interface.device.counters.forEach { key, value in
                if key.isDrop { text.sample("skerry_nic_drops_total", labels[index].with("reason", key.name), value) }
            }
        }
    }

    private static func stackAndTCP(_ text: inout PrometheusText, _ stack: NetworkStack) {
        text.family("skerry_stack_events_total", .counter, "The network stack's counters.")
        stack.counters.forEach { key, value in text.sample("skerry_stack_events_total", .init("event", key.name), value) }
        text.family("skerry_tcp_events_total", .counter, "The kernel TCP's counters.")
        stack.tcp.counters.forEach { key, value in text.sample("skerry_tcp_events_total", .init("event", key.name), value) }
        text.family("skerry_tcp_connections", .gauge, "Kernel TCP connections.")
        text.sample("skerry_tcp_connections", .init("state", "open"), UInt64(stack.tcp.connectionCount))
        text.sample("skerry_tcp_connections", .init("state", "time-wait"), UInt64(stack.tcp.timeWaitCount))
    }

    /// The backend families that are not traffic statistics.
    private enum BackendValue: CaseIterable {
        case up, weight, limit, checkFailures, backup, checkStatusCode

        var family: (StaticString, PrometheusText.Kind, StaticString) {
            switch self {
            case .up: ("skerry_backend_up", .gauge, "1 if healthy.")
            case .weight: ("skerry_backend_weight", .gauge, "The backend's weight.")
            case .limit: ("skerry_backend_connection_limit", .gauge, "Connection limit (0: none).")
            case .checkFailures: ("skerry_backend_check_failures_total", .counter, "Failed health checks.")
            case .backup: ("skerry_backend_backup", .gauge, "1 for a backup backend.")
            case .checkStatusCode: ("skerry_backend_check_status_code", .gauge, "HTTP status of the last check (0: none).")
            }
        }

        func value(_ backend: LoadBalancer.Backend) -> UInt64 {
            switch self {
            case .up: backend.health.status == .up ? 1 : 0
            case .weight: UInt64(backend.weight)
            case .limit: UInt64(backend.configuration.maximumConnections)
            case .checkFailures: backend.health.checkFailures
            case .backup: backend.configuration.backup ? 1 : 0
            case .checkStatusCode: UInt64(backend.health.lastStatusCode)
            }
        }
    }

    private static func services(_ text: inout PrometheusText, _ balancer: LoadBalancer) {
        let labels = balancer.services.map { PrometheusText.Labels("service", $0.configuration.name) }
        for key in TrafficStatistic.allCases {
            guard let (name, kind, help) = key.serviceFamily else { continue }
            text.family(name, kind, help)
            for (index, service) in balancer.services.enumerated() {
                text.sample(name, labels[index], service.statistics[key])
            }
        }
        traffic(&text, "skerry_service_bytes_total", "skerry_service_packets_total", labels,
                balancer.services.map { $0.statistics })
    }

    private static func backends(_ text: inout PrometheusText, _ balancer: LoadBalancer, now: Instant) {
        var labels: [PrometheusText.Labels] = []
        var backends: [LoadBalancer.Backend] = []
        var owners: [LoadBalancer.Service] = []
        for service in balancer.services {
            for backend in service.backends {
                owners.append(service)
                labels.append(PrometheusText.Labels("service", service.configuration.name).with("backend", backend.configuration.name))
                backends.append(backend)
            }
        }
        for field in BackendValue.allCases {
            let (name, kind, help) = field.family
            text.family(name, kind, help)
            for (index, backend) in backends.enumerated() { text.sample(name, labels[index], field.value(backend)) }
        }
        for key in TrafficStatistic.allCases {
            guard let (name, kind, help) = key.backendFamily else { continue }
            text.family(name, kind, help)
            for (index, backend) in backends.enumerated() { text.sample(name, labels[index], backend.statistics[key]) }
        }
        text.family("skerry_backend_check_outcome", .gauge, "1 for how the last health check ended.")
        for (index, backend) in backends.enumerated() {
            for outcome in HealthCheckOutcome.allCases {
                text.sample("skerry_backend_check_outcome", labels[index].with("outcome", outcome.name),
                            backend.health.lastOutcome == outcome ? 1 : 0)
            }
        }
        text.family("skerry_backend_status_cause", .gauge, "1 for what last moved it UP or DOWN.")
        for (index, backend) in backends.enumerated() {
            for cause in HealthObservation.allCases {
                text.sample("skerry_backend_status_cause", labels[index].with("cause", cause.name),
                            backend.health.lastChangeCause == cause ? 1 : 0)
            }
        }
        text.family("skerry_backend_slow_start_ratio", .gauge, "How far through its slow start (1: not ramping).")
        for (index, backend) in backends.enumerated() {
            let percent = backend.slowStartPercent(over: owners[index].configuration.slowStart, now: now) ?? 100
            text.sample("skerry_backend_slow_start_ratio", labels[index], fixedPoint: UInt64(percent), fractionDigits: 2)
        }
        text.family("skerry_backend_admin_state", .gauge, "1 for the operator's setting.")
        for (index, backend) in backends.enumerated() {
            for state in LoadBalancer.AdministrativeState.allCases {
                text.sample("skerry_backend_admin_state", labels[index].with("state", state.label), backend.administrative == state ? 1 : 0)
            }
        }
        text.family("skerry_backend_check_latency_seconds", .gauge, "Last successful check's latency.")
        for (index, backend) in backends.enumerated() {
            if let latency = backend.health.lastLatency { text.sample("skerry_backend_check_latency_seconds", labels[index], seconds: latency) }
        }
        text.family("skerry_backend_state_age_seconds", .gauge, "Time since its health changed.")
        for (index, backend) in backends.enumerated() {
            text.sample("skerry_backend_state_age_seconds", labels[index], seconds: now.since(backend.health.lastChange))
        }
        traffic(&text, "skerry_backend_bytes_total", "skerry_backend_packets_total", labels, backends.map { $0.statistics })
    }

    /// Bytes and packets each way, for services or backends.
    private static func traffic(_ text: inout PrometheusText, _ bytes: StaticString, _ packets: StaticString,
                                _ labels: [PrometheusText.Labels], _ statistics: [LoadBalancer.Statistics]) {
        text.family(bytes, .counter, "Bytes forwarded.")
        for index in statistics.indices {
            text.sample(bytes, labels[index].with("direction", "to-backend"), statistics[index].bytesToBackend)
            text.sample(bytes, labels[index].with("direction", "to-client"), statistics[index].bytesToClient)
        }
        text.family(packets, .counter, "Packets forwarded.")
        for index in statistics.indices {
            text.sample(packets, labels[index].with("direction", "to-backend"), statistics[index].packetsToBackend)
            text.sample(packets, labels[index].with("direction", "to-client"), statistics[index].packetsToClient)
        }
    }

    private static func connectionTable(_ text: inout PrometheusText, _ tracker: ConnectionTracker) {
        text.family("skerry_conntrack_entries", .gauge, "Flows tracked.")
        text.sample("skerry_conntrack_entries", .init(), UInt64(tracker.count))
        text.family("skerry_conntrack_capacity", .gauge, "Flows trackable.")
        text.sample("skerry_conntrack_capacity", .init(), UInt64(tracker.capacity))
        text.family("skerry_conntrack_half_open", .gauge, "Flows whose handshake has not completed.")
        text.sample("skerry_conntrack_half_open", .init(), UInt64(tracker.halfOpenCount))
        text.family("skerry_conntrack_half_open_limit", .gauge, "Half-open flows tracked at most.")
        text.sample("skerry_conntrack_half_open_limit", .init(), UInt64(tracker.halfOpenLimit))
        text.family("skerry_conntrack_events_total", .counter, "Connection table events.")
        tracker.counters.forEach { key, value in text.sample("skerry_conntrack_events_total", .init("event", key.name), value) }
    }

    private static func firewallCounters(_ text: inout PrometheusText, _ firewall: Firewall, _ source: MetricsSource) {
        @inline(never) func each(_ body: (PrometheusText.Labels, Firewall.RuleCounters) -> Void) {
            for index in firewall.rules.indices {
                body(PrometheusText.Labels("rule", source.ruleName(index)).with("action", firewall.rules[index].action.name),
                     firewall.ruleCounters[index])
            }
        }
        text.family("skerry_firewall_rule_packets_total", .counter, "Packets per rule.")
        each { labels, counters in text.sample("skerry_firewall_rule_packets_total", labels, counters.packets) }
        text.family("skerry_firewall_rule_bytes_total", .counter, "Bytes per rule.")
        each { labels, counters in text.sample("skerry_firewall_rule_bytes_total", labels, counters.bytes) }
        text.family("skerry_firewall_rule_rate_limited_total", .counter, "Matches over the rule's limit.")
        each { labels, counters in text.sample("skerry_firewall_rule_rate_limited_total", labels, counters.rateLimited) }
        text.family("skerry_firewall_policy_packets_total", .counter, "Packets the default policy decided.")
        for key in PolicyKey.allCases {
            let labels = PrometheusText.Labels("direction", key.direction.name).with("interface", key.role.name)
                .with("action", firewall.policies[key.index].name)
            text.sample("skerry_firewall_policy_packets_total", labels, firewall.policyCounters[key.index].packets)
        }
        text.family("skerry_firewall_invalid_packets_total", .counter, "Unclassifiable packets dropped.")
        text.sample("skerry_firewall_invalid_packets_total", .init(), firewall.invalidPackets)
    }
}

extension TrafficStatistic {
    /// Its Prometheus family for services, and for backends: nil where it is
    /// not reported at that level, or where the byte and packet families
    /// (labelled by direction) carry it.
    var serviceFamily: (StaticString, PrometheusText.Kind, StaticString)? {
        switch self {
        case .activeConnections: ("skerry_service_connections_active", .gauge, "Open balanced connections.")
        case .totalConnections: ("skerry_service_connections_total", .counter, "Connections balanced.")
        case .refusedConnections: ("skerry_service_connections_refused_total", .counter, "Connections refused.")
        case .failedConnects: ("skerry_service_failed_connects_total", .counter, "Connections every backend tried failed.")
        case .redispatched: ("skerry_service_redispatched_total", .counter, "Connections moved to another backend.")
        case .connectRefused: ("skerry_service_connect_refused_total", .counter, "SYNs a backend refused.")
        case .connectTimeouts: ("skerry_service_connect_timeouts_total", .counter, "SYNs a backend left unanswered.")
        case .connectionRate: ("skerry_service_connection_rate", .gauge, "New connections per second.")
        case .maximumConnectionsSeen, .packetsToBackend, .bytesToBackend, .packetsToClient, .bytesToClient: nil
        }
    }

    var backendFamily: (StaticString, PrometheusText.Kind, StaticString)? {
        switch self {
        case .activeConnections: ("skerry_backend_connections_active", .gauge, "Open balanced connections.")
        case .maximumConnectionsSeen: ("skerry_backend_connections_max", .gauge, "Most connections open at once.")
        case .totalConnections: ("skerry_backend_connections_total", .counter, "Connections balanced.")
        case .failedConnects: ("skerry_backend_failed_connects_total", .counter, "Connections whose client got the reset.")
        case .redispatched: ("skerry_backend_redispatched_total", .counter, "Connections moved from it to another backend.")
        case .connectRefused: ("skerry_backend_connect_refused_total", .counter, "SYNs it refused.")
        case .connectTimeouts: ("skerry_backend_connect_timeouts_total", .counter, "SYNs it left unanswered.")
        case .refusedConnections, .connectionRate, .packetsToBackend, .bytesToBackend, .packetsToClient, .bytesToClient: nil
        }
    }
}
