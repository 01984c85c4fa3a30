import Foundation
import SkerryKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `skerry image` as a user runs it: the files it writes, what it prints
/// about them, its cache, and what it refuses without writing anything.
@Suite(.serialized) struct ImageCommandTests {
    static let web = SkerryCLI.packageRoot.appendingPathComponent("Samples/web").path

    /// One line of `skerry image`'s output: `PATH  SIZE (N bytes)  sha256 HEX`.
    struct Printed: Equatable {
        var path: String
        var bytes: Int
        var sha256: String

        init?(_ line: String) {
            let fields = line.components(separatedBy: "  ")
            guard fields.count == 3, fields[2].hasPrefix("sha256 "),
                  let open = fields[1].firstIndex(of: "("), fields[1].hasSuffix(" bytes)"),
                  let bytes = Int(fields[1][fields[1].index(after: open)...].dropLast(" bytes)".count))
            else { return nil }
            path = fields[0]
            self.bytes = bytes
            sha256 = String(fields[2].dropFirst("sha256 ".count))
            // The human-readable size is Format.bytes of the same number.
            guard fields[1].hasPrefix(Format.bytes(Double(bytes)) + " ") else { return nil }
        }
    }

    static func image(_ arguments: [String], environment: [String: String?] = [:]) -> (SkerryCLI.Run, [Printed]) {
        let run = SkerryCLI.run(["image", web] + arguments, timeout: 600, environment: environment)
        return (run, run.lines.compactMap(Printed.init))
    }

    /// The SHA-256 as coreutils computes it, independently of skerry's own.
    static func sha256sum(_ path: String) throws -> String {
        let tool = try #require(findExecutable("sha256sum"))
        return String(try CapturedRun.run(tool, [path]).output.prefix(64))
    }

    static func fileSize(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int
    }

    static func qemuImgInfo(_ path: String) throws -> [String: Any] {
        let tool = try DebianTool.qemuImg.locate()
        let result = try CapturedRun.run(tool, ["info", "--output=json", path])
        #expect(result.succeeded, "\(result.output)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
    }

