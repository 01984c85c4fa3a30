#if canImport(KernelCore)
import KernelCore  // the protocol's numbers; the fuzz build compiles the core into one module
#endif

/// Splits the bytes of a telemetry stream into frames and decodes them.
/// Feed it whatever arrives with `append`; `next` returns each complete
/// message. Garbage, truncation and wrong versions throw
/// `TelemetryStreamError`; nothing the appliance sends can crash it.
public struct TelemetryDecoder {
    /// The longest frame accepted: a schema for tens of thousands of rules fits.
    public static let maximumFrameLength = 16 << 20

    private var buffer: [UInt8] = []
    private var start = 0
    private var sawHello = false
    /// The version the appliance chose in its hello; later frames are read as that version.
    public private(set) var version = Int(TelemetryProtocol.version)
    /// The schema snapshots are read against: the last one received.
    public private(set) var schema: Telemetry.Schema?

    public init() {}

    /// The hello a client sends first: `SKTP`, then the versions it speaks.
    public static var clientHello: [UInt8] { clientHello(versions: TelemetryProtocol.oldestVersion...TelemetryProtocol.version) }

    /// A hello offering `versions`.
    public static func clientHello(versions: ClosedRange<UInt8>) -> [UInt8] {
        let magic = TelemetryProtocol.magic
        return [magic.0, magic.1, magic.2, magic.3, versions.lowerBound, versions.upperBound]
    }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete message, or nil until more bytes arrive.
    public mutating func next() throws(TelemetryStreamError) -> Telemetry.Message? {
        let available = buffer.count - start
        if !sawHello, available >= 1 {
            // The first frame is a hello or an error; anything else is not this protocol.
            let type = buffer[start]
            guard type == TelemetryProtocol.MessageType.hello.rawValue || type == TelemetryProtocol.MessageType.error.rawValue
            else { throw .notTelemetry }
        }
        guard available >= TelemetryProtocol.frameHeaderLength else { return nil }
        let length = (1...4).reduce(0) { $0 << 8 | Int(buffer[start + $1]) }
        guard length <= Self.maximumFrameLength else { throw .frameTooLarge(length) }
        guard available >= TelemetryProtocol.frameHeaderLength + length else { return nil }
        let type = buffer[start]
        let payload = Array(buffer[(start + TelemetryProtocol.frameHeaderLength)..<(start + TelemetryProtocol.frameHeaderLength + length)])
        start += TelemetryProtocol.frameHeaderLength + length
        if start > 1 << 20 {
            buffer.removeFirst(start)
            start = 0
        }
        let message = try decode(type: type, payload: payload)
        switch message {
        case .hello(let hello):
            sawHello = true
            version = hello.version
        case .schema(let schema): self.schema = schema
        default: break
        }
        return message
    }

    private func decode(type: UInt8, payload: [UInt8]) throws(TelemetryStreamError) -> Telemetry.Message {
        switch TelemetryProtocol.MessageType(rawValue: type) {
        case .hello:
            var reader = TelemetryFieldReader(payload, message: "hello")
            let version = try reader.varint("version")
            guard UInt64(TelemetryProtocol.oldestVersion)...UInt64(TelemetryProtocol.version) ~= version else {
                throw .unsupportedVersion(Int(min(version, 1 << 31)))
            }
            return .hello(Telemetry.Hello(
                version: Int(version), appliance: try reader.string("appliance name"),
                uptimeMilliseconds: try reader.varint("uptime"),
                adminEnabled: try reader.varint("flags") & TelemetryProtocol.adminEnabled != 0))
        case .error:
            var reader = TelemetryFieldReader(payload, message: "error")
            let code = try reader.count("code", limit: 255)
            let text = try reader.string("message")
            throw .refused(code: code, message: text)
        case .schema:
            return .schema(try Self.decodeSchema(payload, version: version))
        case .snapshot:
            guard let schema else { throw .snapshotWithoutSchema }
            return .snapshot(try Self.decodeSnapshot(payload, schema: schema, version: version))
        case .event:
            return .event(try Self.decodeEvent(payload, version: version))
        case .result:
            var reader = TelemetryFieldReader(payload, message: "result")
            let request = try reader.varint("request id")
            let code = try reader.count("code", limit: 255)
            guard let known = Telemetry.AdminResult.Code(rawValue: UInt8(code)) else { throw .malformed(message: "result", field: "code") }
            return .result(Telemetry.AdminResult(request: request, code: known, message: try reader.string("message")))
        default:
            throw .unknownMessage(type)
        }
    }

