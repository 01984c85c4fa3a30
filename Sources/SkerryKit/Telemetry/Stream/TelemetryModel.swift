import Foundation
import KernelCore

/// The live picture of an appliance that a telemetry subscription builds:
/// the latest snapshot with every rule's counters merged in, rates worked
/// out on the client from consecutive snapshots, and recent events.
public struct TelemetryModel: Sendable {
    /// Per-second rates between the last two snapshots, on the appliance's clock.
    public struct Rates: Codable, Equatable, Sendable {
        public var nicReceiveBytes: [Double] = []
        public var nicTransmitBytes: [Double] = []
        public var nicReceivePackets: [Double] = []
        public var nicTransmitPackets: [Double] = []
        public var serviceConnections: [Double] = []
        public var backendConnections: [Double] = []
        /// Bytes both ways.
        public var backendBytes: [Double] = []
        public var rulePackets: [Double] = []
        /// The event loop's busy share, 0 to 1.
        public var loopLoad: Double = 0
    }

    public static let eventsKept = 256

    public private(set) var hello: Telemetry.Hello?
    public private(set) var schema: Telemetry.Schema?
    /// The latest snapshot; its firewall rules hold every rule, merged.
    public private(set) var snapshot: Telemetry.Snapshot?
    public private(set) var rates: Rates?
    public private(set) var events: [Telemetry.Event] = []
    /// When the latest snapshot arrived.
    public private(set) var updated: Date?

    public init() {}

    public mutating func apply(_ message: Telemetry.Message, at time: Date = Date()) {
        switch message {
        case .hello(let hello):
            self.hello = hello
        case .schema(let schema):
            if schema != self.schema {
                snapshot = nil
                rates = nil
            }
            self.schema = schema
        case .snapshot(let incoming):
            merge(incoming)
            updated = time
        case .event(let event):
            events.append(event)
            if events.count > Self.eventsKept { events.removeFirst(events.count - Self.eventsKept) }
        case .result:
            break
        }
    }

    private mutating func merge(_ incoming: Telemetry.Snapshot) {
        var merged = incoming
        let previous = snapshot
        if var firewall = merged.firewall {
            if !incoming.allRules, let old = previous?.firewall {
                let elapsed = incoming.uptimeMilliseconds &- (previous?.uptimeMilliseconds ?? incoming.uptimeMilliseconds)
                var rules = old.rules
                for (index, var values) in rules where firewall.rules[index] == nil {
                    values.lastHitAgeMilliseconds = values.lastHitAgeMilliseconds.map { $0 + elapsed }
                    rules[index] = values
                }
                rules.merge(firewall.rules) { _, new in new }
                firewall.rules = rules
            }
            for index in 0..<(schema?.rules.count ?? 0) where firewall.rules[index] == nil {
                firewall.rules[index] = Telemetry.RuleValues()
            }
            merged.firewall = firewall
        }
        if let previous, incoming.uptimeMilliseconds > previous.uptimeMilliseconds {
            rates = Self.rates(from: previous, to: merged)
        }
        snapshot = merged
    }

    static func rates(from old: Telemetry.Snapshot, to new: Telemetry.Snapshot) -> Rates {
        let seconds = Double(new.uptimeMilliseconds - old.uptimeMilliseconds) / 1000
        func rate(_ a: UInt64, _ b: UInt64) -> Double { b >= a ? Double(b - a) / seconds : 0 }  // a reset reads as 0
        var rates = Rates()
        for (a, b) in zip(old.nics, new.nics) {
            rates.nicReceiveBytes.append(rate(a.counters[.rxBytes], b.counters[.rxBytes]))
            rates.nicTransmitBytes.append(rate(a.counters[.txBytes], b.counters[.txBytes]))
            rates.nicReceivePackets.append(rate(a.counters[.rxPackets], b.counters[.rxPackets]))
            rates.nicTransmitPackets.append(rate(a.counters[.txPackets], b.counters[.txPackets]))
        }
        rates.serviceConnections = zip(old.services, new.services).map { rate($0[.totalConnections], $1[.totalConnections]) }
        rates.backendConnections = zip(old.backends, new.backends).map { rate($0.traffic[.totalConnections], $1.traffic[.totalConnections]) }
        rates.backendBytes = zip(old.backends, new.backends).map {
            rate($0.traffic[.bytesToBackend] &+ $0.traffic[.bytesToClient], $1.traffic[.bytesToBackend] &+ $1.traffic[.bytesToClient])
        }
        if let before = old.firewall, let after = new.firewall {
            rates.rulePackets = (0..<after.rules.count).map { rate(before.rules[$0]?.packets ?? 0, after.rules[$0]?.packets ?? 0) }
        }
        let busy = Double(new.loopBusyMicroseconds &- old.loopBusyMicroseconds)
        let idle = Double(new.loopIdleMicroseconds &- old.loopIdleMicroseconds)
        rates.loopLoad = busy + idle > 0 ? busy / (busy + idle) : 0
        return rates
    }

