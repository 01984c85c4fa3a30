/// The firmware a VM boots with.
public enum Firmware: String, CaseIterable, Sendable {
    /// SeaBIOS under QEMU; legacy BIOS on vSphere.
    case bios
    /// OVMF under QEMU; EFI on vSphere.
    case uefi

    /// Reads `bios`, `uefi`, or `efi` (the word OVF descriptors and vSphere use).
    public init?(name: String) {
        switch name.lowercased() {
        case "bios": self = .bios
        case "uefi", "efi": self = .uefi
        default: return nil
        }
    }

    /// The value of VMware's `firmware` configuration key in an OVF descriptor.
    public var ovfValue: String {
        switch self {
        case .bios: return "bios"
        case .uefi: return "efi"
        }
    }
}
