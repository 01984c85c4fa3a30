import Foundation
import KernelCore
import Testing
@testable import SkerryKit

/// The OVF descriptor: written, read back by Skerry and by independent
/// parsers (Python's ElementTree, and xmlschema against DMTF's OVF 1.1 XSD),
/// read from hand-edited descriptors, and refused by element when malformed.
@Suite struct OVFDescriptorTests {
    static func sample(model: NICModel = .vmxnet3, firmware: Firmware = .uefi, macs: Bool = true) -> OVFDescriptor {
        var interfaces = OVFInterface.standard
        if macs {
            for index in interfaces.indices { interfaces[index].mac = MACAddress(0x00, 0x50, 0x56, 0x00, 0x01, UInt8(index + 1)) }
        }
        return OVFDescriptor(name: "web", memoryMiB: 256, nicModel: model, firmware: firmware, interfaces: interfaces,
                             disk: OVFDisk(fileName: "web-disk1.vmdk", capacityBytes: 12_582_912, populatedBytes: 6_291_456,
                                           fileBytes: 6_500_352))
    }

    @Test(arguments: [(NICModel.vmxnet3, Firmware.uefi, true), (.virtio, .bios, false), (.vmxnet3, .bios, false)])
    func aWrittenDescriptorReadsBackTheSame(model: NICModel, firmware: Firmware, macs: Bool) throws {
        let written = Self.sample(model: model, firmware: firmware, macs: macs)
        let read = try OVFDescriptor(parsing: Data(written.xml.utf8))
        #expect(read == written)
        #expect(read.interfaces.map(\.role) == InterfaceRole.allCases)
        #expect(read.interfaces.map(\.network) == InterfaceRole.allCases.map { $0.name.description })
        #expect(read.memoryMiB == 256 && read.cpus == 1 && read.serialPort)
    }

    @Test func theDefaultsAreOneCPU128MiBVmxNet3AndBIOS() throws {
        let descriptor = OVFDescriptor(name: "a", disk: OVFDisk(fileName: "a.vmdk", capacityBytes: 1 << 20))
        let read = try OVFDescriptor(parsing: Data(descriptor.xml.utf8))
        #expect(read.memoryMiB == 128 && read.cpus == 1 && read.nicModel == .vmxnet3 && read.firmware == .bios)
        #expect(read.interfaces.allSatisfy { $0.mac == nil })
    }

