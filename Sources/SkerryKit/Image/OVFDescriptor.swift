import KernelCore

/// What an OVF descriptor says about a Skerry appliance: the virtual
/// hardware vSphere creates on import and `skerry boot x.ova` reproduces in
/// QEMU. `xml` writes it; `init(parsing:)` reads it back, from descriptors
/// Skerry writes and from reasonable hand-edited ones.
public struct OVFDescriptor: Equatable, Sendable {
    /// The virtual system's id and display name.
    public var name: String
    public var memoryMiB: Int
    public var cpus: Int
    /// The model of every NIC (`VmxNet3` or `virtio` in the descriptor).
    public var nicModel: NICModel
    public var firmware: Firmware
    /// One per role, in role order: the NIC's network and its pinned MAC.
    public var interfaces: [OVFInterface]
    public var disk: OVFDisk
    /// Whether the VM has a serial port (COM1, the appliance's console).
    public var serialPort: Bool

    public init(name: String, memoryMiB: Int = OVFDescriptor.defaultMemoryMiB, cpus: Int = 1,
                nicModel: NICModel = .vmxnet3, firmware: Firmware = .bios,
                interfaces: [OVFInterface] = OVFInterface.standard, disk: OVFDisk, serialPort: Bool = true) {
        self.name = name
        self.memoryMiB = memoryMiB
        self.cpus = cpus
        self.nicModel = nicModel
        self.firmware = firmware
        self.interfaces = interfaces
        self.disk = disk
        self.serialPort = serialPort
    }

    /// The memory an appliance gets unless `--memory` says otherwise.
    public static let defaultMemoryMiB = 128
}

/// One NIC of the appliance: its role, the network it connects to, and
/// optionally the MAC it is pinned to (the kernel then finds its role by MAC).
public struct OVFInterface: Equatable, Sendable {
    public var role: InterfaceRole
    /// The network's name in the NetworkSection; the port group on vSphere.
    public var network: String
    public var mac: MACAddress?

    public init(role: InterfaceRole, network: String, mac: MACAddress? = nil) {
        self.role = role
        self.network = network
        self.mac = mac
    }

    /// One interface per role, in role order, each on the network named after its role.
    public static var standard: [OVFInterface] {
        InterfaceRole.allCases.map { OVFInterface(role: $0, network: $0.name.description) }
    }
}

/// The appliance's one disk: the streamOptimized VMDK in the package.
public struct OVFDisk: Equatable, Sendable {
    /// The VMDK's file name inside the package (References/File href).
    public var fileName: String
    /// The virtual disk's size as the guest sees it.
    public var capacityBytes: UInt64
    /// The bytes of the disk that hold data (ovf:populatedSize), when known.
    public var populatedBytes: UInt64?
    /// The VMDK file's own size (References/File size), when known.
    public var fileBytes: UInt64?

    public init(fileName: String, capacityBytes: UInt64, populatedBytes: UInt64? = nil, fileBytes: UInt64? = nil) {
        self.fileName = fileName
        self.capacityBytes = capacityBytes
        self.populatedBytes = populatedBytes
        self.fileBytes = fileBytes
    }
}