    static func decodeSchema(_ payload: [UInt8], version: Int = Int(TelemetryProtocol.version))
        throws(TelemetryStreamError) -> Telemetry.Schema
    {
        let failover = version >= Int(TelemetryProtocol.failoverVersion)
        var reader = TelemetryFieldReader(payload, message: "schema")
        var schema = Telemetry.Schema()
        let flags = try reader.varint("flags")
        schema.hasBalancer = flags & TelemetryProtocol.hasBalancer != 0
        schema.hasFirewall = flags & TelemetryProtocol.hasFirewall != 0
        schema.hasTelemetry = flags & TelemetryProtocol.hasTelemetry != 0
        // Counts are bounded by what the rest of the frame could hold, so garbage cannot ask for huge arrays.
        let limit = payload.count
        for _ in 0..<(try reader.count("NIC count", limit: limit)) {
            schema.nics.append(.init(role: try reader.string("NIC role"), model: try reader.string("NIC model"),
                                     address: try reader.address("NIC address")))
        }
        schema.stackCounters = try counterNames(&reader, "stack counter", limit: limit)
        schema.tcpCounters = try counterNames(&reader, "TCP counter", limit: limit)
        schema.deviceCounters = try counterNames(&reader, "NIC counter", limit: limit)
        if schema.hasTelemetry { schema.telemetryCounters = try counterNames(&reader, "telemetry counter", limit: limit) }
        if schema.hasBalancer {
            schema.balancerCounters = try counterNames(&reader, "balancer counter", limit: limit)
            schema.conntrackCounters = try counterNames(&reader, "conntrack counter", limit: limit)
            schema.trafficStatistics = failover
                ? try counterNames(&reader, "traffic statistic", limit: limit)
                : CounterNames(TrafficStatistic.allCases.filter(\.inVersion2).map { "\($0.name)" })
            schema.connectionCapacity = try reader.count("connection capacity", limit: Int.max)
            schema.halfOpenLimit = try reader.count("half-open limit", limit: Int.max)
            for _ in 0..<(try reader.count("service count", limit: limit)) {
                let name = try reader.string("service name")
                let port = try reader.count("service port", limit: 65535)
                let algorithm = try reader.string("algorithm")
                let maximum = try reader.count("service limit", limit: Int.max)
                var service = Telemetry.Schema.Service(name: name, port: port, algorithm: algorithm, maximumConnections: maximum,
                                                       backends: [])
                if failover {
                    service.retries = try reader.count("retries", limit: Int.max)
                    service.connectTimeoutMilliseconds = try reader.varint("connect timeout")
                    service.slowStartMilliseconds = try reader.varint("slow start")
                    service.check = try reader.string("health check")
                }
                for _ in 0..<(try reader.count("backend count", limit: limit)) {
                    var backend = Telemetry.Schema.Backend(
                        name: try reader.string("backend name"), address: try reader.address("backend address"),
                        port: try reader.count("backend port", limit: 65535), weight: try reader.count("backend weight", limit: Int.max),
                        maximumConnections: try reader.count("backend limit", limit: Int.max))
                    if failover { backend.backup = try reader.flag("backup") }
                    service.backends.append(backend)
                }
                schema.services.append(service)
            }
        }
        if schema.hasFirewall {
            for _ in 0..<(try reader.count("rule count", limit: limit)) {
                let name = try reader.string("rule name")
                let action = try reader.byte("rule action")
                let flags = try reader.byte("rule flags")
                guard let known = FirewallAction(rawValue: action) else { throw .malformed(message: "schema", field: "rule action") }
                schema.rules.append(.init(name: name, action: known, log: flags & 1 != 0, limited: flags & 2 != 0))
            }
            for _ in 0..<6 {
                guard let action = FirewallAction(rawValue: try reader.byte("policy")) else {
                    throw .malformed(message: "schema", field: "policy")
                }
                schema.policies.append(action)
            }
        }
        return schema
    }