    /// Python's ElementTree, knowing nothing of Skerry, finds each element
    /// where vSphere looks for it.
    @Test func anIndependentParserReadsEveryElement() throws {
        let directory = try OVAFixture.directory()
        defer { directory.remove() }
        let path = directory.path + "/web.ovf"
        try Self.sample().xml.write(toFile: path, atomically: true, encoding: .utf8)
        let script = """
            import sys, xml.etree.ElementTree as ET
            ns = {'ovf': 'http://schemas.dmtf.org/ovf/envelope/1', 'vmw': 'http://www.vmware.com/schema/ovf',
                  'rasd': 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData',
                  'vssd': 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData'}
            O = '{%s}' % ns['ovf']
            root = ET.parse(sys.argv[1]).getroot()
            print('root', root.tag)
            f = root.find('ovf:References/ovf:File', ns)
            print('file', f.get(O + 'id'), f.get(O + 'href'), f.get(O + 'size'))
            d = root.find('ovf:DiskSection/ovf:Disk', ns)
            print('disk', d.get(O + 'diskId'), d.get(O + 'fileRef'), d.get(O + 'capacity'), d.get(O + 'capacityAllocationUnits'), d.get(O + 'populatedSize'), d.get(O + 'format'))
            print('networks', ' '.join(n.get(O + 'name') for n in root.findall('ovf:NetworkSection/ovf:Network', ns)))
            vs = root.findall('ovf:VirtualSystem', ns)
            print('systems', len(vs), vs[0].get(O + 'id'))
            os_ = vs[0].find('ovf:OperatingSystemSection', ns)
            print('os', os_.get(O + 'id'), os_.get('{%s}osType' % ns['vmw']))
            hw = vs[0].find('ovf:VirtualHardwareSection', ns)
            print('system', hw.find('ovf:System/vssd:VirtualSystemType', ns).text)
            items = hw.findall('ovf:Item', ns)
            def f_(i, n):
                e = i.find('rasd:' + n, ns)
                return None if e is None else e.text
            by_id = {f_(i, 'InstanceID'): i for i in items}
            for i in items:
                t = f_(i, 'ResourceType')
                if t == '3': print('cpu', f_(i, 'VirtualQuantity'))
                if t == '4': print('memory', f_(i, 'VirtualQuantity'), f_(i, 'AllocationUnits'))
                if t == '10': print('nic', f_(i, 'ResourceSubType'), f_(i, 'Connection'), f_(i, 'AutomaticAllocation'), f_(i, 'Address'))
                if t == '17': print('diskitem', f_(i, 'HostResource'), 'on', f_(by_id[f_(i, 'Parent')], 'ResourceType'))
                if t == '21': print('serial', i.get(O + 'required'))
            for c in hw.findall('vmw:Config', ns):
                print('config', c.get('{%s}key' % ns['vmw']), c.get('{%s}value' % ns['vmw']), c.get(O + 'required'))
            """
        let run = try CapturedRun.run("/usr/bin/env", ["python3", "-c", script, path])
        #expect(run.succeeded, "\(run.output)")
        let roles = InterfaceRole.allCases
        let nics = roles.enumerated().map { index, role in "nic VmxNet3 \(role.name.description) true 00:50:56:00:01:0\(index + 1)" }
        let expected = [
            "root {http://schemas.dmtf.org/ovf/envelope/1}Envelope",
            "file file1 web-disk1.vmdk 6500352",
            "disk vmdisk1 file1 12582912 byte 6291456 http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized",
            "networks " + roles.map { $0.name.description }.joined(separator: " "),
            "systems 1 web",
            "os 102 otherGuest64",
            "system vmx-13",
            "cpu 1",
            "memory 256 byte * 2^20",
            "diskitem ovf:/disk/vmdisk1 on 5",
        ] + nics + [
            "serial false",
            "config firmware efi false",
            "config bootOptions.efiSecureBootEnabled false false",
        ]
        #expect(run.output.split(separator: "\n").map(String.init) == expected)
    }

    /// DMTF's OVF 1.1 envelope schema (DSP8023, vendored in Tests/Schemas/OVF
    /// with the CIM schemas it imports) accepts the descriptor, under BIOS
    /// and EFI, with and without pinned MACs.
    @Test(arguments: [Firmware.bios, .uefi])
    func theDescriptorIsValidAgainstTheOVFSchema(firmware: Firmware) throws {
        let python = SkerryPaths.python
        try #require(FileManager.default.isExecutableFile(atPath: python), "scripts/setup installs xmlschema into .build/python")
        let directory = try OVAFixture.directory()
        defer { directory.remove() }
        let path = directory.path + "/web.ovf"
        try Self.sample(firmware: firmware, macs: firmware == .uefi).xml.write(toFile: path, atomically: true, encoding: .utf8)
        let valid = try CapturedRun.run(python, [SkerryPaths.ovfSchemaScript, SkerryPaths.ovfSchema, path])
        #expect(valid.succeeded && valid.output == "valid\n", "\(valid.output)")
        // The check can fail: an item whose rasd: children are out of the schema's order is refused.
        let swapped = Self.sample(firmware: firmware).xml.replacingOccurrences(
            of: "<rasd:ResourceType>10</rasd:ResourceType>",
            with: "<rasd:ResourceType>10</rasd:ResourceType><rasd:Caption>late</rasd:Caption>")
        try swapped.write(toFile: path, atomically: true, encoding: .utf8)
        let invalid = try CapturedRun.run(python, [SkerryPaths.ovfSchemaScript, SkerryPaths.ovfSchema, path])
        #expect(!invalid.succeeded, "\(invalid.output)")
    }

