import Foundation
import KernelCore
import Testing
@testable import SkerryKit

/// Temporary directories, disks and hand-made tars for the OVA and tar tests.
enum OVAFixture {
    static func directory() throws -> TemporaryDirectory { try TemporaryDirectory(prefix: "skerry-ova-test") }

    /// A disk file of `bytes` pseudo-random bytes (not a multiple of 512, so padding is exercised).
    static func disk(in directory: TemporaryDirectory, bytes: Int = 1_200_123) throws -> URL {
        var generator = SystemRandomNumberGenerator()
        var data = [UInt8](repeating: 0, count: bytes)
        for index in stride(from: 0, to: bytes, by: 8) {
            let word = generator.next() as UInt64
            for offset in 0..<min(8, bytes - index) { data[index + offset] = UInt8(truncatingIfNeeded: word >> (8 * UInt64(offset))) }
        }
        let url = URL(fileURLWithPath: directory.path + "/source.vmdk")
        try Data(data).write(to: url)
        return url
    }

    static func descriptor() -> OVFDescriptor {
        OVFDescriptor(name: "web", memoryMiB: 192, disk: OVFDisk(fileName: "web-disk1.vmdk", capacityBytes: 8 << 20))
    }

    /// Writes a good OVA of `descriptor()` and returns its path.
    static func package(in directory: TemporaryDirectory, diskBytes: Int = 1_200_123) throws -> URL {
        let disk = try disk(in: directory, bytes: diskBytes)
        let ova = URL(fileURLWithPath: directory.path + "/web.ova")
        try OVAPackage.write(descriptor: descriptor(), disk: disk, to: ova)
        return ova
    }

    /// A ustar header built here, independently of TarHeader, so that
    /// hostile headers (NUL in names, huge sizes, links) can be made.
    static func header(name: [UInt8], size: UInt64, type: UInt8 = UInt8(ascii: "0"), base256Size: Bool = false) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        for (index, byte) in name.prefix(100).enumerated() { block[index] = byte }
        func field(_ text: String, at offset: Int) { for (index, byte) in text.utf8.enumerated() { block[offset + index] = byte } }
        field("0000644\0", at: 100)
        field("0000000\0", at: 108)
        field("0000000\0", at: 116)
        if base256Size {
            block[124] = 0x80
            for index in 0..<8 { block[135 - index] = UInt8(truncatingIfNeeded: size >> (8 * UInt64(index))) }
        } else {
            let octal = String(size, radix: 8)
            field(String(repeating: "0", count: 11 - octal.count) + octal + "\0", at: 124)
        }
        field("00000000000\0", at: 136)
        block[156] = type
        field("ustar\000", at: 257)
        for index in 148..<156 { block[index] = 0x20 }
        let sum = block.reduce(0) { $0 + Int($1) }
        let octal = String(sum, radix: 8)
        field(String(repeating: "0", count: 6 - octal.count) + octal + "\0 ", at: 148)
        return block
    }

    /// A tar of `entries` (name, data), each padded, ending with two zero blocks unless `end` is false.
    static func tar(_ entries: [(name: String, data: [UInt8])], end: Bool = true) -> [UInt8] {
        var bytes: [UInt8] = []
        for entry in entries {
            bytes += header(name: Array(entry.name.utf8), size: UInt64(entry.data.count))
            bytes += entry.data
            bytes += [UInt8](repeating: 0, count: (512 - entry.data.count % 512) % 512)
        }
        if end { bytes += [UInt8](repeating: 0, count: 1024) }
        return bytes
    }

    static func manifest(_ files: [(String, [UInt8])]) -> [UInt8] {
        Array(files.map { "SHA256(\($0.0))= \(SHA256.hex($0.1))\n" }.joined().utf8)
    }

    /// A consistent small package's files: descriptor, manifest, disk.
    static func files(disk: [UInt8] = Array("not really a vmdk".utf8)) -> [(name: String, data: [UInt8])] {
        var descriptor = descriptor()
        descriptor.disk.fileBytes = UInt64(disk.count)
        let ovf = Array(descriptor.xml.utf8)
        return [("web.ovf", ovf), ("web.mf", manifest([("web.ovf", ovf), ("web-disk1.vmdk", disk)])), ("web-disk1.vmdk", disk)]
    }

    static func write(_ bytes: [UInt8], in directory: TemporaryDirectory, name: String = "crafted.ova") throws -> URL {
        let url = URL(fileURLWithPath: directory.path + "/" + name)
        try Data(bytes).write(to: url)
        return url
    }

    /// Opens `ova` into a fresh directory; returns the error's text and what the directory holds afterwards.
    static func refusal(_ ova: URL, in directory: TemporaryDirectory) throws -> (message: String, left: [String]) {
        let into = directory.path + "/into"
        try FileManager.default.createDirectory(atPath: into, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: into) }
        do {
            _ = try OVAPackage.open(ova, into: URL(fileURLWithPath: into))
            return ("opened", try FileManager.default.contentsOfDirectory(atPath: into))
        } catch {
            return ("\(error)", try FileManager.default.contentsOfDirectory(atPath: into))
        }
    }
}

