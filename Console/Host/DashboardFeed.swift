import Foundation
import SkerryConsole
import SkerryKit

/// Gathers what the dashboard shows from threads of its own: the telemetry
/// stream (through a `TelemetryMonitor`), the serial console, and the VM's
/// state. The drawing loop takes a consistent `DashboardInput` at any time.
public final class DashboardFeed: @unchecked Sendable {
    public static let consoleLines = 5_000

    public let interval: Double
    private let lock = NSLock()
    private var model = TelemetryModel()
    private var telemetry: TelemetryStatus
    private var vm: VMStatus?
    private var console: [String] = []
    private var consoleWriter: ((String) -> Void)?
    private var consoleLost: ConsoleLinkLoss?
    private var generation = 0
    private var monitorThread: Thread?

    public init(interval: Double, address: String) {
        self.interval = interval
        telemetry = TelemetryStatus(address: address, connected: false)
    }

    /// Follows the telemetry stream at `host:port`, replacing any earlier one.
    public func attach(host: String, port: UInt16) {
        let generation = lock.withLock {
            self.generation += 1
            telemetry = TelemetryStatus(address: "\(host):\(port)", connected: false)
            return self.generation
        }
        let interval = self.interval
        let thread = Thread { [weak self] in
            let monitor = TelemetryMonitor(host: host, port: port, interval: interval)
            while let self, self.lock.withLock({ self.generation == generation }) {
                monitor.step(timeout: 0.2)
                self.lock.withLock {
                    guard self.generation == generation else { return }
                    self.model = monitor.model
                    self.telemetry.connected = monitor.isConnected
                    self.telemetry.error = monitor.lastError.map { "\($0)" }
                    self.telemetry.retryAt = monitor.retryAt
                }
            }
        }
        thread.name = "telemetry"
        monitorThread = thread
        thread.start()
    }

    /// Stops following the telemetry stream.
    public func detach() {
        lock.withLock { generation += 1 }
    }

    /// Stops following the telemetry stream for good, because `reason` (the VM is gone):
    /// the dashboard says so instead of reconnecting.
    public func endStream(_ reason: String) {
        lock.withLock {
            generation += 1
            telemetry.connected = false
            telemetry.retryAt = nil
            telemetry.ended = reason
        }
    }

    public func appendConsole(_ line: String) {
        lock.withLock {
            console.append(line)
            if console.count > Self.consoleLines { console.removeFirst(console.count - Self.consoleLines) }
        }
    }

    /// Where lines typed in the console view go; nil when there is nowhere.
    public func setConsoleWriter(_ writer: ((String) -> Void)?) {
        lock.withLock { consoleWriter = writer }
    }

    /// The console connection is down (`loss`) or up again (nil).
    public func setConsoleLost(_ loss: ConsoleLinkLoss?) {
        lock.withLock { consoleLost = loss }
    }

    public func sendConsole(_ line: String) {
        let writer = lock.withLock { consoleWriter }
        writer?(line)
    }

    public func updateVM(_ body: (inout VMStatus?) -> Void) {
        lock.withLock { body(&vm) }
    }

    public var vmStatus: VMStatus? { lock.withLock { vm } }

    /// What to draw now.
    public func input(readOnly: Bool, hasToken: Bool = true, now: Date = Date()) -> DashboardInput {
        lock.withLock {
            var input = DashboardInput(model: model, telemetry: telemetry, vm: vm, console: console, consoleWritable: consoleWriter != nil,
                                       now: now, interval: interval, readOnly: readOnly, hasToken: hasToken)
            input.consoleLost = consoleLost
            return input
        }
    }
}