    /// A descriptor as ovftool exports one and an administrator edits it:
    /// `ovf:`-prefixed items, a SCSI controller as well, other vmw:Config
    /// keys, GiB units, uppercase VMXNET3, firmware as vmw:ExtraConfig.
    @Test func aHandEditedVMwareStyleDescriptorIsRead() throws {
        let text = """
            <?xml version="1.0" encoding="UTF-8"?>
            <!-- exported, then edited by hand -->
            <ovf:Envelope xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:vmw="http://www.vmware.com/schema/ovf"
              xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
              xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
              <ovf:References><ovf:File ovf:href="other.iso" ovf:id="file0"/><ovf:File ovf:href="lb-disk1.vmdk" ovf:id="file1" ovf:size="100"/></ovf:References>
              <ovf:DiskSection><ovf:Info>Disks</ovf:Info>
                <ovf:Disk ovf:capacity="1" ovf:capacityAllocationUnits="byte * 2^30" ovf:diskId="vmdisk1" ovf:fileRef="file1"/>
              </ovf:DiskSection>
              <ovf:NetworkSection><ovf:Info>Networks</ovf:Info>
                <ovf:Network ovf:name="Management"/><ovf:Network ovf:name="DMZ"/><ovf:Network ovf:name="Servers"/><ovf:Network ovf:name="Unused"/>
              </ovf:NetworkSection>
              <ovf:VirtualSystem ovf:id="lb-1">
                <ovf:Info>A VM</ovf:Info>
                <ovf:VirtualHardwareSection>
                  <ovf:Info>hw</ovf:Info>
                  <ovf:Item><rasd:ElementName>2 CPUs</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></ovf:Item>
                  <ovf:Item><rasd:AllocationUnits>byte*2^30</rasd:AllocationUnits><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity> 1 </rasd:VirtualQuantity></ovf:Item>
                  <ovf:Item><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>lsilogic</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></ovf:Item>
                  <ovf:Item><rasd:InstanceID>4</rasd:InstanceID><rasd:ResourceType>5</rasd:ResourceType></ovf:Item>
                  <ovf:Item><rasd:HostResource>/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>5</rasd:InstanceID><rasd:Parent>4</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></ovf:Item>
                  <ovf:Item><rasd:Connection>Management</rasd:Connection><rasd:InstanceID>6</rasd:InstanceID><rasd:ResourceSubType>VMXNET3</rasd:ResourceSubType><rasd:ResourceType>10</rasd:ResourceType>
                    <vmw:Config ovf:required="false" vmw:key="wakeOnLanEnabled" vmw:value="false"/></ovf:Item>
                  <ovf:Item><rasd:Address>00:50:56:3f:00:02</rasd:Address><rasd:Connection>DMZ</rasd:Connection><rasd:InstanceID>7</rasd:InstanceID><rasd:ResourceSubType>vmxnet3</rasd:ResourceSubType><rasd:ResourceType>10</rasd:ResourceType></ovf:Item>
                  <ovf:Item><rasd:Connection>Servers</rasd:Connection><rasd:InstanceID>8</rasd:InstanceID><rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType><rasd:ResourceType>10</rasd:ResourceType></ovf:Item>
                  <vmw:Config ovf:required="false" vmw:key="cpuHotAddEnabled" vmw:value="false"/>
                  <vmw:ExtraConfig ovf:required="false" vmw:key="firmware" vmw:value="EFI"/>
                </ovf:VirtualHardwareSection>
              </ovf:VirtualSystem>
            </ovf:Envelope>
            """
        let read = try OVFDescriptor(parsing: Data(text.utf8))
        #expect(read.name == "lb-1")
        #expect(read.cpus == 2 && read.memoryMiB == 1024)
        #expect(read.nicModel == .vmxnet3 && read.firmware == .uefi && !read.serialPort)
        #expect(read.interfaces.map(\.network) == ["Management", "DMZ", "Servers"])
        #expect(read.interfaces.map(\.mac) == [nil, MACAddress(0x00, 0x50, 0x56, 0x3F, 0x00, 0x02), nil])
        #expect(read.disk == OVFDisk(fileName: "lb-disk1.vmdk", capacityBytes: 1 << 30, fileBytes: 100))
    }