@Suite struct OVAPackageTests {
    @Test func aWrittenPackageOpensWithItsDescriptorAndDisk() throws {
        let directory = try OVAFixture.directory()
        defer { directory.remove() }
        let ova = try OVAFixture.package(in: directory)
        let into = URL(fileURLWithPath: directory.path + "/opened")
        try FileManager.default.createDirectory(at: into, withIntermediateDirectories: true)
        let opened = try OVAPackage.open(ova, into: into)
        var expected = OVAFixture.descriptor()
        expected.disk.fileBytes = 1_200_123
        #expect(opened.descriptor == expected)
        #expect(opened.disk.path == into.path + "/web-disk1.vmdk")
        #expect(try Data(contentsOf: opened.disk) == Data(contentsOf: URL(fileURLWithPath: directory.path + "/source.vmdk")))
        #expect(try FileManager.default.contentsOfDirectory(atPath: into.path) == ["web-disk1.vmdk"])
        // Nothing but the package in its directory: the temporary file was renamed.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["opened", "source.vmdk", "web.ova"])
    }

    /// GNU tar lists the descriptor, manifest and disk in that order, as
    /// ustar regular files, and extracts files whose SHA-256 sums are the
    /// manifest's lines (checked by sha256sum, not by Skerry).
    @Test func gnuTarAndSha256sumAgreeWithThePackage() throws {
        let directory = try OVAFixture.directory()
        defer { directory.remove() }
        let ova = try OVAFixture.package(in: directory)
        let list = try CapturedRun.run("/usr/bin/env", ["tar", "tvf", ova.path])
        #expect(list.succeeded, "\(list.output)")
        let rows = list.output.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(rows.map { String($0.last ?? "") } == ["web.ovf", "web.mf", "web-disk1.vmdk"])
        #expect(rows.allSatisfy { $0.first == "-rw-r--r--" })
        #expect(rows.last.map { String($0[2]) } == "\(1_200_123)")
        let format = try CapturedRun.run("/bin/sh", ["-c", "head -c 263 '\(ova.path)' | tail -c 6 | od -An -c"])
        #expect(format.output.contains("u   s   t   a   r  \\0"), "\(format.output)")
        let out = directory.path + "/x"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let check = try CapturedRun.run("/bin/sh", ["-c", """
            cd '\(out)' && tar xf '\(ova.path)' && sed -E 's/^SHA256\\((.*)\\)= ([0-9a-f]{64})$/\\2  \\1/' web.mf | sha256sum -c -
            """])
        #expect(check.succeeded && check.output == "web.ovf: OK\nweb-disk1.vmdk: OK\n", "\(check.output)")
        let manifest = try String(contentsOfFile: out + "/web.mf", encoding: .utf8)
        #expect(manifest.split(separator: "\n").allSatisfy { $0.hasPrefix("SHA256(web") && $0.contains(")= ") })
    }

    /// Packages GNU tar makes by hand (ustar and GNU formats) open too.
    @Test(arguments: ["ustar", "gnu"])
    func aPackageMadeByGnuTarOpens(format: String) throws {
        let directory = try OVAFixture.directory()
        defer { directory.remove() }
        let parts = directory.path + "/parts"
        try FileManager.default.createDirectory(atPath: parts, withIntermediateDirectories: true)
        for file in OVAFixture.files() { try Data(file.data).write(to: URL(fileURLWithPath: parts + "/" + file.name)) }
        let ova = directory.path + "/made.ova"
        let made = try CapturedRun.run("/usr/bin/env", ["tar", "--format=\(format)", "-C", parts, "-cf", ova, "web.ovf", "web.mf", "web-disk1.vmdk"])
        try #require(made.succeeded, "\(made.output)")
        let result = try OVAFixture.refusal(URL(fileURLWithPath: ova), in: directory)
        #expect(result.message == "opened" && result.left == ["web-disk1.vmdk"], "\(result)")
    }

