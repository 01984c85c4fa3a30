import Foundation
import KernelCore

extension OVFDescriptor {
    /// The largest descriptor read: a Skerry descriptor is about 5 KiB, and
    /// vSphere's own exports stay well under this.
    public static let maximumBytes = 1 << 20

    /// Reads a descriptor: Skerry's own, or one edited by hand or by other
    /// OVF tools, as long as it describes one virtual system with one disk
    /// and one NIC per interface role, all of one model. Refuses anything
    /// else, naming the element that is missing or invalid.
    public init(parsing data: Data) throws(OVFError) {
        guard data.count <= Self.maximumBytes else { throw .tooLarge(bytes: data.count, limit: Self.maximumBytes) }
        let envelope = try OVFElement.parse(data)
        guard envelope.name == "Envelope",
              [OVFVocabulary.envelope1, OVFVocabulary.envelope2].contains(envelope.namespace) else {
            throw .notAnEnvelope(element: envelope.name, namespace: envelope.namespace)
        }
        let disk = try OVFReader.disk(in: envelope)
        let networks = try OVFReader.networks(in: envelope)
        let systems = envelope.children("VirtualSystem")
        guard let system = systems.first else {
            if envelope.child("VirtualSystemCollection") != nil {
                throw .invalid(element: "<VirtualSystemCollection>", value: "a collection",
                               reason: "a Skerry appliance is one <VirtualSystem>")
            }
            throw .missing("<VirtualSystem>")
        }
        guard systems.count == 1 else {
            throw .invalid(element: "<Envelope>", value: "\(systems.count) virtual systems", reason: "a Skerry appliance is one <VirtualSystem>")
        }
        guard let id = system.attributes["id"], !id.isEmpty else { throw .missing("ovf:id on <VirtualSystem>") }
        guard let hardware = system.child("VirtualHardwareSection") else { throw .missing("<VirtualHardwareSection> in <VirtualSystem>") }
        let items = hardware.children("Item").map(OVFReader.Item.init)

        var cpus = 1
        if let processor = items.first(where: { $0.type == .processor }) {
            cpus = try processor.count("VirtualQuantity", of: "processor")
        }
        guard let memory = items.first(where: { $0.type == .memory }) else { throw .missing("memory <Item> (rasd:ResourceType 4)") }
        let memoryBytes = try OVFReader.bytes(quantity: memory.field("VirtualQuantity", of: "memory"),
                                              units: memory.field("AllocationUnits", of: "memory"), of: "memory <Item>")
        guard memoryBytes % (1 << 20) == 0, memoryBytes >= 1 << 20 else {
            throw .invalid(element: "memory <Item>", value: "\(memoryBytes) bytes", reason: "not a whole number of MiB")
        }

        try OVFReader.checkDiskItem(items, diskID: disk.id)
        let ethernet = items.filter { $0.type == .ethernetAdapter }
        let roles = InterfaceRole.allCases
        guard ethernet.count == roles.count else {
            let names = roles.map { $0.name.description }.joined(separator: ", ")
            throw .invalid(element: "<VirtualHardwareSection>", value: "\(ethernet.count) ethernet items",
                           reason: "a Skerry appliance has \(roles.count), one per role in order: \(names)")
        }
        var model: NICModel?
        var interfaces: [OVFInterface] = []
        for (role, item) in zip(roles, ethernet) {
            let what = "ethernet <Item> \(role.rawValue + 1) (\(role.name.description))"
            let subType = try item.field("ResourceSubType", of: what)
            guard let itemModel = NICModel(ovfSubType: subType) else {
                let known = NICModel.allCases.map(\.ovfSubType).joined(separator: " or ")
                throw .invalid(element: "rasd:ResourceSubType of \(what)", value: subType, reason: "Skerry drives \(known)")
            }
            if let model, model != itemModel {
                throw .invalid(element: "rasd:ResourceSubType of \(what)", value: subType,
                               reason: "every NIC of an appliance has one model, and an earlier one is \(model.ovfSubType)")
            }
            model = itemModel
            let connection = try item.field("Connection", of: what)
            guard networks.contains(connection) else {
                throw .invalid(element: "rasd:Connection of \(what)", value: connection, reason: "no <Network> of the NetworkSection has that name")
            }
            var mac: MACAddress?
            if let address = item.fields["Address"], !address.isEmpty {
                guard let parsed = MACAddress(text: Array(address.utf8)) else {
                    throw .invalid(element: "rasd:Address of \(what)", value: address, reason: "not a MAC address like 00:50:56:00:00:01")
                }
                mac = parsed
            }
            interfaces.append(OVFInterface(role: role, network: connection, mac: mac))
        }

        var firmware = Firmware.bios
        let configs = hardware.children.filter { ($0.name == "Config" || $0.name == "ExtraConfig") && $0.attributes["key"] == OVFVocabulary.firmwareKey }
        if let config = configs.last {
            let value = config.attributes["value"] ?? ""
            guard let chosen = Firmware(name: value) else {
                throw .invalid(element: "vmw:\(config.name) firmware", value: value, reason: "expected bios or efi")
            }
            firmware = chosen
        }

        let name = system.child("Name")?.trimmedText ?? ""
        self.init(name: name.isEmpty ? id : name, memoryMiB: Int(memoryBytes >> 20), cpus: cpus, nicModel: model ?? .vmxnet3,
                  firmware: firmware, interfaces: interfaces, disk: disk.disk,
                  serialPort: items.contains { $0.type == .serialPort })
    }
}

