/// Encodes the appliance's frames of the telemetry stream: the hello, the
/// schema (names, once per subscription), snapshots (values only, in schema
/// order) and events. docs/telemetry.md gives the byte layout.
public enum TelemetryEncoder {
    public static func hello(_ out: inout TelemetryFrameWriter, version: UInt8 = TelemetryProtocol.version,
                             applianceName: StaticString, uptime: Interval, adminEnabled: Bool) {
        out.begin(.hello)
        out.varint(UInt64(version))
        out.string(applianceName)
        out.millis(uptime)
        out.varint(adminEnabled ? TelemetryProtocol.adminEnabled : 0)
        out.end()
    }

    public static func error(_ out: inout TelemetryFrameWriter, _ code: TelemetryProtocol.ErrorCode, _ message: StaticString) {
        out.begin(.error)
        out.varint(UInt64(code.rawValue))
        out.string(message)
        out.end()
    }

    public static func result(_ out: inout TelemetryFrameWriter, request: UInt64, _ code: TelemetryProtocol.ResultCode,
                              _ message: [UInt8]) {
        out.begin(.result)
        out.varint(request)
        out.varint(UInt64(code.rawValue))
        out.string(message)
        out.end()
    }

    // MARK: Schema

    public static func schema(_ out: inout TelemetryFrameWriter, _ source: MetricsSource,
                              version: UInt8 = TelemetryProtocol.version) {
        let failover = version >= TelemetryProtocol.failoverVersion
        out.begin(.schema)
        let balancer = source.balancer
        var flags: UInt64 = 0
        if balancer != nil { flags |= TelemetryProtocol.hasBalancer }
        if source.firewall != nil { flags |= TelemetryProtocol.hasFirewall }
        if source.telemetry != nil { flags |= TelemetryProtocol.hasTelemetry }
        out.varint(flags)
        out.varint(source.stack.interfaces.count)
        for interface in source.stack.interfaces {
            out.string(interface.role.name)
            out.string(interface.device.model)
            out.address(interface.address)
        }
        names(&out, StackCounters.self)
        names(&out, TCPCounters.self)
        names(&out, DeviceCounters.self)
        if source.telemetry != nil { names(&out, TelemetryCounters.self) }
        if let balancer {
            names(&out, LoadBalancer.Counters.self)
            names(&out, ConnectionTracker.Counters.self)
            if failover { names(&out, CounterSet<TrafficStatistic>.self) }
            out.varint(balancer.tracker.capacity)
            out.varint(balancer.tracker.halfOpenLimit)
            out.varint(balancer.services.count)
            for service in balancer.services {
                let configuration = service.configuration
                out.string(configuration.name)
                out.varint(UInt64(configuration.port))
                out.string(configuration.algorithm.name)
                out.varint(configuration.maximumConnections)
                if failover { failoverSettings(&out, configuration) }
                out.varint(service.backends.count)
                for backend in service.backends {
                    out.string(backend.configuration.name)
                    out.address(backend.configuration.address)
                    out.varint(UInt64(backend.configuration.port))
                    out.varint(backend.configuration.weight)
                    out.varint(backend.configuration.maximumConnections)
                    if failover { out.flag(backend.configuration.backup) }
                }
            }
        }
        if let firewall = source.firewall {
            out.varint(firewall.rules.count)
            for (index, rule) in firewall.rules.enumerated() {
                out.string(source.ruleName(index))
                out.byte(rule.action.rawValue)
                out.byte((rule.log ? 1 : 0) | (rule.limit != nil ? 2 : 0))
            }
            for action in firewall.policies { out.byte(action.rawValue) }
        }
        out.end()
    }

    /// A service's retries, connect timeout, slow start and health check,
    /// e.g. `http GET /health expect 200`.
    private static func failoverSettings(_ out: inout TelemetryFrameWriter, _ configuration: ServiceConfiguration) {
        out.varint(configuration.retries)
        out.millis(configuration.connectTimeout)
        out.millis(configuration.slowStart)
        var check = ByteText()
        configuration.health.kind.write(to: &check)
        out.string(check.bytes)
    }

    // MARK: Snapshot

    /// A snapshot of every value the schema names. Rules hit at or after
    /// `rulesSince` are sent (all of them when it is nil), each with its
    /// index, so an idle rule set costs nothing per snapshot.
    public static func snapshot(_ out: inout TelemetryFrameWriter, _ source: MetricsSource,
                                version: UInt8 = TelemetryProtocol.version, sequence: UInt64, rulesSince: Instant?) {
        out.begin(.snapshot)
        out.varint(sequence)
        out.varint(rulesSince == nil ? TelemetryProtocol.allRules : 0)
        out.millis(source.uptime)
        out.varint(source.heapUsed)
        out.varint(source.heapFree)
        out.varint(source.heapPeak)
        out.micros(source.loopBusy)
        out.micros(source.loopIdle)
        for interface in source.stack.interfaces {
            out.flag(interface.device.linkUp)
            values(&out, interface.device.counters)
        }
        values(&out, source.stack.counters)
        values(&out, source.stack.tcp.counters)
        out.varint(source.stack.tcp.connectionCount)
        out.varint(source.stack.tcp.timeWaitCount)
        if let telemetry = source.telemetry { values(&out, telemetry) }
        if let balancer = source.balancer { balancerValues(&out, balancer, version: version, now: source.now) }
        if let firewall = source.firewall { firewallValues(&out, firewall, now: source.now, since: rulesSince) }
        out.end()
    }

