import ArgumentParser
import Foundation
import SkerryKit

/// The options of every command that boots an appliance (`boot`, `top`,
/// `demo`, `smoke`). Each is optional: what is not given keeps the
/// `BootRequest`'s default, or for `smoke` what the suite sets.
struct BootOptions: ParsableArguments {
    /// A request's defaults, as the help states them.
    private static let defaults = BootRequest(image: URL(fileURLWithPath: "/"))

    @Option(help: ArgumentHelp("auto probes KVM and falls back to TCG (default: \(defaults.accelerator.rawValue)).",
                               valueName: "auto|tcg|kvm"))
    var accel: Accelerator?

    @Option(help: ArgumentHelp("Guest memory in MiB (default: \(defaults.memoryMiB)).", valueName: "MiB"))
    var memory: Int?

    @Option(name: .customLong("nic-model"),
            help: ArgumentHelp("NIC model for all three interfaces (default: \(defaults.nicModel.rawValue)).", valueName: "virtio|vmxnet3"))
    var nicModel: NICModel?

    @Option(help: ArgumentHelp(
        "Forward 127.0.0.1:HOST to a guest port on the admin or public NIC (repeatable; replaces the default forward of that guest port). Without HOST, a free port. The admin test services (UDP and TCP echo 7, TCP discard 9 and chargen 19) are always forwarded.",
        valueName: "role:proto:guest[:host]"))
    var forward: [String] = []

    @Option(help: ArgumentHelp("Kernel command line, e.g. 'shutdown-after=0' or 'panic-test=page-fault'.", valueName: "args"))
    var append: String?

    @Option(help: ArgumentHelp("bios: SeaBIOS. uefi: OVMF (Debian's ovmf package); boots an ISO or a disk image (default: \(defaults.firmware.rawValue)).",
                               valueName: "bios|uefi"))
    var firmware: Firmware?

    @Option(help: ArgumentHelp(
        "How skerry reads the serial console: QEMU's stdio, or QEMU's own TCP serial server (raw or telnet) on a free 127.0.0.1 port, as a vSphere network serial port or a libvirt tcp serial serves it (default: \(defaults.serial.rawValue)).",
        valueName: "stdio|tcp|telnet"))
    var serial: SerialTransport?

    func validate() throws {
        let range = BootRequest.memoryRange
        if let memory, !range.contains(memory) {
            throw ValidationError("--memory must be between \(range.lowerBound) and \(range.upperBound) MiB")
        }
        do {
            _ = try PortForward.parse(arguments: forward)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// Sets what was given on `request`; `--forward`s replace the request's forwards of
    /// their guest ports, after `shown` (forwards the command adds) has replaced its own.
    func apply(to request: inout BootRequest, shown: [PortForward] = []) throws {
        if let accel { request.accelerator = accel }
        if let memory { request.memoryMiB = memory }
        if let nicModel { request.nicModel = nicModel }
        if let append { request.kernelArguments = append }
        if let firmware { request.firmware = firmware }
        if let serial { request.serial = serial }
        if memory != nil { request.settingsFromPackage.remove(.memory) }
        if nicModel != nil { request.settingsFromPackage.remove(.nicModel) }
        if firmware != nil { request.settingsFromPackage.remove(.firmware) }
        do {
            request.forwards = PortForward.merge(PortForward.merge(request.forwards, overriddenBy: shown),
                                                 overriddenBy: try PortForward.parse(arguments: forward))
        } catch {
            throw CLIError("\(error)")
        }
    }
}

extension BootOptions {
    /// Refuses, as a usage error, what `image` cannot boot with these options:
    /// an unknown extension, UEFI for a kernel, `--append` for an ISO or disk.
    /// Nil, or an appliance, is a kernel that skerry builds.
    func checkMedium(_ image: String?, kernelArguments: String? = nil) throws {
        do {
            let medium = try image.map { try BootMedium(path: $0) } ?? .kernel(URL(fileURLWithPath: "/"))
            try medium.check(firmware: firmware ?? BootOptions.defaults.firmware, kernelArguments: append ?? kernelArguments ?? "")
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

extension Firmware: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
}

extension Accelerator: ExpressibleByArgument {}
extension NICModel: ExpressibleByArgument {}
extension SerialTransport: ExpressibleByArgument {}

extension ConsoleAddress {
    /// The address a `--console` argument names, or a usage error saying what is wrong with it.
    init(argument: String) throws {
        do {
            self = try ConsoleAddress(parsing: argument)
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

extension BootOptions {
    /// The options given on the command line, as typed, for commands that boot nothing and must refuse them.
    var given: [String] {
        [accel.map { _ in "--accel" }, memory.map { _ in "--memory" }, nicModel.map { _ in "--nic-model" },
         forward.isEmpty ? nil : "--forward", append.map { _ in "--append" },
         firmware.map { _ in "--firmware" }, serial.map { _ in "--serial" }].compactMap { $0 }
    }
}
