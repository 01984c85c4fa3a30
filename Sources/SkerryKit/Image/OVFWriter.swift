import KernelCore

extension OVFDescriptor {
    /// The descriptor as an OVF 1.x envelope (DSP0243) with VMware's
    /// extensions. The `rasd:`/`vssd:` children of each item are in the
    /// alphabetical order the CIM schemas' sequences require.
    public var xml: String {
        var lines: [String] = [
            #"<?xml version="1.0" encoding="UTF-8"?>"#,
            #"<Envelope xmlns="\#(OVFVocabulary.envelope1)" xmlns:ovf="\#(OVFVocabulary.envelope1)""#
                + #" xmlns:rasd="\#(OVFVocabulary.rasd)" xmlns:vssd="\#(OVFVocabulary.vssd)""#
                + #" xmlns:vmw="\#(OVFVocabulary.vmware)">"#,
            "  <References>",
            "    <File ovf:href=\"\(disk.fileName.xmlEscaped)\" ovf:id=\"\(OVFWriter.fileID)\""
                + (disk.fileBytes.map { " ovf:size=\"\($0)\"" } ?? "") + "/>",
            "  </References>",
            "  <DiskSection>",
            "    <Info>Virtual disk information</Info>",
            "    <Disk ovf:capacity=\"\(disk.capacityBytes)\" ovf:capacityAllocationUnits=\"byte\""
                + " ovf:diskId=\"\(OVFWriter.diskID)\" ovf:fileRef=\"\(OVFWriter.fileID)\""
                + " ovf:format=\"\(OVFVocabulary.streamOptimized)\""
                + (disk.populatedBytes.map { " ovf:populatedSize=\"\($0)\"" } ?? "") + "/>",
            "  </DiskSection>",
            "  <NetworkSection>",
            "    <Info>The networks of the appliance's interfaces</Info>",
        ]
        for interface in interfaces {
            lines += [
                "    <Network ovf:name=\"\(interface.network.xmlEscaped)\">",
                "      <Description>The \(interface.role.name.description) network</Description>",
                "    </Network>",
            ]
        }
        lines += [
            "  </NetworkSection>",
            "  <VirtualSystem ovf:id=\"\(name.xmlEscaped)\">",
            "    <Info>A Skerry appliance</Info>",
            "    <Name>\(name.xmlEscaped)</Name>",
            "    <OperatingSystemSection ovf:id=\"\(OVFVocabulary.otherGuest64ID)\" vmw:osType=\"\(OVFVocabulary.otherGuest64)\">",
            "      <Info>The guest operating system</Info>",
            "      <Description>Other (64-bit)</Description>",
            "    </OperatingSystemSection>",
            "    <VirtualHardwareSection>",
            "      <Info>Virtual hardware requirements</Info>",
            "      <System>",
            "        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>",
            "        <vssd:InstanceID>0</vssd:InstanceID>",
            "        <vssd:VirtualSystemIdentifier>\(name.xmlEscaped)</vssd:VirtualSystemIdentifier>",
            "        <vssd:VirtualSystemType>\(OVFVocabulary.hardwareVersion)</vssd:VirtualSystemType>",
            "      </System>",
        ]
        var items = OVFWriter.Items()
        items.add(.processor, [
            ("AllocationUnits", "hertz * 10^6"), ("Description", "Number of virtual CPUs"),
            ("ElementName", "\(cpus) virtual CPU(s)"), ("VirtualQuantity", "\(cpus)"),
        ])
        items.add(.memory, [
            ("AllocationUnits", OVFVocabulary.mebibytes), ("Description", "Memory size"),
            ("ElementName", "\(memoryMiB) MB of memory"), ("VirtualQuantity", "\(memoryMiB)"),
        ])
        // IDE: BIOS and EFI firmware both boot from it, on vSphere and under
        // SeaBIOS and OVMF, with no option ROM or firmware driver involved.
        let controller = items.add(.ideController, [
            ("Address", "0"), ("Description", "IDE controller"), ("ElementName", "IDE controller 0"),
        ])
        items.add(.disk, [
            ("AddressOnParent", "0"), ("ElementName", "Hard disk 1"),
            ("HostResource", "ovf:/disk/\(OVFWriter.diskID)"), ("Parent", "\(controller)"),
        ])
        for (index, interface) in interfaces.enumerated() {
            var fields: [(String, String)] = []
            if let mac = interface.mac { fields.append(("Address", UserNetworks.text(mac))) }
            fields += [
                ("AutomaticAllocation", "true"), ("Connection", interface.network),
                ("Description", "\(nicModel.ovfSubType) ethernet adapter on \"\(interface.network)\""),
                ("ElementName", "Network adapter \(index + 1) (\(interface.role.name.description))"),
            ]
            items.add(.ethernetAdapter, fields, subType: nicModel.ovfSubType)
        }
        if serialPort {
            // Not connected at power-on: the administrator gives it a
            // network backing (telnet) on vSphere, which a host device
            // backing cannot provide.
            items.add(.serialPort, [
                ("AutomaticAllocation", "false"), ("Description", "COM1, the appliance's console"),
                ("ElementName", "Serial port 1"),
            ], subType: "vmware.serialport.device", required: false)
        }
        lines += items.lines
        lines.append(OVFWriter.config(OVFVocabulary.firmwareKey, firmware.ovfValue))
        if firmware == .uefi {
            // GRUB's EFI image is not signed for Secure Boot.
            lines.append(OVFWriter.config("bootOptions.efiSecureBootEnabled", "false"))
        }
        lines += [
            "    </VirtualHardwareSection>",
            "  </VirtualSystem>",
            "</Envelope>",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}

enum OVFWriter {
    static let fileID = "file1"
    static let diskID = "vmdisk1"

    static func config(_ key: String, _ value: String) -> String {
        "      <vmw:Config ovf:required=\"false\" vmw:key=\"\(key.xmlEscaped)\" vmw:value=\"\(value.xmlEscaped)\"/>"
    }

    /// The VirtualHardwareSection's items, numbered from 1 in the order added.
    struct Items {
        var lines: [String] = []
        var nextID = 1

        /// Adds an item; `fields` are its `rasd:` children other than
        /// InstanceID, ResourceSubType and ResourceType. Returns its InstanceID.
        @discardableResult
        mutating func add(_ type: OVFResourceType, _ fields: [(String, String)], subType: String? = nil,
                          required: Bool = true) -> Int {
            let id = nextID
            nextID += 1
            var all = fields + [("InstanceID", "\(id)"), ("ResourceType", "\(type.rawValue)")]
            if let subType { all.append(("ResourceSubType", subType)) }
            all.sort { $0.0 < $1.0 }
            lines.append(required ? "      <Item>" : "      <Item ovf:required=\"false\">")
            for (name, value) in all { lines.append("        <rasd:\(name)>\(value.xmlEscaped)</rasd:\(name)>") }
            lines.append("      </Item>")
            return id
        }
    }
}