    static func decodeSnapshot(_ payload: [UInt8], schema: Telemetry.Schema, version: Int = Int(TelemetryProtocol.version))
        throws(TelemetryStreamError) -> Telemetry.Snapshot
    {
        var reader = TelemetryFieldReader(payload, message: "snapshot")
        var snapshot = Telemetry.Snapshot()
        snapshot.sequence = try reader.varint("sequence")
        snapshot.allRules = try reader.varint("flags") & TelemetryProtocol.allRules != 0
        snapshot.uptimeMilliseconds = try reader.varint("uptime")
        snapshot.heapUsed = try reader.varint("heap used")
        snapshot.heapFree = try reader.varint("heap free")
        snapshot.heapPeak = try reader.varint("heap peak")
        snapshot.loopBusyMicroseconds = try reader.varint("loop busy time")
        snapshot.loopIdleMicroseconds = try reader.varint("loop idle time")
        for _ in schema.nics {
            snapshot.nics.append(.init(linkUp: try reader.flag("link state"),
                                       counters: try counterValues(&reader, schema.deviceCounters, "NIC counter")))
        }
        snapshot.stackCounters = try counterValues(&reader, schema.stackCounters, "stack counter")
        snapshot.tcpCounters = try counterValues(&reader, schema.tcpCounters, "TCP counter")
        snapshot.tcpOpen = try reader.varint("TCP connections")
        snapshot.tcpTimeWait = try reader.varint("TCP time-wait")
        if schema.hasTelemetry { snapshot.telemetry = try counterValues(&reader, schema.telemetryCounters, "telemetry counter") }
        if schema.hasBalancer {
            snapshot.balancer = try counterValues(&reader, schema.balancerCounters, "balancer counter")
            snapshot.connectionTable = .init(
                entries: try reader.varint("conntrack entries"), halfOpen: try reader.varint("conntrack half-open entries"),
                counters: try counterValues(&reader, schema.conntrackCounters, "conntrack counter"))
            for _ in schema.services {
                snapshot.services.append(try counterValues(&reader, schema.trafficStatistics, "traffic statistic"))
            }
            for _ in schema.services.flatMap(\.backends) {
                var backend = Telemetry.BackendValues()
                backend.up = try reader.flag("backend health")
                guard let state = LoadBalancer.AdministrativeState(code: try reader.byte("administrative state")) else {
                    throw .malformed(message: "snapshot", field: "administrative state")
                }
                backend.administrative = state
                backend.weight = try reader.varint("weight")
                backend.traffic = try counterValues(&reader, schema.trafficStatistics, "traffic statistic")
                backend.checkFailures = try reader.varint("check failures")
                backend.consecutiveFailures = try reader.varint("consecutive failures")
                let latency = try reader.varint("check latency")
                backend.checkLatencyMicroseconds = latency == 0 ? nil : latency - 1
                backend.stateAgeMilliseconds = try reader.varint("state age")
                if version >= Int(TelemetryProtocol.failoverVersion) {
                    backend.checkOutcome = HealthCheckOutcome(rawValue: try reader.byte("check outcome"))
                    backend.checkStatusCode = UInt16(try reader.count("check status", limit: Int(UInt16.max)))
                    backend.statusCause = HealthObservation(rawValue: try reader.byte("status cause"))
                    let ramp = try reader.count("slow start", limit: 100)
                    backend.slowStartPercent = ramp == 0 ? nil : ramp - 1
                }
                snapshot.backends.append(backend)
            }
        }
        if schema.hasFirewall {
            var firewall = Telemetry.FirewallValues()
            firewall.invalidPackets = try reader.varint("invalid packets")
            firewall.logsSuppressed = try reader.varint("logs suppressed")
            for _ in 0..<6 {
                firewall.policies.append(.init(packets: try reader.varint("policy packets"), bytes: try reader.varint("policy bytes")))
            }
            let count = try reader.count("rule entry count", limit: schema.rules.count)
            var next = 0
            for _ in 0..<count {
                let gap = try reader.count("rule index", limit: schema.rules.count)
                let index = next + gap
                guard index < schema.rules.count else { throw .malformed(message: "snapshot", field: "rule index") }
                next = index + 1
                let packets = try reader.varint("rule packets")
                let bytes = try reader.varint("rule bytes")
                let limited = try reader.varint("rule rate-limited")
                let age = try reader.varint("rule last hit")
                firewall.rules[index] = .init(packets: packets, bytes: bytes, rateLimited: limited,
                                              lastHitAgeMilliseconds: age == 0 ? nil : age - 1)
            }
            snapshot.firewall = firewall
        }
        return snapshot
    }

