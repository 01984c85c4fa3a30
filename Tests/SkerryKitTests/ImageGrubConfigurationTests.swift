import Foundation
import Testing
@testable import SkerryKit

/// The grub.cfg `skerry image` writes: serial only, no menu, and the boot
/// arguments quoted so GRUB's parser hands each word over unchanged.
@Suite struct ImageGrubConfigurationTests {
    static func multibootLine(_ configuration: GrubConfiguration) -> String? {
        configuration.text.split(separator: "\n").first { $0.hasPrefix("multiboot ") }.map(String.init)
    }

    @Test func theConfigurationIsSerialOnlyWithNoMenuAndBootsTheKernel() throws {
        let configuration = try GrubConfiguration(append: "heartbeat=1000 shutdown-after=0")
        #expect(configuration.text.split(separator: "\n").map(String.init) == [
            "serial --unit=0 --speed=115200",
            "terminal_input serial console",
            "terminal_output serial console",
            "set timeout=0",
            "multiboot /boot/skerry.elf 'heartbeat=1000' 'shutdown-after=0'",
            "boot",
        ])
        #expect(try GrubConfiguration(append: "").arguments.isEmpty)
        #expect(Self.multibootLine(try GrubConfiguration(append: "   ")) == "multiboot /boot/skerry.elf")
    }

    @Test func wordsGRUBWouldInterpretAreQuotedAndSplitOnlyAtSpaces() throws {
        let hostile = "x=$x ; a;b {c} #d $(e) `f` * ? ~ é=ü admin=10.0.1.15/24,gw=10.0.1.2,mac=52:54:00:12:34:56"
        let configuration = try GrubConfiguration(append: "  " + hostile.replacingOccurrences(of: " ", with: "   ") + " ")
        #expect(configuration.arguments == hostile.split(separator: " ").map(String.init))
        #expect(Self.multibootLine(configuration)
            == "multiboot /boot/skerry.elf " + hostile.split(separator: " ").map { "'\($0)'" }.joined(separator: " "))
    }

    @Test func aFourKiBArgumentIsKeptWhole() throws {
        let long = "key=" + String(repeating: "$;x", count: 4096 / 3)
        let configuration = try GrubConfiguration(append: "first \(long) last")
        #expect(configuration.arguments == ["first", long, "last"])
        #expect(Self.multibootLine(configuration) == "multiboot /boot/skerry.elf 'first' '\(long)' 'last'")
    }

    @Test(arguments: ["it's", "say=\"hi\"", "back\\slash", "line\nbreak", "tab\there", "bell\u{7}", "del\u{7F}", "nul\u{0}x", "cr\rx"])
    func quotesBackslashesAndControlBytesAreRefusedNamingTheWord(_ word: String) {
        #expect(throws: ImageError.self) { try GrubConfiguration(append: "heartbeat=1000 \(word)") }
        do {
            _ = try GrubConfiguration(append: "heartbeat=1000 \(word)")
        } catch {
            #expect(error.isUsage)
            #expect(error.description.contains(String(reflecting: word)), "\(error)")
            #expect(error.description.contains("--append"), "\(error)")
        }
    }

    /// GRUB's own parser accepts what we write, for every hostile word we let through.
    @Test func grubScriptCheckAcceptsTheConfiguration() throws {
        let check = try #require(findExecutable("grub-script-check"), "grub-script-check (grub-common) is installed by scripts/setup")
        let directory = try TemporaryDirectory(prefix: "skerry-grubcfg")
        defer { directory.remove() }
        let file = directory.path + "/grub.cfg"
        for append in ["", "heartbeat=1000", "x=$x ; a;b {c} #d $(e) `f` && || | < >", "key=" + String(repeating: "$;{", count: 1400)] {
            try Data(try GrubConfiguration(append: append).text.utf8).write(to: URL(fileURLWithPath: file))
            let result = try CapturedRun.run(check, [file])
            #expect(result.succeeded, "\(append): \(result.output)")
        }
        // The check can fail: an unquoted `{` is a syntax error to GRUB.
        try Data("multiboot /boot/skerry.elf }\n".utf8).write(to: URL(fileURLWithPath: file))
        #expect(try !CapturedRun.run(check, [file]).succeeded)
    }
}
