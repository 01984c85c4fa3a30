import Foundation
@testable import SkerryKit
import Testing

/// The extension of what is booted decides how QEMU attaches it, and no boot can write to it.
@Suite struct BootMediumTests {
    @Test func eachExtensionNamesItsMedium() throws {
        #expect(try BootMedium(path: "/a/skerry.elf32") == .kernel(URL(fileURLWithPath: "/a/skerry.elf32")))
        #expect(try BootMedium(path: "/a/x.iso") == .cdrom(URL(fileURLWithPath: "/a/x.iso")))
        #expect(try BootMedium(path: "/a/X.ISO") == .cdrom(URL(fileURLWithPath: "/a/X.ISO")), "case-insensitive")
        #expect(try BootMedium(path: "/a/x.img") == .disk(URL(fileURLWithPath: "/a/x.img"), format: .raw))
        #expect(try BootMedium(path: "/a/x.raw") == .disk(URL(fileURLWithPath: "/a/x.raw"), format: .raw))
        #expect(try BootMedium(path: "/a/x.qcow2") == .disk(URL(fileURLWithPath: "/a/x.qcow2"), format: .qcow2))
        #expect(try BootMedium(path: "/a/x.vmdk") == .disk(URL(fileURLWithPath: "/a/x.vmdk"), format: .vmdk))
    }

    @Test func anUnknownExtensionNamesEveryAcceptedOne() {
        for path in ["/a/skerry.elf", "/a/x.vhd", "/a/kernel", "/a/x.iso.gz"] {
            #expect(throws: BootMedium.Problem.unknownExtension(path)) { try BootMedium(path: path) }
            let message = BootMedium.Problem.unknownExtension(path).description
            for accepted in [".elf32", ".iso", ".img", ".raw", ".qcow2", ".vmdk"] {
                #expect(message.contains(accepted), "\(message)")
            }
            #expect(message.contains("'\(path)'"))
        }
        #expect(BootMedium.acceptedExtensions.count == BootMedium.byExtension.count + 1, "and .ova")
    }

    @Test func anOVAIsAPackageTheSessionOpens() throws {
        #expect(try BootMedium(path: "/a/web.OVA") == .package(URL(fileURLWithPath: "/a/web.OVA")))
        #expect(BootMedium.acceptedExtensions.contains(".ova"))
        #expect(throws: BootMedium.Problem.appendToImage("/a/web.ova")) {
            try BootMedium(path: "/a/web.ova").check(firmware: .bios, kernelArguments: "selftest")
        }
    }

    @Test func uefiNeedsAnImageAndAnImageTakesNoAppend() throws {
        let kernel = try BootMedium(path: "/a/k.elf32")
        let iso = try BootMedium(path: "/a/x.iso")
        #expect(throws: BootMedium.Problem.uefiNeedsImage) { try kernel.check(firmware: .uefi, kernelArguments: "") }
        #expect(throws: Never.self) { try kernel.check(firmware: .bios, kernelArguments: "selftest") }
        #expect(throws: BootMedium.Problem.appendToImage("/a/x.iso")) { try iso.check(firmware: .bios, kernelArguments: "selftest") }
        #expect(throws: Never.self) { try iso.check(firmware: .uefi, kernelArguments: "") }
        #expect(BootMedium.Problem.uefiNeedsImage.description == "UEFI boots an ISO or a disk image; make one with `skerry image`")
        #expect(BootMedium.Problem.appendToImage("/a/x.iso").description.contains("skerry image --append"))
    }

    @Test func qemuAttachesImagesSoTheArtefactIsNeverWritten() throws {
        #expect(try BootMedium(path: "/a/k.elf32").qemuArguments == ["-kernel", "/a/k.elf32"])
        #expect(try BootMedium(path: "/a/x.iso").qemuArguments == ["-drive", "file=/a/x.iso,media=cdrom,if=ide,readonly=on"])
        #expect(try BootMedium(path: "/a/x.img").qemuArguments == ["-drive", "file=/a/x.img,format=raw,if=ide,snapshot=on"])
        #expect(try BootMedium(path: "/a/x.vmdk").qemuArguments == ["-drive", "file=/a/x.vmdk,format=vmdk,if=ide,snapshot=on"])
        #expect(try BootMedium(path: "/a,b/x.qcow2").qemuArguments == ["-drive", "file=/a,,b/x.qcow2,format=qcow2,if=ide,snapshot=on"],
                "a comma in the path is doubled, not read as QEMU's next option")
    }

    @Test func theCommandLineCarriesFirmwareAndMediumInsteadOfKernel() throws {
        var command = QemuCommand(executable: "qemu", medium: try BootMedium(path: "/a/x.iso"))
        command.firmware = "/usr/share/ovmf/OVMF.fd"
        let arguments = command.arguments
        #expect(!arguments.contains("-kernel") && !arguments.contains("-append"))
        #expect(arguments[arguments.firstIndex(of: "-bios")! + 1] == "/usr/share/ovmf/OVMF.fd")
        #expect(arguments[arguments.firstIndex(of: "-drive")! + 1].hasPrefix("file=/a/x.iso,media=cdrom"))
        #expect(!QemuCommand(executable: "qemu", image: URL(fileURLWithPath: "/k.elf32")).arguments.contains("-bios"), "SeaBIOS is QEMU's own")
    }

    @Test func aBootSessionRefusesAMismatchBeforeStartingQEMU() throws {
        var request = BootRequest(image: URL(fileURLWithPath: "/nonexistent/x.iso"))
        request.kernelArguments = "selftest"
        #expect(throws: BootSetupError.self) { try BootSession(request: request, observe: { _ in }) }
        do {
            _ = try BootSession(request: request, observe: { _ in })
        } catch {
            guard case .medium(.appendToImage) = error else { Issue.record("\(error)"); return }
        }
        request.kernelArguments = ""
        do {
            _ = try BootSession(request: request, observe: { _ in })
            Issue.record("a missing image is refused")
        } catch {
            guard case .imageMissing = error else { Issue.record("\(error)"); return }
            #expect(error.description == "no image at /nonexistent/x.iso (make one with `skerry image`)")
        }
    }

    @Test func firmwareReadsBothSpellings() {
        #expect(Firmware(name: "uefi") == .uefi && Firmware(name: "EFI") == .uefi && Firmware(name: "bios") == .bios)
        #expect(Firmware(name: "coreboot") == nil)
    }
}