    /// A streamOptimized VMDK made by qemu-img, as `skerry image` makes
    /// one, comes out of the package as the same disk: qemu-img reads it
    /// as a VMDK of the descriptor's capacity with the raw image's content.
    @Test func aQemuImgStreamOptimizedDiskSurvivesPackaging() throws {
        let qemuImg = try #require(["/usr/bin/qemu-img", "/bin/qemu-img"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                   "scripts/setup installs qemu-utils")
        let directory = try OVAFixture.directory()
        defer { directory.remove() }
        let raw = try OVAFixture.disk(in: directory, bytes: 4 << 20)
        let vmdk = directory.path + "/web-disk1.vmdk"
        let converted = try CapturedRun.run(qemuImg, ["convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw.path, vmdk])
        try #require(converted.succeeded, "\(converted.output)")
        var descriptor = OVAFixture.descriptor()
        descriptor.disk.capacityBytes = 4 << 20
        let ova = URL(fileURLWithPath: directory.path + "/web.ova")
        try OVAPackage.write(descriptor: descriptor, disk: URL(fileURLWithPath: vmdk), to: ova)
        let into = directory.path + "/opened"
        try FileManager.default.createDirectory(atPath: into, withIntermediateDirectories: true)
        let opened = try OVAPackage.open(ova, into: URL(fileURLWithPath: into))
        #expect(opened.descriptor.disk.capacityBytes == 4 << 20)
        let info = try CapturedRun.run(qemuImg, ["info", "--output=json", opened.disk.path])
        #expect(info.output.contains("\"format\": \"vmdk\"") && info.output.contains("\"virtual-size\": \(4 << 20)")
                && info.output.contains("\"create-type\": \"streamOptimized\""), "\(info.output)")
        let same = try CapturedRun.run(qemuImg, ["compare", "-f", "raw", "-F", "vmdk", raw.path, opened.disk.path])
        #expect(same.succeeded && same.output == "Images are identical.\n", "\(same.output)")
    }

    @Test func writingIsAtomicAndLeavesNothingOnError() throws {
        let directory = try OVAFixture.directory()
        defer { directory.remove() }
        let ova = URL(fileURLWithPath: directory.path + "/web.ova")
        try Data("previous".utf8).write(to: ova)
        #expect {
            try OVAPackage.write(descriptor: OVAFixture.descriptor(), disk: URL(fileURLWithPath: directory.path + "/absent.vmdk"), to: ova)
        } throws: { "\($0)" == "\(directory.path)/absent.vmdk: No such file or directory" }
        #expect(try String(contentsOf: ova, encoding: .utf8) == "previous")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["web.ova"])
        // An unwritable destination directory.
        let disk = try OVAFixture.disk(in: directory, bytes: 1000)
        #expect {
            try OVAPackage.write(descriptor: OVAFixture.descriptor(), disk: disk, to: URL(fileURLWithPath: directory.path + "/missing/web.ova"))
        } throws: { "\($0)".hasPrefix("\(directory.path)/missing/web.ova: cannot create a file in \(directory.path)/missing") }
        // A disk name that could not be extracted safely is refused before anything is written.
        var bad = OVAFixture.descriptor()
        bad.disk.fileName = "../web-disk1.vmdk"
        #expect { try OVAPackage.write(descriptor: bad, disk: disk, to: ova) } throws: {
            "\($0)" == "cannot package ../web-disk1.vmdk: the entry name \"../web-disk1.vmdk\" leaves the directory (..)"
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["source.vmdk", "web.ova"])
    }
}

/// Damaged and hostile packages are refused before anything boots, with
/// an error naming the file, and nothing is left where they were opened.
@Suite struct OVADamageTests {
    @Test func aChangedByteInTheDiskIsAChecksumErrorNamingTheDisk() throws {
        let directory = try OVAFixture.directory()
        defer { directory.remove() }
        let ova = try OVAFixture.package(in: directory)
        var bytes = try [UInt8](Data(contentsOf: ova))
        // The disk's data starts after three headers and the padded descriptor and manifest.
        let listing = try TarReader(path: ova.path)
        _ = try listing.next()
        _ = try listing.next()
        let disk = try #require(try listing.next())
        bytes[Int(disk.dataOffset) + 1_000_000] ^= 0x01
        let damaged = try OVAFixture.write(bytes, in: directory)
        let result = try OVAFixture.refusal(damaged, in: directory)
        #expect(result.message.hasPrefix("checksum mismatch: web-disk1.vmdk has SHA256 "), "\(result.message)")
        #expect(result.left.isEmpty)
    }

