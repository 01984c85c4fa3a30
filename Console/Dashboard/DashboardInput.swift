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
    /// The host ports the VM's forwards landed on, in the order QEMU reported them.
    public var ports: [HostPort]

    public init(image: String, accelerator: String, state: State, readyAfter: Double? = nil, startedAt: Date? = nil,
                restartable: Bool = true, ports: [HostPort] = []) {
        self.image = image
        self.accelerator = accelerator
        self.state = state
        self.readyAfter = readyAfter
        self.startedAt = startedAt
        self.restartable = restartable
        self.ports = ports
    }
}

/// One forward of a guest port to a loopback port, as the Overview lists it.
public struct HostPort: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        /// The appliance's telemetry port.
        case telemetry
        /// One of the admin NIC's test services, by its name (echo, discard, chargen).
        case testService(String)
        /// Any other forward: the Overview names it by the service on that port, if there is one.
        case guest
    }

    /// The Overview lists the telemetry port first, then services, then the test services.
    public var rank: Int {
        switch kind {
        case .telemetry: 0
        case .guest: 1
        case .testService: 2
        }
    }

    public var kind: Kind
    public var role: String
    public var transport: String
    public var guestPort: UInt16
    public var hostPort: UInt16

    public init(kind: Kind, role: String, transport: String, guestPort: UInt16, hostPort: UInt16) {
        self.kind = kind
        self.role = role
        self.transport = transport
        self.guestPort = guestPort
        self.hostPort = hostPort
    }
}

/// The telemetry connection's health.
public struct TelemetryStatus: Equatable, Sendable {
    public var address: String
    public var connected: Bool
    public var error: String?
    public var retryAt: Date?
    /// Why the stream is over for good (the VM shut down): no reconnecting, no rates.
    public var ended: String?

    public init(address: String, connected: Bool, error: String? = nil, retryAt: Date? = nil, ended: String? = nil) {
        self.address = address
        self.connected = connected
        self.error = error
        self.retryAt = retryAt
        self.ended = ended
    }
}

/// A serial console connection that dropped, and when it is tried again.
public struct ConsoleLinkLoss: Sendable, Equatable {
    public var address: String
    public var reason: String
    public var retryAt: Date?

    public init(address: String, reason: String, retryAt: Date? = nil) {
        self.address = address
        self.reason = reason
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
    /// An admin token is at hand, so drain, enable and disable can be sent.
    public var hasToken: Bool
    /// The attached serial console's connection while it is down; nil while it is up or when there is none.
    public var consoleLost: ConsoleLinkLoss?

    public init(model: TelemetryModel = TelemetryModel(), telemetry: TelemetryStatus, vm: VMStatus? = nil, console: [String] = [],
                consoleWritable: Bool = false, now: Date = Date(), interval: Double = 1, readOnly: Bool = false, hasToken: Bool = true) {
        self.model = model
        self.telemetry = telemetry
        self.vm = vm
        self.console = console
        self.consoleWritable = consoleWritable
        self.now = now
        self.interval = interval
        self.readOnly = readOnly
        self.hasToken = hasToken
    }

    /// The stream will send nothing more: the VM it came from is gone.
    public var streamEnded: Bool { telemetry.ended != nil }

    /// The data is older than the stream promises, or the stream is down.
    public var isStale: Bool {
        guard let age = model.age(now: now) else { return !telemetry.connected }
        return !telemetry.connected || age > max(3 * interval, 3)
    }
}
