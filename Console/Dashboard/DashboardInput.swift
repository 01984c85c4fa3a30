import Foundation
import SkerryKit

/// The virtual machine behind the dashboard, when `skerry top` boots it.
public struct VMStatus: Equatable, Sendable {
    public enum State: Equatable, Sendable {
        case booting
        case running
        /// The VM is gone; the outcome and its detail (a panic's headline).
        case exited(String)
    }

    public var image: String
    public var accelerator: String
    public var state: State
    /// Seconds from QEMU's start to the kernel's ready line.
    public var readyAfter: Double?
    public var startedAt: Date?
    /// The dashboard owns the VM, so it can restart it.
    public var restartable: Bool

    public init(image: String, accelerator: String, state: State, readyAfter: Double? = nil, startedAt: Date? = nil,
                restartable: Bool = true) {
        self.image = image
        self.accelerator = accelerator
        self.state = state
        self.readyAfter = readyAfter
        self.startedAt = startedAt
        self.restartable = restartable
    }
}

/// The telemetry connection's health.
public struct TelemetryStatus: Equatable, Sendable {
    public var address: String
    public var connected: Bool
    public var error: String?
    public var retryAt: Date?

    public init(address: String, connected: Bool, error: String? = nil, retryAt: Date? = nil) {
        self.address = address
        self.connected = connected
        self.error = error
        self.retryAt = retryAt
    }
}

/// Everything a frame is drawn from.
public struct DashboardInput: Sendable {
    public var model: TelemetryModel
    public var telemetry: TelemetryStatus
    public var vm: VMStatus?
    /// The serial console's lines, oldest first.
    public var console: [String]
    /// Lines typed in the console view reach the kernel shell.
    public var consoleWritable: Bool
    public var now: Date
    /// Seconds between telemetry snapshots.
    public var interval: Double
    /// Actions (drain, enable, disable, restart) are off.
    public var readOnly: Bool

    public init(model: TelemetryModel = TelemetryModel(), telemetry: TelemetryStatus, vm: VMStatus? = nil, console: [String] = [],
                consoleWritable: Bool = false, now: Date = Date(), interval: Double = 1, readOnly: Bool = false) {
        self.model = model
        self.telemetry = telemetry
        self.vm = vm
        self.console = console
        self.consoleWritable = consoleWritable
        self.now = now
        self.interval = interval
        self.readOnly = readOnly
    }

    /// The data is older than the stream promises, or the stream is down.
    public var isStale: Bool {
        guard let age = model.age(now: now) else { return !telemetry.connected }
        return !telemetry.connected || age > max(3 * interval, 3)
    }
}
