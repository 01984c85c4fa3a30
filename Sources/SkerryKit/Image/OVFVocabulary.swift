/// The names and numbers an OVF descriptor uses, shared by its writer and reader.
public enum OVFVocabulary {
    /// OVF 1.x's envelope namespace (DSP0243 1.x), the one Skerry writes:
    /// every vSphere release and ovftool read it.
    public static let envelope1 = "http://schemas.dmtf.org/ovf/envelope/1"
    /// OVF 2.x's envelope namespace, accepted when reading.
    public static let envelope2 = "http://schemas.dmtf.org/ovf/envelope/2"
    public static let rasd = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
    public static let vssd = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
    public static let vmware = "http://www.vmware.com/schema/ovf"

    /// The disk format of the VMDK an OVA carries.
    public static let streamOptimized = "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"
    /// VMware's virtual hardware version. vmx-13 (ESXi 6.5) is the oldest
    /// that imports an OVA with a SHA256 manifest; it has vmxnet3 (vmx-07)
    /// and EFI firmware (vmx-08).
    public static let hardwareVersion = "vmx-13"
    /// CIM's operating system id and VMware's guest id for "Other (64-bit)".
    public static let otherGuest64ID = 102
    public static let otherGuest64 = "otherGuest64"
    /// The `vmw:Config` key that selects BIOS or EFI.
    public static let firmwareKey = "firmware"
    /// The memory units written: MiB, as vSphere writes them.
    public static let mebibytes = "byte * 2^20"
}

/// CIM ResourceType values (CIM_ResourceAllocationSettingData) an appliance's items use.
public enum OVFResourceType: Int, Sendable {
    case processor = 3
    case memory = 4
    case ideController = 5
    case parallelSCSIController = 6
    case ethernetAdapter = 10
    case disk = 17
    case sataController = 20
    case serialPort = 21
}

extension NICModel {
    /// The ResourceSubType of an ethernet item: `VmxNet3` as vSphere writes it, or `virtio`.
    public var ovfSubType: String {
        switch self {
        case .vmxnet3: return "VmxNet3"
        case .virtio: return "virtio"
        }
    }

    /// Reads a ResourceSubType, ignoring case (`VMXNET3`, `vmxnet3`, `VirtIO`).
    public init?(ovfSubType: String) {
        let folded = ovfSubType.ovfTrimmed().lowercased()
        guard let model = NICModel.allCases.first(where: { $0.ovfSubType.lowercased() == folded }) else { return nil }
        self = model
    }
}

extension String {
    func ovfTrimmed() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