    /// Each malformed descriptor is refused with a message naming what is wrong.
    @Test(arguments: [
        ("<Item>\n        <rasd:AllocationUnits>byte * 2^20", "<Item>\n        <rasd:AllocationUnits>furlongs",
         "the OVF descriptor's memory <Item> units is \"furlongs\": expected byte, byte * 2^N, or MegaBytes"),
        ("<rasd:VirtualQuantity>256</rasd:VirtualQuantity>", "<rasd:VirtualQuantity>lots</rasd:VirtualQuantity>",
         "the OVF descriptor's memory <Item> quantity is \"lots\": not a whole number"),
        ("<rasd:ResourceType>4</rasd:ResourceType>", "<rasd:ResourceType>99</rasd:ResourceType>",
         "the OVF descriptor has no memory <Item> (rasd:ResourceType 4)"),
        ("<rasd:Connection>public</rasd:Connection>", "<rasd:Connection>dmz</rasd:Connection>",
         "the OVF descriptor's rasd:Connection of ethernet <Item> 2 (public) is \"dmz\": no <Network> of the NetworkSection has that name"),
        ("<rasd:Address>00:50:56:00:01:03</rasd:Address>", "<rasd:Address>00:50:56:zz:01:03</rasd:Address>",
         "the OVF descriptor's rasd:Address of ethernet <Item> 3 (private) is \"00:50:56:zz:01:03\": not a MAC address like 00:50:56:00:00:01"),
        ("vmw:key=\"firmware\" vmw:value=\"efi\"", "vmw:key=\"firmware\" vmw:value=\"coreboot\"",
         "the OVF descriptor's vmw:Config firmware is \"coreboot\": expected bios or efi"),
        ("ovf:fileRef=\"file1\"", "ovf:fileRef=\"file9\"",
         "the OVF descriptor's ovf:fileRef of <Disk> is \"file9\": no <File> in <References> has that ovf:id"),
        ("<rasd:HostResource>ovf:/disk/vmdisk1", "<rasd:HostResource>ovf:/disk/vmdisk2",
         "the OVF descriptor's rasd:HostResource of the disk <Item> is \"ovf:/disk/vmdisk2\": expected ovf:/disk/vmdisk1, the <Disk> of the DiskSection"),
        (" ovf:capacity=\"12582912\"", "", "the OVF descriptor has no ovf:capacity on <Disk>"),
        ("<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\"", "<Envelope xmlns=\"urn:other\"",
         "the OVF descriptor's root element is <Envelope> in namespace urn:other; expected an OVF 1.x or 2.x <Envelope>"),
    ])
    func aMalformedDescriptorIsRefusedNamingTheElement(original: String, replacement: String, message: String) throws {
        let text = Self.sample().xml
        #expect(text.contains(original), "the sample holds \(original)")
        let edited = text.replacingOccurrences(of: original, with: replacement)
        #expect { try OVFDescriptor(parsing: Data(edited.utf8)) } throws: { "\($0)" == message }
    }

