import Foundation
import Testing
@testable import SkerryKit

/// Hostile inputs to `skerry image` and to booting an OVA: each is refused
/// or leaves what it targets as it was.
@Suite struct ImageAttackRegressionTests {
    /// What booting `ova` says: "opened" when skerry would boot it.
    static func bootRefusal(_ ova: URL) -> String {
        do {
            let opened = try OVABoot(ova)
            opened.directory.remove()
            return "opened"
        } catch {
            return "\(error)"
        }
    }

    /// The files of an OVA whose disk is `disk` and whose memory item says `memoryMiB`.
    static func ova(disk: [UInt8], memoryMiB: Int = 192, in directory: TemporaryDirectory) throws -> URL {
        var descriptor = OVAFixture.descriptor()
        descriptor.memoryMiB = memoryMiB
        descriptor.disk.fileBytes = UInt64(disk.count)
        let ovf = Array(descriptor.xml.utf8)
        let files: [(name: String, data: [UInt8])] = [
            ("web.ovf", ovf), ("web.mf", OVAFixture.manifest([("web.ovf", ovf), ("web-disk1.vmdk", disk)])), ("web-disk1.vmdk", disk),
        ]
        return try OVAFixture.write(OVAFixture.tar(files), in: directory)
    }

    /// A VMDK descriptor file (monolithicFlat) whose extent is a host file
    /// by absolute path: QEMU's vmdk driver reads that file as the disk, so
    /// the guest the OVA brings reads any file skerry's user can.
    @Test func anOVAWhoseDiskNamesAHostFileIsRefused() throws {
        let directory = try OVAFixture.directory()
        defer { directory.remove() }
        let secret = directory.path + "/host-secret"
        try Data(repeating: 0x41, count: 512).write(to: URL(fileURLWithPath: secret))
        let vmdk = Array("""
            # Disk DescriptorFile
            version=1
            CID=fffffffe
            parentCID=ffffffff
            createType="monolithicFlat"
            RW 1 FLAT "\(secret)" 0

            """.utf8)
        let ova = try Self.ova(disk: vmdk, in: directory)
        let message = Self.bootRefusal(ova)
        #expect(message.contains("its disk web-disk1.vmdk is not a sparse VMDK"), "an OVA whose disk names \(secret): \(message)")
    }

    /// A real streamOptimized VMDK passes; the other VMDK kinds, which may name other files, do not.
    @Test func onlyASelfContainedStreamOptimizedVMDKIsBooted() throws {
        let directory = try OVAFixture.directory()
        defer { directory.remove() }
        let qemuImg = try DebianTool.qemuImg.locate()
        let raw = directory.path + "/disk.raw"
        try Data(repeating: 0x5A, count: 1 << 20).write(to: URL(fileURLWithPath: raw))
        for (subformat, accepted) in [("streamOptimized", true), ("monolithicSparse", false), ("monolithicFlat", false)] {
            let vmdk = directory.path + "/\(subformat).vmdk"
            let made = try CapturedRun.run(qemuImg, ["convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=\(subformat)", raw, vmdk])
            #expect(made.succeeded, "\(made.output)")
            let problem = StreamOptimizedVMDK.problem(URL(fileURLWithPath: vmdk))
            #expect((problem == nil) == accepted, "\(subformat): \(problem ?? "accepted")")
        }
    }

    /// A FIFO named as an OVA would block the open for good: it is refused at once, and nothing is left behind.
    @Test func anOVAThatIsNotARegularFileIsRefusedAtOnce() throws {
        let directory = try OVAFixture.directory()
        defer { directory.remove() }
        let fifo = directory.path + "/pipe.ova"
        #expect(mkfifo(fifo, 0o644) == 0)
        let started = Date()
        #expect(Self.bootRefusal(URL(fileURLWithPath: fifo)) == "cannot boot '\(fifo)': not a regular file")
        #expect(Date().timeIntervalSince(started) < 5)
    }

    /// `--memory` is checked against 16...3072 MiB; a descriptor's memory must be too
    /// (2 MiB stops in GRUB's prompt, 1 TiB fails in QEMU after the VM was set up).
    @Test(arguments: [2, 1 << 40])
    func anOVAWhoseMemoryIsOutOfRangeIsRefused(memoryMiB: Int) throws {
        let directory = try OVAFixture.directory()
        defer { directory.remove() }
        let ova = try Self.ova(disk: Array("not really a vmdk".utf8), memoryMiB: memoryMiB, in: directory)
        let message = Self.bootRefusal(ova)
        #expect(message.contains("its descriptor's memory is \(memoryMiB) MiB; skerry boots 16-3072 MiB"), "\(memoryMiB) MiB: \(message)")
    }

    /// `-o` naming a FIFO or a device: rename() would replace the node with
    /// the image (as root, `-o /dev/null` turns /dev/null into a file).
    @Test func placingOverAFIFOLeavesItAFIFO() throws {
        let directory = try TemporaryDirectory(prefix: "skerry-placement")
        defer { directory.remove() }
        let fifo = directory.path + "/out.iso"
        #expect(mkfifo(fifo, 0o644) == 0)
        #expect(throws: ImageError.self) { try ImagePlacement.place(Data("image".utf8), at: URL(fileURLWithPath: fifo)) }
        var status = stat()
        #expect(lstat(fifo, &status) == 0 && (status.st_mode & S_IFMT) == S_IFIFO, "the FIFO was replaced by a file")
        #expect(OutputFile.problem(fifo)?.contains("is not a regular file") == true, "refused before anything is built")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["out.iso"], "no temporary file is left")
    }

    /// The temporary file's name is predictable (`.NAME.skerry-PID.tmp`) and is
    /// opened without O_EXCL or O_NOFOLLOW: a symlink planted there is written through.
    @Test func aSymlinkAtTheTemporaryPathIsNotWrittenThrough() throws {
        let directory = try TemporaryDirectory(prefix: "skerry-placement")
        defer { directory.remove() }
        let victim = directory.path + "/victim"
        try Data("precious".utf8).write(to: URL(fileURLWithPath: victim))
        let source = directory.path + "/source.iso"
        try Data("image bytes".utf8).write(to: URL(fileURLWithPath: source))
        let planted = directory.path + "/.out.iso.skerry-\(getpid()).tmp"
        #expect(symlink(victim, planted) == 0)
        try? ImagePlacement.place(URL(fileURLWithPath: source), at: URL(fileURLWithPath: directory.path + "/out.iso"))
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious")
        #expect(try String(contentsOfFile: directory.path + "/out.iso", encoding: .utf8) == "image bytes")
    }
}