    @Test func aChangedByteInTheDescriptorIsAChecksumErrorNamingIt() throws {
        var files = OVAFixture.files()
        files[0].data = Array(String(decoding: files[0].data, as: UTF8.self).replacingOccurrences(of: ">192<", with: ">193<").utf8)
        let directory = try OVAFixture.directory()
        defer { directory.remove() }
        let result = try OVAFixture.refusal(try OVAFixture.write(OVAFixture.tar(files), in: directory), in: directory)
        #expect(result.message.hasPrefix("checksum mismatch: web.ovf has SHA256 "), "\(result.message)")
        #expect(result.left.isEmpty)
    }

    /// One crafted tar per refusal, each with its exact message.
    @Test func eachDamageHasItsOwnMessage() throws {
        let directory = try OVAFixture.directory()
        defer { directory.remove() }
        let good = OVAFixture.files()
        let path = directory.path + "/crafted.ova"
        let disk = Array("not really a vmdk".utf8)
        let padded = { (count: Int) in (count + 511) / 512 * 512 }
        let diskData = 3 * 512 + padded(good[0].data.count) + padded(good[1].data.count)
        var malformed = good
        malformed[0].data = Array(String(decoding: good[0].data, as: UTF8.self).replacingOccurrences(of: "<rasd:ResourceType>4<", with: "<rasd:ResourceType>44<").utf8)
        malformed[1].data = OVAFixture.manifest([("web.ovf", malformed[0].data), ("web-disk1.vmdk", disk)])
        var otherDisk = good
        otherDisk[0].data = Array(String(decoding: good[0].data, as: UTF8.self).replacingOccurrences(of: "ovf:href=\"web-disk1.vmdk\"", with: "ovf:href=\"boot.vmdk\"").utf8)
        otherDisk[1].data = OVAFixture.manifest([("web.ovf", otherDisk[0].data), ("web-disk1.vmdk", disk)])
        var wrongSize = good
        wrongSize[0].data = Array(String(decoding: good[0].data, as: UTF8.self).replacingOccurrences(of: "ovf:size=\"17\"", with: "ovf:size=\"18\"").utf8)
        wrongSize[1].data = OVAFixture.manifest([("web.ovf", wrongSize[0].data), ("web-disk1.vmdk", disk)])
        let huge = [UInt8](repeating: 0x20, count: OVFDescriptor.maximumBytes + 1)
        let cases: [(String, [UInt8], String)] = [
            ("descriptor's File size wrong", OVAFixture.tar(wrongSize),
             "web.ovf: the OVF descriptor's ovf:size of the disk's <File> is \"18\": web-disk1.vmdk in the package is 17 bytes"),
            ("oversized descriptor", OVAFixture.tar([("web.ovf", huge)] + good.dropFirst()),
             "web.ovf is \(huge.count) bytes; more than \(OVFDescriptor.maximumBytes) is refused"),
            ("manifest lists an absent file", OVAFixture.tar([good[0], good[1]]), "the manifest lists web-disk1.vmdk but the package does not hold it"),
            ("file not in the manifest", OVAFixture.tar(good + [("extra.iso", [1, 2, 3])]), "the package holds extra.iso but the manifest does not list it"),
            ("file before the manifest not in it", OVAFixture.tar([good[0], ("extra.iso", [1]), good[1], good[2]]), "the package holds extra.iso but the manifest does not list it"),
            ("no manifest", OVAFixture.tar([good[0], good[2]]), "the package has no manifest web.mf; Skerry opens only packages whose files it can check"),
            ("no descriptor", OVAFixture.tar([good[1], good[2]]), "\(path) holds no .ovf descriptor"),
            ("empty archive", OVAFixture.tar([]), "\(path) holds no .ovf descriptor"),
            ("descriptor not first", OVAFixture.tar([good[1], good[0], good[2]]), "the package's first file is web.mf; an OVA starts with its descriptor (web.ovf)"),
            ("truncated in the disk", Array(OVAFixture.tar(good).prefix(diskData + 10)),
             "\(path): \"web-disk1.vmdk\" declares 17 bytes but the archive holds only 10 after its header"),
            ("truncated after the disk", OVAFixture.tar(good, end: false), "\(path): the archive is truncated: it ends after 3 entries without the end-of-archive block"),
            ("truncated in a header", Array(OVAFixture.tar(good).prefix(100)), "\(path): the archive is truncated: the header at byte 0 is cut short"),
            ("malformed descriptor", OVAFixture.tar(malformed), "web.ovf: the OVF descriptor has no memory <Item> (rasd:ResourceType 4)"),
            ("descriptor's disk absent", OVAFixture.tar(otherDisk), "the descriptor's disk boot.vmdk is not in the package"),
            ("SHA1 manifest", OVAFixture.tar([good[0], ("web.mf", Array("SHA1(web.ovf)= 0123456789abcdef0123456789abcdef01234567\n".utf8)), good[2]]),
             "web.mf line 1: the algorithm is SHA1; Skerry checks SHA256 manifests"),
            ("garbled manifest", OVAFixture.tar([good[0], ("web.mf", Array("SHA256 web.ovf = 12\n".utf8)), good[2]]),
             "web.mf line 1: expected ALGORITHM(FILE)= DIGEST"),
        ]
        for (what, bytes, message) in cases {
            let ova = try OVAFixture.write(bytes, in: directory)
            let result = try OVAFixture.refusal(ova, in: directory)
            #expect(result.message == message, "\(what)")
            #expect(result.left.isEmpty, "\(what) left \(result.left)")
        }
    }

