/// The deployable forms of an appliance that `skerry image` writes.
public enum ImageFormat: String, CaseIterable, Sendable {
    /// A hybrid ISO 9660 image that boots under BIOS and UEFI, from a CD-ROM or as a disk.
    case iso
    /// The hybrid ISO's bytes as a raw disk image.
    case raw
    case qcow2
    /// A streamOptimized VMDK, the flavour an OVA carries.
    case vmdk
    /// An OVF package for vSphere: descriptor, manifest and streamOptimized VMDK in one tar.
    case ova
    /// A libvirt domain XML beside a qcow2 disk.
    case libvirt

    /// The file name extension of the artefact (the domain XML's, for libvirt).
    public var fileExtension: String {
        switch self {
        case .iso: return "iso"
        case .raw: return "img"
        case .qcow2: return "qcow2"
        case .vmdk: return "vmdk"
        case .ova: return "ova"
        case .libvirt: return "xml"
        }
    }
}