    @Test func aWrongNumberOfNICsOrMixedModelsIsRefused() throws {
        var two = Self.sample()
        two.interfaces.removeLast()
        let names = InterfaceRole.allCases.map { $0.name.description }.joined(separator: ", ")
        #expect { try OVFDescriptor(parsing: Data(two.xml.utf8)) } throws: {
            "\($0)" == "the OVF descriptor's <VirtualHardwareSection> is \"2 ethernet items\": a Skerry appliance has 3, one per role in order: \(names)"
        }
        let text = Self.sample().xml
        let lastVmx = try #require(text.range(of: "<rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType>", options: .backwards))
        let mixed = text.replacingCharacters(in: lastVmx, with: "<rasd:ResourceSubType>E1000</rasd:ResourceSubType>")
        #expect { try OVFDescriptor(parsing: Data(mixed.utf8)) } throws: {
            "\($0)" == "the OVF descriptor's rasd:ResourceSubType of ethernet <Item> 3 (private) is \"E1000\": Skerry drives virtio or VmxNet3"
        }
        let virtio = text.replacingCharacters(in: lastVmx, with: "<rasd:ResourceSubType>virtio</rasd:ResourceSubType>")
        #expect { try OVFDescriptor(parsing: Data(virtio.utf8)) } throws: {
            "\($0)" == "the OVF descriptor's rasd:ResourceSubType of ethernet <Item> 3 (private) is \"virtio\": every NIC of an appliance has one model, and an earlier one is VmxNet3"
        }
    }

    @Test func notXMLAndOversizedDescriptorsAreRefused() throws {
        #expect { try OVFDescriptor(parsing: Data("<Envelope><References>".utf8)) } throws: {
            "\($0)".hasPrefix("the OVF descriptor is not well-formed XML (line ")
        }
        #expect { try OVFDescriptor(parsing: Data("<Envelope/>".utf8)) } throws: {
            "\($0)" == "the OVF descriptor's root element is <Envelope> in no namespace; expected an OVF 1.x or 2.x <Envelope>"
        }
        let big = Data(repeating: 0x20, count: OVFDescriptor.maximumBytes + 1)
        #expect { try OVFDescriptor(parsing: big) } throws: {
            "\($0)" == "the OVF descriptor is \(OVFDescriptor.maximumBytes + 1) bytes; descriptors of more than \(OVFDescriptor.maximumBytes) bytes are refused"
        }
        let deep = String(repeating: "<a>", count: 100) + String(repeating: "</a>", count: 100)
        #expect { try OVFDescriptor(parsing: Data(deep.utf8)) } throws: { "\($0)".contains("nest deeper than 64 levels") }
    }

    /// Entity expansion is refused at once, and an external entity is never
    /// read: a descriptor cannot pull a host file into the appliance's name.
    @Test func hostileEntitiesAreNotExpanded() throws {
        var laughs = "<?xml version=\"1.0\"?>\n<!DOCTYPE Envelope [\n<!ENTITY l0 \"lol\">\n"
        for level in 1...10 { laughs += "<!ENTITY l\(level) \"" + String(repeating: "&l\(level - 1);", count: 10) + "\">\n" }
        laughs += "]>\n<Envelope xmlns=\"\(OVFVocabulary.envelope1)\"><References>&l10;</References></Envelope>"
        let clock = ContinuousClock()
        let started = clock.now
        #expect { try OVFDescriptor(parsing: Data(laughs.utf8)) } throws: { "\($0)".hasPrefix("the OVF descriptor is not well-formed XML") }
        #expect(clock.now - started < .seconds(2))
        let directory = try OVAFixture.directory()
        defer { directory.remove() }
        let secret = directory.path + "/secret"
        try "SECRET".write(toFile: secret, atomically: true, encoding: .utf8)
        let external = Self.sample().xml
            .replacingOccurrences(of: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
                                  with: "<?xml version=\"1.0\"?>\n<!DOCTYPE Envelope [<!ENTITY x SYSTEM \"file://\(secret)\">]>")
            .replacingOccurrences(of: "<Name>web</Name>", with: "<Name>&x;</Name>")
        #expect(external.contains("&x;"))
        let read = try OVFDescriptor(parsing: Data(external.utf8))
        #expect(read.name == "web")
    }
}

/// Where the tests find the Python with xmlschema and the vendored OVF schema.
enum SkerryPaths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var python: String { root.appendingPathComponent(".build/python/bin/python3").path }
    static var ovfSchema: String { root.appendingPathComponent("Tests/Schemas/OVF/dsp8023_1.1.1.xsd").path }
    static var ovfSchemaScript: String { root.appendingPathComponent("Tests/Schemas/OVF/validate.py").path }
}
