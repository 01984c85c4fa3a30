import Foundation

/// Keeps a `TelemetryModel` up to date from an appliance's telemetry
/// stream, reconnecting with exponential backoff when the stream is lost.
/// Call `step` in a loop (or from a thread of your own); the model says how
/// old its data is, so a caller can mark it stale.
public final class TelemetryMonitor {
    public let host: String
    public let port: UInt16
    public let interval: TimeInterval
    public private(set) var model = TelemetryModel()
    /// Why the last attempt failed, while disconnected.
    public private(set) var lastError: TelemetryStreamError?
    /// When the next connection attempt is due, while disconnected.
    public private(set) var retryAt: Date?
    public private(set) var reconnects = 0
    private var connection: TelemetryConnection?
    private var backoff: TimeInterval
    public static let maximumBackoff: TimeInterval = 30

    public init(host: String, port: UInt16, interval: TimeInterval) {
        self.host = host
        self.port = port
        self.interval = interval
        backoff = min(1, interval)
    }

    public var isConnected: Bool { connection != nil }

    /// Reads what arrives within `timeout`, connecting first if due.
    /// Returns the messages applied to the model.
    @discardableResult
    public func step(timeout: TimeInterval) -> [Telemetry.Message] {
        let deadline = Date().addingTimeInterval(timeout)
        if connection == nil {
            if let retryAt, retryAt > Date() {
                Thread.sleep(until: min(retryAt, deadline))
                return []
            }
            do {
                let connection = try TelemetryConnection(host: host, port: port, timeout: min(5, max(1, timeout)))
                try connection.subscribe(interval: interval)
                model.apply(.hello(connection.hello))
                self.connection = connection
                if lastError != nil { reconnects += 1 }
                lastError = nil
                retryAt = nil
                backoff = min(1, interval)
            } catch {
                fail(error)
                return []
            }
        }
        var applied: [Telemetry.Message] = []
        guard let connection else { return applied }
        // A stream that sends nothing for three intervals (and at least 5 s) is dead.
        let silence = max(5, interval * 3)
        do {
            repeat {
                let message = try connection.receive(timeout: applied.isEmpty ? min(silence, max(0.01, deadline.timeIntervalSinceNow)) : 0.001)
                model.apply(message)
                applied.append(message)
            } while Date() < deadline
        } catch {
            if case .connection(let reason) = error, reason.hasPrefix("no data"), model.age().map({ $0 < silence }) ?? true {
                return applied  // quiet for now, not yet dead
            }
            fail(error)
        }
        return applied
    }

    /// Sends an admin action over the live connection (connecting if need be).
    public func admin(token: String, action: Telemetry.AdminAction, service: String = "", backend: String = "",
                      weight: UInt64 = 0) throws(TelemetryStreamError) -> Telemetry.AdminResult {
        if connection == nil {
            retryAt = nil
            step(timeout: 0.01)
        }
        guard let connection else { throw lastError ?? .connection("not connected to \(host):\(port)") }
        do {
            return try connection.admin(token: token, action: action, service: service, backend: backend, weight: weight) { model.apply($0) }
        } catch {
            fail(error)
            throw error
        }
    }

    private func fail(_ error: TelemetryStreamError) {
        connection = nil
        lastError = error
        retryAt = Date().addingTimeInterval(backoff)
        backoff = min(backoff * 2, Self.maximumBackoff)
    }
}