    /// Everything in `directory` (names), to show nothing else was left there.
    static func contents(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    static func checkPrinted(_ printed: Printed, path: String) throws {
        #expect(printed.path == path)
        #expect(Self.fileSize(path) == printed.bytes, "\(path): the size printed is the file's")
        #expect(try Self.sha256sum(path) == printed.sha256, "\(path): the SHA-256 printed is the file's")
    }

    @Test func everyDiskFormatWritesOneFileWhoseSizeAndDigestArePrinted() throws {
        let directory = try TemporaryDirectory(prefix: "skerry-image")
        defer { directory.remove() }
        var digests: [ImageFormat: String] = [:]
        for format in [ImageFormat.iso, .raw, .qcow2, .vmdk] {
            let path = "\(directory.path)/web.\(format.fileExtension)"
            let (run, printed) = Self.image(["--format", format.rawValue, "-o", path])
            #expect(run.code == 0, "\(format): \(run.stderr)")
            #expect(printed.count == 1, "\(run.stdout)")
            try Self.checkPrinted(try #require(printed.first), path: path)
            digests[format] = printed.first?.sha256
        }
        #expect(Self.contents(directory.path) == ["web.img", "web.iso", "web.qcow2", "web.vmdk"], "no temporary file is left")
        let iso = try #require(Self.fileSize("\(directory.path)/web.iso"))
        #expect(iso <= 5 * 1024 * 1024, "the ISO is at most 5 MiB: \(iso) bytes")
        #expect(digests[.raw] == digests[.iso], "raw is the hybrid ISO's bytes")
        #expect(FileManager.default.contentsEqual(atPath: "\(directory.path)/web.img", andPath: "\(directory.path)/web.iso"))
        // The ISO is a hybrid: an MBR boot signature, and the ISO 9660 volume descriptor at 32 KiB.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(directory.path)/web.iso"))
        #expect(bytes[510] == 0x55 && bytes[511] == 0xAA)
        #expect(bytes[32769..<32774] == Data("CD001".utf8))

        #expect(try Self.qemuImgInfo("\(directory.path)/web.qcow2")["format"] as? String == "qcow2")
        let vmdk = try Self.qemuImgInfo("\(directory.path)/web.vmdk")
        #expect(vmdk["format"] as? String == "vmdk")
        let specific = (vmdk["format-specific"] as? [String: Any])?["data"] as? [String: Any]
        #expect(specific?["create-type"] as? String == "streamOptimized", "\(vmdk)")
        #expect(vmdk["virtual-size"] as? Int == iso, "the disk holds the ISO's bytes")
    }

    @Test func libvirtWritesADomainThatValidatesBesideItsQcow2() throws {
        let directory = try TemporaryDirectory(prefix: "skerry-image")
        defer { directory.remove() }
        let xml = "\(directory.path)/web.xml"
        let disk = "\(directory.path)/web.qcow2"
        let (run, printed) = Self.image(["--format", "libvirt", "-o", xml, "--nic-model", "vmxnet3", "--firmware", "uefi",
                                         "--memory", "256", "--serial", "telnet:4555"])
        #expect(run.code == 0, "\(run.stderr)")
        #expect(printed.map(\.path) == [xml, disk], "\(run.stdout)")
        for file in printed { try Self.checkPrinted(file, path: file.path) }
        #expect(Self.contents(directory.path) == ["web.qcow2", "web.xml"])
        #expect(try Self.qemuImgInfo(disk)["format"] as? String == "qcow2")

        let text = try String(contentsOfFile: xml, encoding: .utf8)
        #expect(text.contains("<source file='\(disk)'/>"), "the disk by its absolute path:\n\(text)")
        #expect(text.contains("<memory unit='MiB'>256</memory>") && text.contains("<os firmware='efi'>")
            && text.contains("<model type='vmxnet3'/>") && text.contains("service='4555'"), "\(text)")
        let validate = try DebianTool.virtXMLValidate.locate()
        _ = try DebianTool.xmllint.locate()
        let result = try CapturedRun.run(validate, [xml, "domain"])
        #expect(result.succeeded, "\(result.output)")
    }

    @Test func ovaHoldsADescriptorManifestAndDiskThatOpenAsWritten() throws {
        let directory = try TemporaryDirectory(prefix: "skerry-image")
        defer { directory.remove() }
        let path = "\(directory.path)/web.ova"
        let (run, printed) = Self.image(["--format", "ova", "-o", path, "--memory", "192", "--firmware", "uefi"])
        #expect(run.code == 0, "\(run.stderr)")
        try Self.checkPrinted(try #require(printed.first), path: path)
        let size = try #require(Self.fileSize(path))
        #expect(size <= 5 * 1024 * 1024, "the OVA is at most 5 MiB: \(size) bytes")
        #expect(Self.contents(directory.path) == ["web.ova"])

        // GNU tar lists the descriptor first, then the manifest, then the disk.
        let tar = try CapturedRun.run(try #require(findExecutable("tar")), ["tf", path])
        #expect(tar.output.split(separator: "\n") == ["web.ovf", "web.mf", "web-disk1.vmdk"], "\(tar.output)")

        let extracted = try TemporaryDirectory(prefix: "skerry-ova")
        defer { extracted.remove() }
        let opened = try OVAPackage.open(URL(fileURLWithPath: path), into: URL(fileURLWithPath: extracted.path))
        #expect(opened.descriptor.memoryMiB == 192)
        #expect(opened.descriptor.firmware == .uefi)
        #expect(opened.descriptor.nicModel == .vmxnet3, "an OVA's NICs are vmxnet3 unless --nic-model says otherwise")
        #expect(opened.descriptor.interfaces.map(\.network) == ["admin", "public", "private"])
        let vmdk = try Self.qemuImgInfo(opened.disk.path)
        #expect(vmdk["virtual-size"] as? Int == Int(opened.descriptor.disk.capacityBytes), "the DiskSection's capacity is the disk's")
        let specific = (vmdk["format-specific"] as? [String: Any])?["data"] as? [String: Any]
        #expect(specific?["create-type"] as? String == "streamOptimized", "\(vmdk)")
    }

    @Test func anUnchangedTreeComesFromTheCacheWithTheSameDigest() throws {
        let directory = try TemporaryDirectory(prefix: "skerry-image")
        defer { directory.remove() }
        let first = Self.image(["--format", "qcow2", "-o", "\(directory.path)/a.qcow2", "--append", "heartbeat=1000"])
        #expect(first.0.code == 0, "\(first.0.stderr)")
        let started = Date()
        let second = Self.image(["--format", "qcow2", "-o", "\(directory.path)/b.qcow2", "--append", "heartbeat=1000"])
        let seconds = Date().timeIntervalSince(started)
        #expect(second.0.code == 0, "\(second.0.stderr)")
        #expect(second.0.stderr.contains("qcow2 image from the cache"), "\(second.0.stderr)")
        #expect(second.1.first?.sha256 == first.1.first?.sha256)
        #expect(seconds < 10, "a cache hit takes \(seconds) s")
        try Self.checkPrinted(try #require(second.1.first), path: "\(directory.path)/b.qcow2")
        // Other boot arguments are another image.
        let other = Self.image(["--format", "qcow2", "-o", "\(directory.path)/c.qcow2", "--append", "heartbeat=2000"])
        #expect(other.0.code == 0 && other.1.first?.sha256 != first.1.first?.sha256, "\(other.0.stderr)")
    }

    @Test func anUnknownFormatIsAUsageErrorListingTheFormats() throws {
        let directory = try TemporaryDirectory(prefix: "skerry-image")
        defer { directory.remove() }
        let (run, _) = Self.image(["--format", "zip", "-o", "\(directory.path)/web.zip"])
        #expect(run.code == 64)
        for format in ImageFormat.allCases { #expect(run.stderr.contains("- \(format.rawValue)\n"), "\(run.stderr)") }
        #expect(Self.contents(directory.path).isEmpty)
    }

    @Test func anOptionTheFormatIgnoresIsAUsageError() throws {
        let directory = try TemporaryDirectory(prefix: "skerry-image")
        defer { directory.remove() }
        for (format, option) in [("iso", ["--serial", "pty"]), ("raw", ["--memory", "256"]), ("qcow2", ["--firmware", "uefi"]),
                                 ("vmdk", ["--nic-model", "vmxnet3"]), ("iso", ["--append", "it's"]), ("libvirt", ["--serial", "tcp:0"])] {
            let (run, _) = Self.image(["--format", format, "-o", "\(directory.path)/web.\(format)"] + option)
            #expect(run.code == 64, "\(format) \(option): \(run.stderr)")
            #expect(run.stderr.contains(option[0]), "the message names the option: \(run.stderr)")
            #expect(!run.stderr.contains("skerry: appliance"), "nothing was built")
        }
        #expect(Self.contents(directory.path).isEmpty)
    }

    @Test func anUnwritableOutputIsRefusedBeforeBuilding() throws {
        let directory = try TemporaryDirectory(prefix: "skerry-image")
        defer { directory.remove() }
        try FileManager.default.createDirectory(atPath: "\(directory.path)/taken.iso", withIntermediateDirectories: false)
        try Data().write(to: URL(fileURLWithPath: "\(directory.path)/file"))
        for (format, output) in [("iso", "\(directory.path)/missing/web.iso"), ("iso", "\(directory.path)/taken.iso"),
                                 ("qcow2", "\(directory.path)/file/web.qcow2")] {
            let (run, _) = Self.image(["--format", format, "-o", output])
            #expect(run.code == 1, "\(output): \(run.stderr)")
            #expect(run.stderr.contains("cannot write") && run.stderr.contains("nothing was built"), "\(run.stderr)")
            #expect(!run.stderr.contains("skerry: appliance"), "refused before building: \(run.stderr)")
        }
        // The libvirt domain's disk would replace a directory.
        try FileManager.default.createDirectory(atPath: "\(directory.path)/taken.qcow2", withIntermediateDirectories: false)
        let (libvirt, _) = Self.image(["--format", "libvirt", "-o", "\(directory.path)/taken.xml"])
        #expect(libvirt.code == 1 && libvirt.stderr.contains("taken.qcow2 is a directory"), "\(libvirt.stderr)")
        #expect(Self.contents(directory.path) == ["file", "taken.iso", "taken.qcow2"])
    }

    /// A PATH holding the Swift toolchain and links to the image tools except those left out.
    static func narrowedPath(in directory: String, without hidden: Set<String>) throws -> String {
        let bin = "\(directory)/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        for tool in ["grub-mkrescue", "xorriso", "mformat", "mcopy", "qemu-img"] where !hidden.contains(tool) {
            let target = try #require(findExecutable(tool), "\(tool) is installed by scripts/setup")
            try FileManager.default.createSymbolicLink(atPath: "\(bin)/\(tool)", withDestinationPath: target)
        }
        let swiftc = try #require(findExecutable("swiftc"))
        return URL(fileURLWithPath: swiftc).deletingLastPathComponent().path + ":" + bin
    }

    @Test func aMissingToolIsNamedWithItsPackageAndNothingIsWritten() throws {
        let directory = try TemporaryDirectory(prefix: "skerry-image")
        defer { directory.remove() }
        let output = "\(directory.path)/out"
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: false)
        for (format, hidden, message) in [
            ("iso", "grub-mkrescue", "grub-mkrescue not found: install it with `apt-get install grub-pc-bin`"),
            ("iso", "xorriso", "xorriso not found: install it with `apt-get install xorriso`"),
            ("vmdk", "qemu-img", "qemu-img not found: install it with `apt-get install qemu-utils`"),
        ] {
            let path = try Self.narrowedPath(in: "\(directory.path)/\(hidden)", without: [hidden])
            let (run, _) = Self.image(["--format", format, "-o", "\(output)/web.\(format)"], environment: ["PATH": path])
            #expect(run.code == 1, "\(hidden): \(run.stderr)")
            #expect(run.stderr.contains(message), "\(run.stderr)")
            #expect(Self.contents(output).isEmpty, "no file, partial or temporary, is left")
        }
    }

    @Test func anApplianceWithAnErrorIsReportedAtItsLineAndNothingIsWritten() throws {
        let directory = try TemporaryDirectory(prefix: "skerry-image")
        defer { directory.remove() }
        let appliance = "\(directory.path)/bad"
        try FileManager.default.createDirectory(atPath: appliance, withIntermediateDirectories: false)
        try Data("appliance bad\nservice web {\n    port 80\n    backend web1 10.0.3.2:8081\n    frobnicate 3\n}\n".utf8)
            .write(to: URL(fileURLWithPath: "\(appliance)/appliance.conf"))
        for format in ["iso", "libvirt"] {
            let run = SkerryCLI.run(["image", appliance, "--format", format, "-o", "\(directory.path)/bad.\(format)"], timeout: 120)
            #expect(run.code == 1, "\(run.stderr)")
            #expect(run.stderr.contains("\(appliance)/appliance.conf:5:5: error: unknown service setting 'frobnicate'"), "\(run.stderr)")
            #expect(run.stderr.contains("nothing was built"), "\(run.stderr)")
        }
        #expect(Self.contents(directory.path) == ["bad"])
        #expect(Self.contents(appliance) == ["appliance.conf"])
    }

    /// Ctrl-C while GRUB's tools run: the command stops with 130 and leaves
    /// no file at -o, no temporary file beside it and no half-built cache entry.
    @Test func anInterruptedBuildLeavesNoFile() throws {
        let directory = try TemporaryDirectory(prefix: "skerry-image")
        defer { directory.remove() }
        // Arguments never built before, so the ISO is made now.
        let append = "heartbeat=1000 run=\(UInt64.random(in: 1...UInt64.max))"
        let child = try ChildProcess.spawn(executable: SkerryCLI.executable, arguments: [
            "image", Self.web, "--format", "vmdk", "-o", "\(directory.path)/web.vmdk", "--append", append])
        child.closeInput()
        defer { child.terminate() }
        var stderr = ""
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(300)
        while !stderr.contains("making the ISO"), Date() < deadline {
            let count = read(child.standardError, &buffer, buffer.count)
            guard count > 0 else { break }
            stderr += String(decoding: buffer[0..<count], as: UTF8.self)
        }
        #expect(stderr.contains("making the ISO"), "\(stderr)")
        // As a terminal's Ctrl-C: to the whole process group, grub-mkrescue included.
        kill(-child.pid, SIGINT)
        let termination = child.wait(timeout: 60)
        while true {
            let count = read(child.standardError, &buffer, buffer.count)
            guard count > 0 else { break }
            stderr += String(decoding: buffer[0..<count], as: UTF8.self)
        }
        #expect(termination == .exited(130), "\(String(describing: termination)): \(stderr)")
        #expect(stderr.contains("interrupted"), "\(stderr)")
        #expect(Self.contents(directory.path).isEmpty, "no file is left")
        let cache = SkerryCLI.packageRoot.appendingPathComponent(".build/skerry/images").path
        // Other suites build images into the same cache at once: only this run's staging entry counts.
        #expect(!Self.contents(cache).contains { $0.hasPrefix(".staging") && $0.hasSuffix("-\(child.pid)") },
                "no half-built cache entry: \(Self.contents(cache))")
    }
}
