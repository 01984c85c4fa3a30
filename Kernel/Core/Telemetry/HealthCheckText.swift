extension HealthCheckOutcome {
    /// A check that failed: every outcome but `pending` and `passed`.
    public var isFailure: Bool { self != .pending && self != .passed }

    /// The check's reason as the console, `skerry stats`, the dashboard and
    /// smoke conditions spell it: the outcome's name, with the status for a
    /// bad one (`bad status 503`).
    public func writeReason<Sink: TextSink>(statusCode: UInt16, to out: inout Sink) {
        out.write(name)
        if self == .badStatus && statusCode != 0 {
            out.write(" ")
            out.write(decimal: UInt64(statusCode))
        }
    }
}

extension HealthCheckKind {
    /// As the appliance file writes it: `tcp`, or `http GET /health expect 200`
    /// (`expect 200-399` for a range).
    public func write<Sink: TextSink>(to out: inout Sink) {
        switch self {
        case .tcp:
            out.write("tcp")
        case .http(let check):
            out.write("http ")
            out.write(check.method)
            out.write(" ")
            out.write(check.path)
            out.write(" expect ")
            out.write(decimal: check.expectedStatus.lowerBound)
            if check.expectedStatus.upperBound != check.expectedStatus.lowerBound {
                out.write("-")
                out.write(decimal: check.expectedStatus.upperBound)
            }
        }
    }
}

extension TrafficStatistic {
    /// Whether version 2 of the telemetry stream carries it. That version's
    /// traffic record is the fixed list of these, in declaration order, with
    /// no names in the schema; later versions name every statistic.
    public var inVersion2: Bool {
        switch self {
        case .activeConnections, .maximumConnectionsSeen, .totalConnections, .refusedConnections, .failedConnects,
            .connectionRate, .packetsToBackend, .bytesToBackend, .packetsToClient, .bytesToClient:
            true
        case .redispatched, .connectRefused, .connectTimeouts:
            false
        }
    }
}
