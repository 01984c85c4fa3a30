import KernelCore

/// A libvirt domain for an appliance's qcow2: one vCPU, the disk on IDE,
/// three NICs on the networks named after their roles, the serial console,
/// and no graphics.
public struct LibvirtDomain: Sendable, Equatable {
    public var name: String
    public var memoryMiB: Int
    public var firmware: Firmware
    public var nicModel: NICModel
    public var serial: SerialPortSetting
    /// The qcow2, as an absolute path: libvirt resolves nothing relative.
    public var diskPath: String
    /// The MACs the appliance file pins, by role; libvirt chooses the others.
    public var macs: [InterfaceRole: MACAddress]

    public init(name: String, memoryMiB: Int = ImageOptions.defaultMemoryMiB, firmware: Firmware = .bios,
                nicModel: NICModel = .virtio, serial: SerialPortSetting = .pty, diskPath: String,
                macs: [InterfaceRole: MACAddress] = [:]) {
        self.name = name
        self.memoryMiB = memoryMiB
        self.firmware = firmware
        self.nicModel = nicModel
        self.serial = serial
        self.diskPath = diskPath
        self.macs = macs
    }

    /// The `<model type=>` of the NICs.
    public var modelType: String {
        switch nicModel {
        case .vmxnet3: return "vmxnet3"
        // The kernel's virtio-net driver speaks the legacy interface (I/O BAR),
        // which libvirt's plain `virtio` omits on PCIe machines and future
        // defaults; `virtio-transitional` always offers it.
        case .virtio: return "virtio-transitional"
        }
    }

    /// The domain XML.
    public var xml: String {
        var lines: [String] = []
        lines.append("<domain type='kvm'>")
        lines.append("  <name>\(name.xmlEscaped)</name>")
        lines.append("  <memory unit='MiB'>\(memoryMiB)</memory>")
        lines.append("  <vcpu>1</vcpu>")
        lines.append(firmware == .uefi ? "  <os firmware='efi'>" : "  <os>")
        // `pc` (i440FX) has IDE, which both SeaBIOS and OVMF boot from.
        lines.append("    <type arch='x86_64' machine='pc'>hvm</type>")
        lines.append("    <boot dev='hd'/>")
        lines.append("  </os>")
        lines.append("  <features>")
        lines.append("    <acpi/>")
        lines.append("    <apic/>")
        lines.append("  </features>")
        lines.append("  <on_poweroff>destroy</on_poweroff>")
        lines.append("  <on_reboot>restart</on_reboot>")
        lines.append("  <on_crash>destroy</on_crash>")
        lines.append("  <devices>")
        lines.append("    <disk type='file' device='disk'>")
        lines.append("      <driver name='qemu' type='qcow2'/>")
        lines.append("      <source file='\(diskPath.xmlEscaped)'/>")
        lines.append("      <target dev='hda' bus='ide'/>")
        lines.append("    </disk>")
        if nicModel == .virtio {
            lines.append("    <!-- virtio-transitional: the kernel's virtio-net driver speaks the legacy (0.9.5) interface -->")
        }
        lines.append("    <!-- In role order: the kernel assigns admin, public, private in PCI order unless MACs are pinned -->")
        for role in InterfaceRole.allCases {
            lines.append("    <interface type='network'>")
            lines.append("      <source network='\(role.name)'/>")
            if let mac = macs[role] { lines.append("      <mac address='\(UserNetworks.text(mac))'/>") }
            lines.append("      <model type='\(modelType)'/>")
            lines.append("    </interface>")
        }
        switch serial {
        case .pty:
            lines.append("    <serial type='pty'>")
            lines.append("      <target port='0'/>")
            lines.append("    </serial>")
            lines.append("    <console type='pty'>")
            lines.append("      <target type='serial' port='0'/>")
            lines.append("    </console>")
        case .telnet(let port):
            for element in ["serial", "console"] {
                lines.append("    <\(element) type='tcp'>")
                lines.append("      <source mode='bind' host='127.0.0.1' service='\(port)'/>")
                lines.append("      <protocol type='telnet'/>")
                lines.append(element == "serial" ? "      <target port='0'/>" : "      <target type='serial' port='0'/>")
                lines.append("    </\(element)>")
            }
        }
        // Nothing else on the PCI bus: no USB controller, no balloon, no graphics or video.
        lines.append("    <controller type='usb' model='none'/>")
        lines.append("    <memballoon model='none'/>")
        lines.append("  </devices>")
        lines.append("</domain>")
        return lines.joined(separator: "\n") + "\n"
    }
}
