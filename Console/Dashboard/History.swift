import SkerryKit

/// Recent values for the sparklines and the connections graph, one point per
/// telemetry snapshot, fixed length.
public struct History: Sendable {
    public static let length = 120

    public private(set) var connectionRate: [Double] = []
    public private(set) var activeConnections: [Double] = []
    public private(set) var receiveBytes: [Double] = []
    public private(set) var transmitBytes: [Double] = []
    public private(set) var drops: [Double] = []
    public private(set) var tableEntries: [Double] = []
    public private(set) var nicBytes: [[Double]] = []
    public private(set) var backendRates: [[Double]] = []
    /// Only rules that have matched something get a series.
    public private(set) var ruleRates: [Int: [Double]] = [:]
    private var lastSequence: UInt64?
    private var lastUptime: UInt64?

    public init() {}

    /// Adds a point when the model holds a snapshot not seen before.
    public mutating func record(_ model: TelemetryModel) {
        guard let snapshot = model.snapshot, let rates = model.rates else { return }
        guard snapshot.uptimeMilliseconds != lastUptime || snapshot.sequence != lastSequence else { return }
        if let lastUptime, snapshot.uptimeMilliseconds < lastUptime { self = History() }  // the appliance restarted
        lastSequence = snapshot.sequence
        lastUptime = snapshot.uptimeMilliseconds
        Self.push(&connectionRate, rates.serviceConnections.reduce(0, +))
        Self.push(&activeConnections, Double(snapshot.services.reduce(0) { $0 + $1[.activeConnections] }))
        Self.push(&receiveBytes, rates.nicReceiveBytes.reduce(0, +))
        Self.push(&transmitBytes, rates.nicTransmitBytes.reduce(0, +))
        Self.push(&tableEntries, Double(snapshot.connectionTable?.entries ?? 0))
        if let schema = model.schema {
            var dropped = 0.0
            for (index, rule) in schema.rules.enumerated() where rule.action != .accept && index < rates.rulePackets.count {
                dropped += rates.rulePackets[index]
            }
            Self.push(&drops, dropped)
        }
        Self.resize(&nicBytes, rates.nicReceiveBytes.count)
        for index in nicBytes.indices {
            Self.push(&nicBytes[index], rates.nicReceiveBytes[index] + rates.nicTransmitBytes[index])
        }
        Self.resize(&backendRates, rates.backendConnections.count)
        for index in backendRates.indices { Self.push(&backendRates[index], rates.backendConnections[index]) }
        for (index, rate) in rates.rulePackets.enumerated() where rate > 0 || ruleRates[index] != nil {
            Self.push(&ruleRates[index, default: []], rate)
        }
    }

    private static func push(_ series: inout [Double], _ value: Double) {
        series.append(value)
        if series.count > length { series.removeFirst(series.count - length) }
    }

    private static func resize(_ series: inout [[Double]], _ count: Int) {
        if series.count != count { series = Array(repeating: [], count: count) }
    }
}