enum OVFReader {
    /// An Item's `rasd:` fields by name and its ResourceType.
    struct Item {
        var fields: [String: String] = [:]
        var type: OVFResourceType?

        init(_ element: OVFElement) {
            for child in element.children { fields[child.name] = child.trimmedText }
            type = fields["ResourceType"].flatMap(Int.init).flatMap(OVFResourceType.init(rawValue:))
        }

        func field(_ name: String, of what: String) throws(OVFError) -> String {
            guard let value = fields[name], !value.isEmpty else { throw .missing("rasd:\(name) in the \(what) <Item>") }
            return value
        }

        func count(_ name: String, of what: String) throws(OVFError) -> Int {
            let text = try field(name, of: what)
            guard let value = Int(text), value >= 1, value <= 1024 else {
                throw .invalid(element: "rasd:\(name) of the \(what) <Item>", value: text, reason: "not a count from 1 to 1024")
            }
            return value
        }
    }

    /// The one disk of DiskSection, with its file from References.
    static func disk(in envelope: OVFElement) throws(OVFError) -> (disk: OVFDisk, id: String) {
        guard let references = envelope.child("References") else { throw .missing("<References>") }
        guard let section = envelope.child("DiskSection") else { throw .missing("<DiskSection>") }
        let disks = section.children("Disk")
        guard let disk = disks.first else { throw .missing("<Disk> in <DiskSection>") }
        guard disks.count == 1 else {
            throw .invalid(element: "<DiskSection>", value: "\(disks.count) disks", reason: "a Skerry appliance has one disk")
        }
        guard let id = disk.attributes["diskId"], !id.isEmpty else { throw .missing("ovf:diskId on <Disk>") }
        guard let fileRef = disk.attributes["fileRef"], !fileRef.isEmpty else { throw .missing("ovf:fileRef on <Disk>") }
        guard let file = references.children("File").first(where: { $0.attributes["id"] == fileRef }) else {
            throw .invalid(element: "ovf:fileRef of <Disk>", value: fileRef, reason: "no <File> in <References> has that ovf:id")
        }
        guard let href = file.attributes["href"], !href.isEmpty else { throw .missing("ovf:href on <File ovf:id=\"\(fileRef)\">") }
        guard let capacityText = disk.attributes["capacity"] else { throw .missing("ovf:capacity on <Disk>") }
        let capacity = try bytes(quantity: capacityText, units: disk.attributes["capacityAllocationUnits"] ?? "byte", of: "<Disk> capacity")
        var populated: UInt64?
        if let text = disk.attributes["populatedSize"] {
            guard let value = UInt64(text) else {
                throw .invalid(element: "ovf:populatedSize of <Disk>", value: text, reason: "not a number of bytes")
            }
            populated = value
        }
        var size: UInt64?
        if let text = file.attributes["size"] {
            guard let value = UInt64(text) else {
                throw .invalid(element: "ovf:size of <File ovf:id=\"\(fileRef)\">", value: text, reason: "not a number of bytes")
            }
            size = value
        }
        return (OVFDisk(fileName: href, capacityBytes: capacity, populatedBytes: populated, fileBytes: size), id)
    }

    /// The names of NetworkSection's networks.
    static func networks(in envelope: OVFElement) throws(OVFError) -> [String] {
        guard let section = envelope.child("NetworkSection") else { throw .missing("<NetworkSection>") }
        var names: [String] = []
        for network in section.children("Network") {
            guard let name = network.attributes["name"], !name.isEmpty else { throw .missing("ovf:name on a <Network>") }
            names.append(name)
        }
        return names
    }

    /// The disk item must attach the DiskSection's disk to a controller.
    static func checkDiskItem(_ items: [Item], diskID: String) throws(OVFError) {
        guard let item = items.first(where: { $0.type == .disk }) else { throw .missing("disk <Item> (rasd:ResourceType 17)") }
        let resource = try item.field("HostResource", of: "disk")
        let named = resource.split(separator: "/").last.map(String.init) ?? ""
        guard resource.hasPrefix("ovf:/disk/") || resource.hasPrefix("/disk/"), named == diskID else {
            throw .invalid(element: "rasd:HostResource of the disk <Item>", value: resource,
                           reason: "expected ovf:/disk/\(diskID), the <Disk> of the DiskSection")
        }
    }

    /// `quantity` in `units` as bytes: units are `byte`, `byte * 2^N`, or
    /// KiloBytes/MegaBytes/GigaBytes (powers of 2, as OVF tools mean them).
    static func bytes(quantity: String, units: String, of what: String) throws(OVFError) -> UInt64 {
        guard let value = UInt64(quantity.ovfTrimmed()) else {
            throw .invalid(element: "\(what) quantity", value: quantity, reason: "not a whole number")
        }
        let folded = units.lowercased().filter { !$0.isWhitespace }
        let shift: UInt64?
        switch folded {
        case "byte", "bytes", "b": shift = 0
        case "kilobytes", "kb", "kib": shift = 10
        case "megabytes", "mb", "mib": shift = 20
        case "gigabytes", "gb", "gib": shift = 30
        default:
            if folded.hasPrefix("byte*2^"), let power = UInt64(folded.dropFirst("byte*2^".count)), power <= 40 {
                shift = power
            } else {
                shift = nil
            }
        }
        guard let shift else {
            throw .invalid(element: "\(what) units", value: units, reason: "expected byte, byte * 2^N, or MegaBytes")
        }
        let (result, overflow) = value.multipliedReportingOverflow(by: 1 << shift)
        guard !overflow else { throw .invalid(element: "\(what) quantity", value: "\(quantity) \(units)", reason: "too large") }
        return result
    }
}