    /// A certificate beside the manifest is skipped, and an OVF 2.0
    /// envelope is read like a 1.x one.
    @Test func aCertificateAndTheOVF2NamespaceAreAccepted() throws {
        let directory = try OVAFixture.directory()
        defer { directory.remove() }
        var files = OVAFixture.files()
        files[0].data = Array(String(decoding: files[0].data, as: UTF8.self)
            .replacingOccurrences(of: OVFVocabulary.envelope1, with: OVFVocabulary.envelope2).utf8)
        files[1].data = OVAFixture.manifest([("web.ovf", files[0].data), ("web-disk1.vmdk", files[2].data)])
        let ova = try OVAFixture.write(OVAFixture.tar([files[0], files[1], ("web.cert", Array("-----BEGIN CERTIFICATE-----\n".utf8)), files[2]]), in: directory)
        let result = try OVAFixture.refusal(ova, in: directory)
        #expect(result.message == "opened" && result.left == ["web-disk1.vmdk"], "\(result)")
    }

    @Test func aBadHeaderChecksumIsRefused() throws {
        let directory = try OVAFixture.directory()
        defer { directory.remove() }
        var bytes = OVAFixture.tar(OVAFixture.files())
        let second = 512 + (OVAFixture.files()[0].data.count + 511) / 512 * 512
        bytes[second + 3] ^= 0x20  // a byte of the manifest's name
        let result = try OVAFixture.refusal(try OVAFixture.write(bytes, in: directory), in: directory)
        #expect(result.message == "\(directory.path)/crafted.ova: the tar header at byte \(second) has a bad checksum (the archive is damaged or not a tar)")
        #expect(result.left.isEmpty)
    }

    @Test(arguments: [
        ("../evil", "leaves the directory (..)"), ("/etc/evil", "is an absolute path"), ("a/../../evil", "leaves the directory (..)"),
        ("sub/evil", "is in a subdirectory; an OVA's files sit at its top level"), ("bad\nname", "holds a control character"),
    ])
    func unsafeNamesAreRefusedBeforeAnythingIsWritten(name: String, why: String) throws {
        let directory = try OVAFixture.directory()
        defer { directory.remove() }
        let ova = try OVAFixture.write(OVAFixture.tar(OVAFixture.files() + [(name, [0x41])]), in: directory)
        let result = try OVAFixture.refusal(ova, in: directory)
        #expect(result.message == "\(ova.path): the entry name \(TarName.quoted(Array(name.utf8))) \(why)")
        #expect(result.left.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "/etc/evil") && !FileManager.default.fileExists(atPath: directory.path + "/evil"))
    }