    /// A counter set's names, each looked up in the core's enum.
    /// Names one counter set's schema may list: room for appliances with
    /// many more counters than this client knows, while a hostile schema
    /// cannot make the client look up millions of names.
    static let maximumCounterNames = 4 * CounterSet<StackCounter>.capacity

    private static func counterNames<Key: CounterKey>(_ reader: inout TelemetryFieldReader, _ field: String, limit: Int)
        throws(TelemetryStreamError) -> CounterNames<Key>
    {
        var names = CounterNames<Key>()
        let count = try reader.count(field + " count", limit: min(limit, maximumCounterNames))
        let nameField = field + " name"
        for _ in 0..<count { names.append(try reader.string(nameField)) }
        return names
    }

    /// One value per name of `names`, in its order; values of names this client does not know are skipped.
    private static func counterValues<Key: CounterKey>(_ reader: inout TelemetryFieldReader, _ names: CounterNames<Key>,
                                                       _ field: String) throws(TelemetryStreamError) -> CounterSet<Key> {
        var set = CounterSet<Key>()
        for key in names.keys {
            let value = try reader.varint(field)
            if let key { set[key] = value }
        }
        return set
    }

    /// The core's limit names, by number.
    static let limitNames: [UInt8: String] = Dictionary(uniqueKeysWithValues: TelemetryProtocol.Limit.allCases.map {
        ($0.rawValue, "\($0.name)")
    })

