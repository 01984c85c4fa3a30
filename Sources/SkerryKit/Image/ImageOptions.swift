/// How a VM's serial port (COM1, the appliance's console) is exposed by the host.
public enum SerialPortSetting: Sendable, Equatable, CustomStringConvertible {
    /// A pseudo-terminal the hypervisor allocates (`virsh console`).
    case pty
    /// A telnet server on 127.0.0.1:port, as `skerry console telnet:127.0.0.1:PORT` reaches it.
    case telnet(port: UInt16)

    /// Reads `pty` or `telnet:PORT`.
    public init(parsing text: String) throws(ImageError) {
        if text == "pty" {
            self = .pty
            return
        }
        if text.hasPrefix("telnet:"), let port = UInt16(text.dropFirst(7)), port > 0 {
            self = .telnet(port: port)
            return
        }
        // libvirt's TCP serial is offered only with the telnet protocol: say so rather than serve raw TCP unasked.
        let hint = text.hasPrefix("tcp:") ? " (the domain's TCP serial speaks telnet: write telnet:PORT)" : ""
        throw .invalidOption("--serial: expected pty or telnet:PORT (PORT 1-65535), not \(String(reflecting: text))\(hint)")
    }

    public var description: String {
        switch self {
        case .pty: return "pty"
        case .telnet(let port): return "telnet:\(port)"
        }
    }
}

/// The options of `skerry image` beyond the format, each used by some
/// formats only. Which ones is said once, here: the help and the refusal of
/// an option a format would ignore both come from `formats`.
public enum ImageOption: String, CaseIterable, Sendable {
    case append
    case memory
    case firmware
    case nicModel
    case serial

    public var flag: String {
        switch self {
        case .append: return "--append"
        case .memory: return "--memory"
        case .firmware: return "--firmware"
        case .nicModel: return "--nic-model"
        case .serial: return "--serial"
        }
    }

    /// The formats whose output the option changes.
    public var formats: [ImageFormat] {
        switch self {
        // Every format boots the same GRUB configuration.
        case .append: return ImageFormat.allCases
        // Only a VM description (the OVF descriptor, the libvirt domain) has these.
        case .memory, .firmware, .nicModel: return [.ova, .libvirt]
        // An OVA's serial port is connected after import, to a backing only the vSphere host knows (docs/deploy.md).
        case .serial: return [.libvirt]
        }
    }
}

/// What `skerry image` was asked for beyond the appliance.
public struct ImageOptions: Sendable, Equatable {
    public static let memoryRange = BootRequest.memoryRange
    public static let defaultMemoryMiB = 128

    public var format: ImageFormat
    public var grub: GrubConfiguration
    public var memoryMiB: Int?
    public var firmware: Firmware?
    public var nicModel: NICModel?
    public var serial: SerialPortSetting?

    public init(format: ImageFormat, grub: GrubConfiguration, memoryMiB: Int? = nil, firmware: Firmware? = nil,
                nicModel: NICModel? = nil, serial: SerialPortSetting? = nil) {
        self.format = format
        self.grub = grub
        self.memoryMiB = memoryMiB
        self.firmware = firmware
        self.nicModel = nicModel
        self.serial = serial
    }

    /// The options that were given, in `ImageOption` order.
    public var given: [ImageOption] {
        ImageOption.allCases.filter { option in
            switch option {
            case .append: return !grub.arguments.isEmpty
            case .memory: return memoryMiB != nil
            case .firmware: return firmware != nil
            case .nicModel: return nicModel != nil
            case .serial: return serial != nil
            }
        }
    }

    /// Refuses an option the format would ignore, and a memory size out of range.
    public func validate() throws(ImageError) {
        if let unused = given.first(where: { !$0.formats.contains(format) }) {
            throw .optionNotUsed(option: unused.flag, format: format)
        }
        if let memoryMiB, !ImageOptions.memoryRange.contains(memoryMiB) {
            throw .invalidOption(
                "--memory must be between \(ImageOptions.memoryRange.lowerBound) and \(ImageOptions.memoryRange.upperBound) MiB")
        }
    }
}
