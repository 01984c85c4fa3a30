import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import KernelCore
import Testing
@testable import SkerryKit

/// The libvirt domain `skerry image --format libvirt` writes, parsed back
/// element by element and validated against libvirt's own schema.
@Suite struct ImageLibvirtDomainTests {
    static func parse(_ domain: LibvirtDomain) throws -> XMLElement {
        try #require(try XMLDocument(xmlString: domain.xml, options: []).rootElement())
    }

    static func elements(_ root: XMLElement, _ path: String) throws -> [XMLElement] {
        try root.nodes(forXPath: path).compactMap { $0 as? XMLElement }
    }

    static func value(_ root: XMLElement, _ path: String) throws -> String? {
        try root.nodes(forXPath: path).first?.stringValue
    }

    static let combinations: [(NICModel, Firmware, SerialPortSetting)] = NICModel.allCases.flatMap { model in
        Firmware.allCases.flatMap { firmware in [SerialPortSetting.pty, .telnet(port: 4555)].map { (model, firmware, $0) } }
    }

    @Test(arguments: combinations)
    func theDomainHasEveryElementAsAsked(_ model: NICModel, _ firmware: Firmware, _ serial: SerialPortSetting) throws {
        let domain = LibvirtDomain(name: "web", memoryMiB: 192, firmware: firmware, nicModel: model, serial: serial,
                                   diskPath: "/srv/images/web & co.qcow2")
        let root = try Self.parse(domain)
        #expect(root.name == "domain")
        #expect(try Self.value(root, "/domain/name") == "web")
        #expect(try Self.value(root, "/domain/memory") == "192")
        #expect(try Self.value(root, "/domain/memory/@unit") == "MiB")
        #expect(try Self.value(root, "/domain/vcpu") == "1")
        #expect(try Self.value(root, "/domain/os/type") == "hvm")
        #expect(try Self.value(root, "/domain/os/type/@machine") == "pc")
        #expect(try Self.value(root, "/domain/os/@firmware") == (firmware == .uefi ? "efi" : nil))
        #expect(try Self.value(root, "/domain/devices/disk/source/@file") == "/srv/images/web & co.qcow2")
        #expect(try Self.value(root, "/domain/devices/disk/driver/@type") == "qcow2")
        #expect(try Self.value(root, "/domain/devices/disk/target/@bus") == "ide")

        let interfaces = try Self.elements(root, "/domain/devices/interface")
        #expect(interfaces.map { $0.attribute(forName: "type")?.stringValue } == ["network", "network", "network"])
        #expect(try interfaces.map { try Self.value($0, "source/@network") } == ["admin", "public", "private"])
        let expectedModel = model == .virtio ? "virtio-transitional" : "vmxnet3"
        #expect(try interfaces.map { try Self.value($0, "model/@type") } == [expectedModel, expectedModel, expectedModel])
        #expect(try interfaces.allSatisfy { try Self.elements($0, "mac").isEmpty }, "no MAC pinned, none written")

        for element in ["serial", "console"] {
            let device = try #require(try Self.elements(root, "/domain/devices/\(element)").first)
            switch serial {
            case .pty:
                #expect(device.attribute(forName: "type")?.stringValue == "pty")
            case .telnet(let port):
                #expect(device.attribute(forName: "type")?.stringValue == "tcp")
                #expect(try Self.value(device, "source/@mode") == "bind")
                #expect(try Self.value(device, "source/@host") == "127.0.0.1")
                #expect(try Self.value(device, "source/@service") == "\(port)")
                #expect(try Self.value(device, "protocol/@type") == "telnet")
            }
            #expect(try Self.value(device, "target/@port") == "0")
        }
        #expect(try Self.value(root, "/domain/devices/console/target/@type") == "serial")
        for absent in ["graphics", "video", "sound", "input"] {
            #expect(try Self.elements(root, "/domain/devices/\(absent)").isEmpty, "\(absent)")
        }
        #expect(try Self.value(root, "/domain/devices/memballoon/@model") == "none")
    }

    @Test(arguments: combinations)
    func virtXMLValidateAcceptsTheDomain(_ model: NICModel, _ firmware: Firmware, _ serial: SerialPortSetting) throws {
        let validate = try DebianTool.virtXMLValidate.locate()
        _ = try DebianTool.xmllint.locate()
        let macs: [InterfaceRole: MACAddress] = [.public: MACAddress(0x02, 0, 0, 0, 0, 0x22)]
        let domain = LibvirtDomain(name: "web", firmware: firmware, nicModel: model, serial: serial, diskPath: "/srv/web.qcow2", macs: macs)
        let directory = try TemporaryDirectory(prefix: "skerry-libvirt")
        defer { directory.remove() }
        let file = directory.path + "/web.xml"
        try Data(domain.xml.utf8).write(to: URL(fileURLWithPath: file))
        let result = try CapturedRun.run(validate, [file, "domain"])
        #expect(result.succeeded && result.output.contains("validates"), "\(result.output)\n\(domain.xml)")
    }

    /// The validator really validates: an element libvirt does not know fails.
    @Test func virtXMLValidateRefusesABrokenDomain() throws {
        let validate = try DebianTool.virtXMLValidate.locate()
        let directory = try TemporaryDirectory(prefix: "skerry-libvirt")
        defer { directory.remove() }
        let file = directory.path + "/web.xml"
        let broken = LibvirtDomain(name: "web", diskPath: "/srv/web.qcow2").xml
            .replacingOccurrences(of: "<vcpu>1</vcpu>", with: "<vcpus>1</vcpus>")
        try Data(broken.utf8).write(to: URL(fileURLWithPath: file))
        #expect(try !CapturedRun.run(validate, [file, "domain"]).succeeded)
    }

    @Test func pinnedMACsGoOnTheirRolesInterfaces() throws {
        let check = try ApplianceCheck.run(file: "mac.conf", text: """
            appliance mac
            nic admin address 10.0.1.15/24 gateway 10.0.1.2 mac 02:00:00:00:00:0a
            nic private address 10.0.3.15/24 gateway 10.0.3.2 mac 02:00:00:00:00:0c
            service web {
                port 80
                backend web1 10.0.3.2:8081
            }
            """)
        let macs = check.appliance.pinnedMACs
        #expect(macs == [.admin: MACAddress(2, 0, 0, 0, 0, 0x0a), .private: MACAddress(2, 0, 0, 0, 0, 0x0c)])
        let root = try Self.parse(LibvirtDomain(name: "mac", diskPath: "/srv/mac.qcow2", macs: macs))
        let interfaces = try Self.elements(root, "/domain/devices/interface")
        #expect(try interfaces.map { try Self.value($0, "source/@network") } == ["admin", "public", "private"])
        #expect(try interfaces.map { try Self.value($0, "mac/@address") } == ["02:00:00:00:00:0a", nil, "02:00:00:00:00:0c"])
    }
}