    static func decodeEvent(_ payload: [UInt8], version: Int = Int(TelemetryProtocol.version))
        throws(TelemetryStreamError) -> Telemetry.Event
    {
        var reader = TelemetryFieldReader(payload, message: "event")
        let uptime = try reader.varint("uptime")
        let kind = try reader.varint("kind")
        let index = Int(Int32.max)
        switch (TelemetryProtocol.EventKind(rawValue: UInt8(truncatingIfNeeded: kind)), kind <= 255) {
        case (.backendStatus?, true):
            let service = try reader.count("service", limit: index)
            let backend = try reader.count("backend", limit: index)
            let up = try reader.flag("status")
            var cause: BackendStatusCause?
            if version >= Int(TelemetryProtocol.failoverVersion) {
                let observation = try reader.byte("cause")
                let outcome = try reader.byte("check outcome")
                let status = try reader.count("check status", limit: Int(UInt16.max))
                let failures = try reader.varint("failures")
                // An observation or outcome this client does not know leaves the cause unsaid.
                if let observation = HealthObservation(rawValue: observation), let outcome = HealthCheckOutcome(rawValue: outcome) {
                    cause = BackendStatusCause(observation: observation, outcome: outcome, statusCode: UInt16(status), failures: failures)
                }
            }
            return .init(uptimeMilliseconds: uptime, kind: .backendStatus(service: service, backend: backend, up: up, cause: cause))
        case (.checkFailed?, true):
            return .init(uptimeMilliseconds: uptime, kind: .checkFailed(
                service: try reader.count("service", limit: index), backend: try reader.count("backend", limit: index),
                consecutive: try reader.varint("consecutive failures")))
        case (.administrative?, true):
            let service = try reader.count("service", limit: index)
            let backend = try reader.count("backend", limit: index)
            guard let state = LoadBalancer.AdministrativeState(code: try reader.byte("state")) else {
                throw .malformed(message: "event", field: "state")
            }
            return .init(uptimeMilliseconds: uptime, kind: .administrative(service: service, backend: backend, state: state))
        case (.weight?, true):
            return .init(uptimeMilliseconds: uptime, kind: .weight(
                service: try reader.count("service", limit: index), backend: try reader.count("backend", limit: index),
                weight: try reader.varint("weight")))
        case (.limitHit?, true):
            let limit = try reader.count("limit", limit: 255)
            let count = try reader.varint("count")
            let name = limitNames[UInt8(limit)] ?? "limit-\(limit)"
            guard limit == Int(TelemetryProtocol.Limit.unauthorizedAdmin.rawValue), !reader.atEnd else {
                return .init(uptimeMilliseconds: uptime, kind: .limitHit(limit: name, count: count))
            }
            // unauthorized-admin goes on with its source and its failures in the current minute.
            let source = try reader.address("source")
            let lastMinute = try reader.varint("failures in the last minute")
            return .init(uptimeMilliseconds: uptime, kind: .limitHit(limit: name, count: count, source: source, lastMinute: lastMinute))
        case (.adminAction?, true):
            guard let action = Telemetry.AdminAction(rawValue: UInt8(try reader.count("action", limit: 255))) else {
                throw .malformed(message: "event", field: "action")
            }
            let service = try reader.count("service", limit: index)
            let backend = try reader.count("backend", limit: index)
            let weight = try reader.varint("weight")
            let peer = try reader.address("peer")
            let channel = try reader.count("channel", limit: 255)
            return .init(uptimeMilliseconds: uptime, kind: .adminAction(
                action: action, service: service == 0 ? nil : service - 1, backend: backend == 0 ? nil : backend - 1,
                weight: weight, peer: peer, channel: TelemetryProtocol.Channel(rawValue: UInt8(channel))))
        default:
            // A kind a newer appliance adds: kept as unknown, not an error.
            return .init(uptimeMilliseconds: uptime, kind: .unknown(kind: kind))
        }
    }
}

extension TelemetryDecoder {
    /// An admin request frame, written with the core's frame writer.
    public static func adminRequest(id: UInt64, token: String, action: Telemetry.AdminAction, service: String = "",
                                    backend: String = "", weight: UInt64 = 0) -> [UInt8] {
        var out = TelemetryFrameWriter()
        out.begin(.admin)
        out.varint(id)
        out.string(Array(token.utf8))
        out.varint(UInt64(action.rawValue))
        out.string(Array(service.utf8))
        out.string(Array(backend.utf8))
        out.varint(weight)
        out.end()
        return out.bytes
    }

    /// A subscribe frame: snapshots every `intervalMilliseconds`, and events if asked for.
    public static func subscribeRequest(intervalMilliseconds: UInt64, events: Bool) -> [UInt8] {
        var out = TelemetryFrameWriter()
        out.begin(.subscribe)
        out.varint(intervalMilliseconds)
        out.varint(UInt64(events ? 1 : 0))
        out.end()
        return out.bytes
    }
}
