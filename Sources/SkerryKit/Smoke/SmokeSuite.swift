import Foundation

/// A smoke-test suite as its file declares it (docs/smoke.md): what to
/// boot, which backends to start, and the steps to run against it.
public struct SmokeSuite: Sendable {
    public struct Backend: Sendable, Equatable {
        public var name: String
        public var port: UInt16
    }

    public var file: String
    public var name: String
    /// An appliance directory or file, or a bootable image, resolved against the suite file.
    public var appliance: String
    /// An ISO or disk image to boot instead of building `appliance` (which then only describes its services).
    public var image: String?
    public var firmware = Firmware.bios
    public var nicModel: NICModel = .virtio
    public var memoryMiB = 128
    public var accelerator: Accelerator = .auto
    public var append = ""
    /// Seconds for the whole suite.
    public var timeout: Double = 300
    public var backends: [Backend] = []
    /// Console patterns that fail the suite whenever they appear.
    public var failOn: [String] = []
    /// Extra forwards, `ROLE:PROTO:GUEST`; the telemetry port and service ports are always forwarded.
    public var forwards: [String] = []
    public var steps: [SmokeStep] = []
}

/// One step: what it does, its name, its time limit, and where it is written.
public struct SmokeStep: Sendable {
    public enum Action: Sendable {
        /// A console line matching `pattern` appears.
        case expectConsole(pattern: String)
        /// A line typed on the serial console (the kernel shell).
        case send(line: String)
        /// An HTTP GET through the public NIC's forward of `port`.
        case http(port: UInt16, path: String, status: Int?, body: String?, backend: String?)
        /// HTTP GETs through the public forward of `port`, ten a second, until `backend` answers one.
        case servedBy(port: UInt16, backend: String)
        /// A TCP connection through the public forward of `port` succeeds.
        case connect(port: UInt16)
        /// A TCP exchange through the forward of `port` gets no answer: refused, reset or silent.
        case refused(port: UInt16)
        /// The telemetry condition holds.
        case wait(condition: TelemetryCondition)
        /// An admin action over the telemetry stream, with the appliance's token.
        case admin(action: Telemetry.AdminAction, service: String, backend: String, weight: UInt64)
        case stopBackend(name: String)
        case startBackend(name: String)
        /// HTTP requests through the forward of `port` at `rate` a second for `seconds`; `failures` of them may fail.
        /// In the `background`, the step passes at once and the load runs on while later steps
        /// (stopping a backend, say) run; `finishLoad` of the same port then waits for it and judges it.
        case load(port: UInt16, seconds: Double, rate: Double, failures: Int, background: Bool)
        /// Waits for the background load on `port` to end; fails if more of its requests failed than it allows.
        case finishLoad(port: UInt16)
        case sleep(seconds: Double)
        /// The shell's `shutdown`, then the VM's outcome must be `outcome`.
        case shutdown(outcome: BootOutcome)
    }

    public var name: String
    public var action: Action
    public var timeout: Double
    public var line: Int
    public var column: Int
}