    private static func balancerValues(_ out: inout TelemetryFrameWriter, _ balancer: LoadBalancer, version: UInt8, now: Instant) {
        let failover = version >= TelemetryProtocol.failoverVersion
        values(&out, balancer.counters)
        out.varint(balancer.tracker.count)
        out.varint(balancer.tracker.halfOpenCount)
        values(&out, balancer.tracker.counters)
        for service in balancer.services { statistics(&out, service.statistics, version: version) }
        for service in balancer.services {
            for backend in service.backends {
                let health = backend.health
                out.byte(health.status == .up ? 1 : 0)
                out.byte(backend.administrative.code)
                out.varint(backend.weight)
                statistics(&out, backend.statistics, version: version)
                out.varint(health.checkFailures)
                out.varint(health.consecutiveFailures)
                out.varint(health.lastLatency.map { $0.nanoseconds / 1_000 + 1 } ?? 0)
                out.millis(now.since(health.lastChange))
                guard failover else { continue }
                out.byte(health.lastOutcome.rawValue)
                out.varint(UInt64(health.lastStatusCode))
                out.byte(health.lastChangeCause.rawValue)
                out.varint(backend.slowStartPercent(over: service.configuration.slowStart, now: now).map { UInt64($0) + 1 } ?? 0)
            }
        }
    }

    /// A counter set's names, in declaration order: the schema's half of the set.
    private static func names<Key: CounterKey>(_ out: inout TelemetryFrameWriter, _ set: CounterSet<Key>.Type) {
        out.varint(set.count)
        for index in 0..<set.count { out.string(set.name(index)) }
    }

    /// A counter set's values, in the order `names` wrote them.
    private static func values<Key: CounterKey>(_ out: inout TelemetryFrameWriter, _ set: CounterSet<Key>) {
        set.forEach { _, value in out.varint(value) }
    }

    /// A service's or backend's traffic statistics: from version 3 every
    /// one, in the order the schema names them; version 2's fixed list before.
    private static func statistics(_ out: inout TelemetryFrameWriter, _ statistics: LoadBalancer.Statistics, version: UInt8) {
        let all = version >= TelemetryProtocol.failoverVersion
        var index = 0
        while let key = TrafficStatistic(rawValue: index) {
            if all || key.inVersion2 { out.varint(statistics[key]) }
            index += 1
        }
    }

    private static func firewallValues(_ out: inout TelemetryFrameWriter, _ firewall: Firewall, now: Instant, since: Instant?) {
        out.varint(firewall.invalidPackets)
        out.varint(firewall.logsSuppressed)
        for counters in firewall.policyCounters {
            out.varint(counters.packets)
            out.varint(counters.bytes)
        }
        // The entry count precedes the entries; count first, then write.
        var count = 0
        for counters in firewall.ruleCounters where since == nil || counters.lastHit.map({ $0 >= since! }) == true {
            count += 1
        }
        out.varint(count)
        var next = 0
        for index in firewall.ruleCounters.indices {
            let counters = firewall.ruleCounters[index]
            if let since { guard let hit = counters.lastHit, hit >= since else { continue } }
            out.varint(index - next)
            next = index + 1
            out.varint(counters.packets)
            out.varint(counters.bytes)
            out.varint(counters.rateLimited)
            out.varint(counters.lastHit.map { now.since($0).nanoseconds / 1_000_000 + 1 } ?? 0)
        }
    }

    // MARK: Events

    public static func event(_ out: inout TelemetryFrameWriter, _ event: TelemetryEvent,
                             version: UInt8 = TelemetryProtocol.version, uptime: Interval) {
        out.begin(.event)
        out.millis(uptime)
        out.varint(UInt64(event.kind.rawValue))
        switch event {
        case .backendStatus(let service, let backend, let up, let cause):
            out.varint(service)
            out.varint(backend)
            out.flag(up)
            if version >= TelemetryProtocol.failoverVersion {
                out.byte(cause.observation.rawValue)
                out.byte(cause.outcome.rawValue)
                out.varint(UInt64(cause.statusCode))
                out.varint(cause.failures)
            }
        case .checkFailed(let service, let backend, let consecutive):
            out.varint(service)
            out.varint(backend)
            out.varint(consecutive)
        case .administrative(let service, let backend, let state):
            out.varint(service)
            out.varint(backend)
            out.byte(state.code)
        case .weight(let service, let backend, let weight):
            out.varint(service)
            out.varint(backend)
            out.varint(weight)
        case .limitHit(let limit, let count):
            out.varint(UInt64(limit.rawValue))
            out.varint(count)
        case .unauthorizedAdmin(let report):
            // A limit-hit whose fields go on with the source and its failures in the current minute.
            out.varint(UInt64(TelemetryProtocol.Limit.unauthorizedAdmin.rawValue))
            out.varint(report.count)
            out.address(report.source)
            out.varint(report.lastMinute)
        case .adminAction(let action, let service, let backend, let weight, let peer, let channel):
            out.varint(UInt64(action.rawValue))
            out.varint(service + 1)
            out.varint(backend + 1)
            out.varint(weight)
            out.address(peer)
            out.varint(UInt64(channel.rawValue))
        }
        out.end()
    }
}

extension LoadBalancer.AdministrativeState {
    /// Its number in the telemetry stream.
    public var code: UInt8 {
        switch self {
        case .enabled: return 0
        case .draining: return 1
        case .disabled: return 2
        }
    }

    /// The state with stream number `code`, if any.
    public init?(code: UInt8) {
        guard let state = Self.allCases.first(where: { $0.code == code }) else { return nil }
        self = state
    }

    /// Its lower-case word, as Prometheus labels, `skerry stats`, smoke
    /// conditions and the host's JSON spell it (`name` is the console's).
    public var label: StaticString {
        switch self {
        case .enabled: return "enabled"
        case .draining: return "draining"
        case .disabled: return "disabled"
        }
    }
}
