import Foundation
#if canImport(KernelCore)
import KernelCore
#endif

/// `skerry stats --json`: one snapshot with everything keyed by its name, for
/// scripts (`jq '.backends["web/web2"].state'`). Backends are keyed
/// `service/backend`, rules by rule name, default policies `direction/interface`,
/// counters by the core's counter names; the schema and snapshot as the stream
/// carries them stay under `raw`.
public struct StatsDocument: Encodable {
    public struct NIC: Encodable {
        public var model: String
        public var address: String
        /// `up` or `down`.
        public var link: String
        public var counters: [String: UInt64]
    }

    public struct Service: Encodable {
        public var port: Int
        public var algorithm: String
        public var maximumConnections: Int
        public var backends: [String]
        public var traffic: [String: UInt64]
        /// Failover settings; absent from a version 2 appliance.
        public var retries: Int?
        public var connectTimeoutMilliseconds: UInt64?
        public var slowStartMilliseconds: UInt64?
        /// The health check, e.g. `tcp` or `http GET /health expect 200`.
        public var check: String?
    }

    public struct Backend: Encodable {
        /// The health checks' verdict, `UP` or `DOWN`.
        public var state: String
        /// `enabled`, `draining` or `disabled`: what an operator set.
        public var administrative: String
        public var weight: UInt64
        public var address: String
        public var port: Int
        public var maximumConnections: Int
        public var traffic: [String: UInt64]
        public var checkFailures: UInt64
        public var consecutiveFailures: UInt64
        public var checkLatencyMicroseconds: UInt64?
        public var stateAgeMilliseconds: UInt64
        /// Takes new connections only while no primary backend is eligible.
        public var backup: Bool
        /// The last check's reason: `ok`, `refused`, `timeout`, `bad status 503`, ...
        public var check: String?
        /// What last moved it UP or DOWN: `check` or `traffic`.
        public var statusCause: String?
        /// How far through its slow start (0-99); absent when not ramping.
        public var slowStartPercent: Int?
    }

    public struct ConnectionTable: Encodable {
        public var entries: UInt64
        public var capacity: Int
        public var halfOpen: UInt64
        public var halfOpenLimit: Int
    }

    public struct Rule: Encodable {
        public var action: String
        public var log: Bool
        public var limited: Bool
        public var packets: UInt64
        public var bytes: UInt64
        public var rateLimited: UInt64
        /// Nil (absent) when the rule never matched.
        public var lastHitAgeMilliseconds: UInt64?
    }

    public struct Policy: Encodable {
        public var action: String
        public var packets: UInt64
        public var bytes: UInt64
    }

    public struct Raw: Encodable {
        public var hello: Telemetry.Hello?
        public var schema: Telemetry.Schema?
        public var snapshot: Telemetry.Snapshot?
    }

    public var address: String
    public var appliance: String?
    public var sequence: UInt64?
    public var uptimeMilliseconds: UInt64?
    public var heap: [String: UInt64]?
    public var nics: [String: NIC] = [:]
    public var services: [String: Service] = [:]
    public var backends: [String: Backend] = [:]
    /// Each counter set by its name (`stack`, `tcp`, `balancer`, `conntrack`, `telemetry`), then each counter by its own.
    public var counters: [String: [String: UInt64]] = [:]
    public var connectionTable: ConnectionTable?
    public var rules: [String: Rule] = [:]
    public var policies: [String: Policy] = [:]
    public var raw: Raw

