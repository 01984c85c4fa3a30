import Foundation
import KernelCore

/// A condition on an appliance's telemetry, as smoke steps write it:
///
///     backends["web/web2"].state == down
///     backends["web/web1"].total >= 3
///     rules["block-ssh"].packets >= 1
///     services["web"].active == 0
///     counters["tcp-resets-sent"] > 0
///     backends["web/web2"].redispatched >= 1
///     backends["web/web2"].check == "bad status 503"
///     services["web"].redispatched == 0
///
/// `state` compares with up, down, enabled, draining, disabled (a backend
/// is "draining" by its admin state, "up" by its health). `check` compares
/// with the last check's reason (ok, refused, timeout, bad status 503,
/// malformed response, no connection, pending), quoted or not. Backends and
/// services also take any traffic statistic by its name
/// (`TrafficStatistic`: redispatched, connect-refused, connect-timeouts, ...).
public struct TelemetryCondition: Sendable, Equatable, CustomStringConvertible {
    public enum Collection: String, Sendable { case backends, rules, services, counters }
    public enum Comparison: String, Sendable, CaseIterable {
        case equal = "==", notEqual = "!=", atLeast = ">=", atMost = "<=", greater = ">", less = "<"
    }

    public var collection: Collection
    public var key: String
    public var field: String
    public var comparison: Comparison
    public var value: String

    public static let fields: [Collection: [String]] = [
        .backends: ["state", "active", "total", "refused", "failed", "weight", "check-failures", "check"] + statisticFields,
        .rules: ["packets", "bytes", "rate-limited"],
        .services: ["active", "total", "refused"] + statisticFields,
        .counters: [""],
    ]

    /// Every traffic statistic, by the core's name.
    static let statisticFields = TrafficStatistic.allCases.map { "\($0.name)" }

    /// The reasons `check` compares with; a bad status also as `bad status NNN`.
    static let checkReasons = HealthCheckOutcome.allCases.map { "\($0.name)" }

    /// What `state` compares with besides the administrative states.
    static let healthWords = ["up", "down"]

    public var description: String {
        "\(collection.rawValue)[\"\(key)\"]\(field.isEmpty ? "" : "." + field) \(comparison.rawValue) \(value)"
    }

    /// Parses `text`; the error says what was expected.
    public init(parsing text: String) throws(SmokeError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let open = trimmed.firstIndex(of: "["), let collection = Collection(rawValue: String(trimmed[..<open])) else {
            throw .condition("a condition starts with backends[...], rules[...], services[...] or counters[...]")
        }
        self.collection = collection
        let afterOpen = trimmed[trimmed.index(after: open)...]
        guard afterOpen.first == "\"", let close = afterOpen.dropFirst().firstIndex(of: "\""),
            afterOpen[afterOpen.index(after: close)...].first == "]"
        else { throw .condition("the name goes in quotes: \(collection.rawValue)[\"NAME\"]") }
        key = String(afterOpen[afterOpen.index(after: afterOpen.startIndex)..<close])
        var rest = afterOpen[afterOpen.index(close, offsetBy: 2)...].trimmingCharacters(in: .whitespaces)
        field = ""
        if rest.hasPrefix(".") {
            let name = rest.dropFirst().prefix { $0.isLetter || $0 == "-" }
            field = String(name)
            rest = String(rest.dropFirst(1 + name.count)).trimmingCharacters(in: .whitespaces)
        }
        let known = Self.fields[collection] ?? []
        guard known.contains(field) else {
            throw .condition(collection == .counters ? "counters[...] takes no field"
                : "\(collection.rawValue) have \(known.map { "." + $0 }.joined(separator: ", ")), not .\(field)")
        }
        guard let comparison = Comparison.allCases.sorted(by: { $0.rawValue.count > $1.rawValue.count })
            .first(where: { rest.hasPrefix($0.rawValue) })
        else { throw .condition("expected a comparison: ==, !=, >=, <=, > or <") }
        self.comparison = comparison
        value = rest.dropFirst(comparison.rawValue.count).trimmingCharacters(in: .whitespaces)
        if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
        guard !value.isEmpty else { throw .condition("expected a value after \(comparison.rawValue)") }
        if field == "check" {
            let badStatus = "\(HealthCheckOutcome.badStatus.name) "
            guard Self.checkReasons.contains(value) || (value.hasPrefix(badStatus) && UInt16(value.dropFirst(badStatus.count)) != nil)
            else { throw .condition("a check reason is \(Self.checkReasons.joined(separator: ", ")) or bad status NNN") }
            guard comparison == .equal || comparison == .notEqual else { throw .condition("check reasons compare with == or !=") }
        } else if field == "state" {
            guard Self.healthWords.contains(value) || LoadBalancer.AdministrativeState.allCases.contains(where: { "\($0.label)" == value })
            else {
                throw .condition("a state is up, down, enabled, draining or disabled")
            }
            guard comparison == .equal || comparison == .notEqual else { throw .condition("states compare with == or !=") }
        } else if UInt64(value) == nil {
            throw .condition("\(value) is not a number")
        }
    }

    /// What the model says now, or nil when the name is unknown or there is no data yet.
    public func observed(in model: TelemetryModel) -> String? {
        switch collection {
        case .backends:
            guard let backend = model.backend(key) else { return nil }
            switch field {
            case "state":
                if value == "up" || value == "down" { return backend.up ? "up" : "down" }
                return "\(backend.administrative.label)"
            case "active": return String(backend.traffic[.activeConnections])
            case "total": return String(backend.traffic[.totalConnections])
            case "refused": return String(backend.traffic[.refusedConnections])
            case "failed": return String(backend.traffic[.failedConnects])
            case "weight": return String(backend.weight)
            case "check-failures": return String(backend.checkFailures)
            case "check": return backend.checkReason
            default: return TrafficStatistic(name: field).map { String(backend.traffic[$0]) }
            }
        case .rules:
            guard let rule = model.rule(key) else { return nil }
            switch field {
            case "packets": return String(rule.packets)
            case "bytes": return String(rule.bytes)
            default: return String(rule.rateLimited)
            }
        case .services:
            guard let index = model.schema?.services.firstIndex(where: { $0.name == key }), let snapshot = model.snapshot,
                index < snapshot.services.count
            else { return nil }
            let service = snapshot.services[index]
            switch field {
            case "active": return String(service[.activeConnections])
            case "total": return String(service[.totalConnections])
            case "refused": return String(service[.refusedConnections])
            default: return TrafficStatistic(name: field).map { String(service[$0]) }
            }
        case .counters:
            return model.counter(key).map(String.init)
        }
    }

    public func holds(in model: TelemetryModel) -> Bool {
        guard let observed = observed(in: model) else { return false }
        if field != "check", let left = UInt64(observed), let right = UInt64(value) {
            switch comparison {
            case .equal: return left == right
            case .notEqual: return left != right
            case .atLeast: return left >= right
            case .atMost: return left <= right
            case .greater: return left > right
            case .less: return left < right
            }
        }
        return comparison == .equal ? observed == value : observed != value
    }
}
