import Foundation
import KernelCore

/// Everything `skerry boot` needs to run one VM headless.
public struct BootRequest: Sendable {
    /// An elf32 kernel, an ISO or a disk image (`BootMedium` tells which by the extension).
    public var image: URL
    /// SeaBIOS or OVMF; UEFI boots only an ISO or a disk image.
    public var firmware = Firmware.bios
    /// The ELF64 with symbols, used to name the functions in a panic backtrace.
    public var symbols: URL?
    public var memoryMiB = 128
    /// The guest memory skerry boots with, in MiB: `--memory`, an OVA's descriptor, `skerry image --memory`.
    public static let memoryRange = 16...3072
    public var kernelArguments = ""
    public var accelerator = Accelerator.auto
    public var qemuExecutable: String?
    /// Succeed (and stop the VM) when a console line matches.
    public var untilPattern: String?
    /// Fail (and stop the VM) when a console line matches.
    public var failPatterns: [String] = []
    /// Seconds from starting QEMU; nil waits forever.
    public var timeout: Double?
    /// Forward this process's standard input to the serial console.
    public var forwardInput = false
    /// Also serve the serial console here (`ConsoleRelay`) while the VM runs.
    public var console: ConsoleAddress?
    /// How skerry reads the serial console: QEMU's stdio, or QEMU's TCP serial server.
    public var serial = SerialTransport.stdio
    public var extraQemuArguments: [String] = []
    public var nicModel = NICModel.virtio
    /// Host-to-guest forwards; by default the admin NIC's test services
    /// (`ApplianceBootPlan.testServices`): UDP and TCP echo (7), TCP
    /// discard (9) and chargen (19), on free host ports.
    public var forwards = ApplianceBootPlan(description: nil).forwards(stableHostPorts: false)
    /// False boots with no NICs at all.
    public var attachNetworks = true
    public var networkMode = NetworkMode.user
    /// The MACs the appliance file or an OVA's descriptor pins, by role: the
    /// kernel assigns those roles by MAC and stops if none matches.
    public var macs: [InterfaceRole: MACAddress] = [:]
    /// The settings an OVA's descriptor may set: those the command line gave are kept.
    public var settingsFromPackage = Set(PackageSetting.allCases)

    public init(image: URL) { self.image = image }

    /// What an OVA's descriptor says about the VM it describes.
    public enum PackageSetting: CaseIterable, Sendable {
        case memory, nicModel, firmware
    }
}

/// Where the VM's NICs are attached.
public enum NetworkMode: String, CaseIterable, Sendable {
    /// QEMU user-mode networking: unprivileged, reached through forwards on 127.0.0.1.
    case user
    /// Taps on bridges in a network namespace created for the boot (root only).
    case tap
}

/// How QEMU serves the serial console to skerry (`--serial`).
public enum SerialTransport: String, CaseIterable, Sendable {
    /// QEMU's stdin and stdout.
    case stdio
    /// `-serial tcp:127.0.0.1:PORT,server=on,wait=off` on a free port, raw bytes.
    case tcp
    /// The same with `telnet=on`: the telnet protocol, as a vSphere network serial port speaks it.
    case telnet
}