    @Test func aNameWithANulByteIsRefused() throws {
        let directory = try OVAFixture.directory()
        defer { directory.remove() }
        let bytes = OVAFixture.tar(OVAFixture.files(), end: false) + OVAFixture.header(name: Array("x.vmdk\0evil".utf8), size: 0)
            + [UInt8](repeating: 0, count: 1024)
        let result = try OVAFixture.refusal(try OVAFixture.write(bytes, in: directory), in: directory)
        #expect(result.message == "\(directory.path)/crafted.ova: the entry name \"x.vmdk\\x00evil\" holds a NUL byte")
        #expect(result.left.isEmpty)
    }

    @Test func linksAndDirectoriesAreRefused() throws {
        let directory = try OVAFixture.directory()
        defer { directory.remove() }
        for (type, noun) in [(UInt8(ascii: "2"), "a link"), (UInt8(ascii: "5"), "a directory"), (UInt8(ascii: "x"), "a pax or GNU extended header")] {
            let bytes = OVAFixture.tar(OVAFixture.files(), end: false) + OVAFixture.header(name: Array("web-disk2.vmdk".utf8), size: 0, type: type)
                + [UInt8](repeating: 0, count: 1024)
            let result = try OVAFixture.refusal(try OVAFixture.write(bytes, in: directory), in: directory)
            #expect(result.message == "\(directory.path)/crafted.ova: \"web-disk2.vmdk\" is \(noun); an OVA holds only regular files")
            #expect(result.left.isEmpty)
        }
    }

    /// A header claiming 100 GB (GNU base-256) in a small file is refused
    /// from the header alone: nothing is read or allocated for it.
    @Test func aHundredGigabyteDeclaredSizeIsRefusedAtOnce() throws {
        let directory = try OVAFixture.directory()
        defer { directory.remove() }
        let files = OVAFixture.files()
        let bytes = OVAFixture.tar([files[0], files[1]], end: false)
            + OVAFixture.header(name: Array("web-disk1.vmdk".utf8), size: 100_000_000_000, base256Size: true) + Array(repeating: 0, count: 4096)
        let ova = try OVAFixture.write(bytes, in: directory)
        let clock = ContinuousClock()
        let started = clock.now
        let result = try OVAFixture.refusal(ova, in: directory)
        #expect(clock.now - started < .seconds(2))
        #expect(result.message == "\(ova.path): \"web-disk1.vmdk\" declares 100000000000 bytes but the archive holds only 4096 after its header")
        #expect(result.left.isEmpty)
    }

    /// 10,000 tiny entries: refused at the 65th header, in bounded time.
    @Test func tenThousandEntriesAreRefused() throws {
        let directory = try OVAFixture.directory()
        defer { directory.remove() }
        var bytes = OVAFixture.tar(OVAFixture.files(), end: false)
        for index in 0..<10_000 { bytes += OVAFixture.header(name: Array("f\(index)".utf8), size: 0) }
        bytes += [UInt8](repeating: 0, count: 1024)
        let ova = try OVAFixture.write(bytes, in: directory)
        let clock = ContinuousClock()
        let started = clock.now
        let result = try OVAFixture.refusal(ova, in: directory)
        #expect(clock.now - started < .seconds(5))
        // The first unlisted file is refused before the entry limit is reached.
        #expect(result.message == "the package holds f0 but the manifest does not list it")
        // Before the manifest, entries are only counted; the limit stops them.
        let unlisted = OVAFixture.tar([OVAFixture.files()[0]], end: false)
            + (0..<10_000).flatMap { OVAFixture.header(name: Array("f\($0)".utf8), size: 0) } + [UInt8](repeating: 0, count: 1024)
        let second = try OVAFixture.refusal(try OVAFixture.write(unlisted, in: directory), in: directory)
        #expect(second.message == "\(ova.path): the archive holds more than \(TarReader.maximumEntries) entries")
        #expect(result.left.isEmpty && second.left.isEmpty)
    }

    @Test func anExistingFileInTheDirectoryIsNeverReplaced() throws {
        let directory = try OVAFixture.directory()
        defer { directory.remove() }
        let ova = try OVAFixture.write(OVAFixture.tar(OVAFixture.files()), in: directory)
        let into = directory.path + "/into"
        try FileManager.default.createDirectory(atPath: into, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: into + "/web-disk1.vmdk", withDestinationPath: directory.path + "/target")
        #expect { try OVAPackage.open(ova, into: URL(fileURLWithPath: into)) } throws: {
            "\($0)" == "\(into)/web-disk1.vmdk: cannot create it: File exists"
        }
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/target"))
    }
}