    public init(_ model: TelemetryModel, address: String) {
        self.address = address
        appliance = model.hello?.appliance
        raw = Raw(hello: model.hello, schema: model.schema, snapshot: model.snapshot)
        guard let schema = model.schema, let snapshot = model.snapshot else { return }
        sequence = snapshot.sequence
        uptimeMilliseconds = snapshot.uptimeMilliseconds
        heap = ["used": snapshot.heapUsed, "free": snapshot.heapFree, "peak": snapshot.heapPeak]
        for (nic, values) in zip(schema.nics, snapshot.nics) {
            nics[nic.role] = NIC(model: nic.model, address: nic.address, link: values.linkUp ? "up" : "down",
                                 counters: Self.named(schema.deviceCounters, values.counters))
        }
        var backendIndex = 0
        for (index, service) in schema.services.enumerated() {
            let traffic = index < snapshot.services.count ? Self.named(schema.trafficStatistics, snapshot.services[index]) : [:]
            services[service.name] = Service(port: service.port, algorithm: service.algorithm, maximumConnections: service.maximumConnections,
                                             backends: service.backends.map(\.name), traffic: traffic, retries: service.retries,
                                             connectTimeoutMilliseconds: service.connectTimeoutMilliseconds,
                                             slowStartMilliseconds: service.slowStartMilliseconds, check: service.check)
            for backend in service.backends {
                defer { backendIndex += 1 }
                guard backendIndex < snapshot.backends.count else { continue }
                let values = snapshot.backends[backendIndex]
                backends[service.name + "/" + backend.name] = Backend(
                    state: "\((values.up ? BackendHealth.Status.up : .down).name)", administrative: "\(values.administrative.label)",
                    weight: values.weight, address: backend.address, port: backend.port, maximumConnections: backend.maximumConnections,
                    traffic: Self.named(schema.trafficStatistics, values.traffic), checkFailures: values.checkFailures,
                    consecutiveFailures: values.consecutiveFailures, checkLatencyMicroseconds: values.checkLatencyMicroseconds,
                    stateAgeMilliseconds: values.stateAgeMilliseconds, backup: backend.backup, check: values.checkReason,
                    statusCause: values.statusCause.map { "\($0.name)" }, slowStartPercent: values.slowStartPercent)
            }
        }
        counters["stack"] = Self.named(schema.stackCounters, snapshot.stackCounters)
        counters["tcp"] = Self.named(schema.tcpCounters, snapshot.tcpCounters)
        if let balancer = snapshot.balancer { counters["balancer"] = Self.named(schema.balancerCounters, balancer) }
        if let telemetry = snapshot.telemetry { counters["telemetry"] = Self.named(schema.telemetryCounters, telemetry) }
        if let table = snapshot.connectionTable {
            counters["conntrack"] = Self.named(schema.conntrackCounters, table.counters)
            connectionTable = ConnectionTable(entries: table.entries, capacity: schema.connectionCapacity, halfOpen: table.halfOpen,
                                              halfOpenLimit: schema.halfOpenLimit)
        }
        if let firewall = snapshot.firewall {
            for (index, rule) in schema.rules.enumerated() {
                let values = firewall.rules[index] ?? Telemetry.RuleValues()
                rules[rule.name] = Rule(action: "\(rule.action.name)", log: rule.log, limited: rule.limited, packets: values.packets,
                                        bytes: values.bytes, rateLimited: values.rateLimited, lastHitAgeMilliseconds: values.lastHitAgeMilliseconds)
            }
            for (key, action) in zip(PolicyKey.allCases, schema.policies) where key.index < firewall.policies.count {
                let values = firewall.policies[key.index]
                policies["\(key.direction.name)/\(key.role.name)"] = Policy(action: "\(action.name)", packets: values.packets, bytes: values.bytes)
            }
        }
    }

    /// Pretty-printed JSON with sorted keys.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// The counters a schema names and this client knows, by name.
    static func named<Key: CounterKey>(_ names: CounterNames<Key>, _ set: CounterSet<Key>) -> [String: UInt64] {
        var result: [String: UInt64] = [:]
        for key in names.keys.compactMap({ $0 }) { result["\(key.name)"] = set[key] }
        return result
    }

    /// Every counter of a set the core defines in full (the balancer's per-service and per-backend figures).
    static func named<Key: CounterKey>(_ set: CounterSet<Key>) -> [String: UInt64] {
        var result: [String: UInt64] = [:]
        set.forEach { key, value in result["\(key.name)"] = value }
        return result
    }
}
