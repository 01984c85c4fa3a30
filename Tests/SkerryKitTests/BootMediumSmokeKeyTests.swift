import Foundation
@testable import SkerryKit
import Testing

/// A suite's `image:` boots a prebuilt artefact; its `appliance:` still names the services.
@Suite struct SmokeImageKeyTests {
    static let directory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("skerry-smoke-image-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for name in ["web.iso", "web.qcow2", "web.vhd"] { FileManager.default.createFile(atPath: url.appendingPathComponent(name).path, contents: Data()) }
        return url
    }()

    static let web = URL(fileURLWithPath: SmokeParserTests.sample).deletingLastPathComponent().deletingLastPathComponent().path

    func parse(_ text: String) -> (SmokeSuite?, [String]) {
        do {
            return (try SmokeParser.parse(text, file: Self.directory.appendingPathComponent("suite.yaml").path), [])
        } catch {
            guard case .invalid(let list) = error else { return (nil, ["\(error)"]) }
            return (nil, list.map { "\($0.line):\($0.column): \($0.message)" })
        }
    }

    @Test func anImageBesideAnApplianceIsWhatBoots() throws {
        let (suite, problems) = parse("""
            appliance: \(Self.web)
            image: web.iso
            firmware: uefi
            steps: [shutdown]
            """)
        #expect(problems.isEmpty, "\(problems)")
        #expect(suite?.image == Self.directory.appendingPathComponent("web.iso").path)
        #expect(suite?.firmware == .uefi)
        #expect(suite?.appliance.hasSuffix("Samples/web") == true)
    }

    @Test func anImageAloneIsEnough() {
        let (suite, problems) = parse("image: web.qcow2\nsteps: [shutdown]")
        #expect(problems.isEmpty, "\(problems)")
        #expect(suite?.image?.hasSuffix("web.qcow2") == true)
    }

    @Test func mismatchesAreReportedWhereTheyAreWritten() {
        #expect(parse("image: web.vhd\nsteps: [shutdown]").1.first?.hasPrefix("1:8: cannot boot") == true)
        #expect(parse("image: gone.iso\nsteps: [shutdown]").1.first?.hasPrefix("1:8: no image at") == true)
        #expect(parse("image: web.iso\nappend: selftest\nsteps: [shutdown]").1 == [
            "2:9: --append applies to a kernel (.elf32); the arguments of '\(Self.directory.path)/web.iso' are in its grub.cfg: set them with `skerry image --append`"])
        #expect(parse("appliance: \(Self.web)\nfirmware: uefi\nsteps: [shutdown]").1 == [
            "2:11: UEFI boots an ISO or a disk image; make one with `skerry image`"])
        #expect(parse("image: web.iso\nfirmware: coreboot\nsteps: [shutdown]").1 == ["2:11: firmware is bios or uefi, not coreboot"])
    }
}