    /// How old the data is, or nil before the first snapshot.
    public func age(now: Date = Date()) -> TimeInterval? { updated.map { now.timeIntervalSince($0) } }

    /// Index into `snapshot.backends` of `service`/`backend`.
    public func backendIndex(service: String, backend: String) -> Int? {
        schema?.backendNames.firstIndex { $0.service == service && $0.backend == backend }
    }

    /// Values of the backend named `service/backend`.
    public func backend(_ name: String) -> Telemetry.BackendValues? {
        let parts = name.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2, let index = backendIndex(service: parts[0], backend: parts[1]),
            let snapshot, index < snapshot.backends.count
        else { return nil }
        return snapshot.backends[index]
    }

    /// What marks backend `index` (in snapshot order) besides its state:
    /// `backup`, and `ramp 40%` while it is in its slow start.
    public func backendMarks(_ index: Int) -> [String] {
        var marks: [String] = []
        if let schema, index < schema.backendNames.count,
            schema.services.flatMap(\.backends)[index].backup { marks.append("backup") }
        if let snapshot, index < snapshot.backends.count, let ramp = snapshot.backends[index].slowStartPercent {
            marks.append("ramp \(ramp)%")
        }
        return marks
    }

    /// Counters of the firewall rule called `name`.
    public func rule(_ name: String) -> Telemetry.RuleValues? {
        guard let index = schema?.rules.firstIndex(where: { $0.name == name }) else { return nil }
        return snapshot?.firewall?.rules[index]
    }

    /// A stack, TCP, balancer, connection-table or telemetry-port counter
    /// by its name, when the appliance reports it.
    public func counter(_ name: String) -> UInt64? {
        guard let schema, let snapshot else { return nil }
        func value<Key: CounterKey>(_ names: CounterNames<Key>, _ set: CounterSet<Key>?) -> UInt64? {
            guard let key = Key(name: name), names.keys.contains(key), let set else { return nil }
            return set[key]
        }
        return value(schema.stackCounters, snapshot.stackCounters) ?? value(schema.tcpCounters, snapshot.tcpCounters)
            ?? value(schema.balancerCounters, snapshot.balancer) ?? value(schema.conntrackCounters, snapshot.connectionTable?.counters)
            ?? value(schema.telemetryCounters, snapshot.telemetry)
    }

    /// One line describing `event` with the schema's names.
    public func describe(_ event: Telemetry.Event) -> String {
        func name(_ service: Int?, _ backend: Int?) -> String {
            guard let service, let backend, let schema, service < schema.services.count,
                backend < schema.services[service].backends.count
            else { return "backend \(service ?? -1)/\(backend ?? -1)" }
            return "\(schema.services[service].name)/\(schema.services[service].backends[backend].name)"
        }
        let time = String(format: "%.1f s", Double(event.uptimeMilliseconds) / 1000)
        switch event.kind {
        case .backendStatus(let s, let b, let up, let cause):
            var change = ByteText()
            if let cause { cause.writeChange(up: up, to: &change) } else { change.write(up ? " is UP" : " is DOWN") }
            return "\(time) \(name(s, b))\(String(decoding: change.bytes, as: UTF8.self))"
        case .checkFailed(let s, let b, let count): return "\(time) \(name(s, b)) failed a health check (\(count) in a row)"
        case .administrative(let s, let b, let state): return "\(time) \(name(s, b)) is \(state.label)"
        case .weight(let s, let b, let weight): return "\(time) \(name(s, b)) weight \(weight)"
        case .limitHit(_, let count, let source?, let lastMinute):
            return "\(time) unauthorized admin action from \(source) (\(lastMinute ?? count) in the last minute)"
        case .limitHit(let limit, let count, nil, _): return "\(time) limit hit: \(limit) (\(count)x)"
        case .adminAction(let action, let s, let b, let weight, let peer, let channel):
            let target = s == nil ? "" : " " + name(s, b) + (action == .weight ? " \(weight)" : "")
            return "\(time) admin: \(action.name)\(target) by \(peer) over \(channel?.name.description ?? "an unknown channel")"
        case .unknown(let kind): return "\(time) event of unknown kind \(kind)"
        }
    }
}
