import Foundation
import Testing
@testable import SkerryKit
#if canImport(Glibc)
import Glibc
#endif

/// The ustar reader and writer, against GNU tar in both directions.
@Suite struct TarTests {
    @Test func aHeaderEncodesAndDecodesToItself() throws {
        for size: UInt64 in [0, 1, 511, 512, 513, TarHeader.maximumSize] {
            let header = TarHeader(name: Array("disk-\(size).vmdk".utf8), size: size)
            let decoded = try #require(try TarHeader.decode(header.encoded(), at: 0))
            #expect(decoded == header)
        }
        #expect(throws: TarError.tooLargeToWrite("\"big\"", TarHeader.maximumSize + 1)) {
            try TarHeader(name: Array("big".utf8), size: TarHeader.maximumSize + 1).encoded()
        }
        #expect(try TarHeader.decode([UInt8](repeating: 0, count: 512), at: 0) == nil)
    }

    /// Sizes of 0, exactly one block and one byte over, written by
    /// TarWriter, are listed and extracted byte for byte by GNU tar.
    @Test func gnuTarReadsWhatTheWriterWrites() throws {
        let directory = try OVAFixture.directory()
        defer { directory.remove() }
        let path = directory.path + "/w.tar"
        let output = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let contents: [(String, [UInt8])] = [("empty", []), ("block", Array(repeating: 7, count: 512)), ("over", Array(repeating: 9, count: 513))]
        let writer = TarWriter(descriptor: output, path: path)
        for (name, bytes) in contents { try writer.add(name: name, bytes: bytes) }
        try writer.finish()
        close(output)
        let out = directory.path + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let run = try CapturedRun.run("/usr/bin/env", ["tar", "-C", out, "-xvf", path])
        #expect(run.succeeded && run.output == "empty\nblock\nover\n", "\(run.output)")
        for (name, bytes) in contents { #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: out + "/" + name))) == bytes) }
    }

    /// A GNU tar archive with "./" names (as `tar -C dir -cf x.tar .` makes
    /// them, minus the directory) reads back with the names GNU tar listed.
    @Test func theReaderReadsWhatGnuTarWrites() throws {
        let directory = try OVAFixture.directory()
        defer { directory.remove() }
        let parts = directory.path + "/parts"
        try FileManager.default.createDirectory(atPath: parts, withIntermediateDirectories: true)
        let contents: [(String, [UInt8])] = [("a.ovf", Array("<x/>".utf8)), ("b.vmdk", Array(repeating: 1, count: 70_000))]
        for (name, bytes) in contents { try Data(bytes).write(to: URL(fileURLWithPath: parts + "/" + name)) }
        let path = directory.path + "/g.tar"
        let made = try CapturedRun.run("/usr/bin/env", ["tar", "--format=ustar", "-C", parts, "-cf", path, "./a.ovf", "./b.vmdk"])
        try #require(made.succeeded, "\(made.output)")
        let reader = try TarReader(path: path)
        var read: [(String, [UInt8])] = []
        while let entry = try reader.next() {
            var bytes: [UInt8] = []
            reader.read(entry) { bytes += $0 }
            read.append((entry.name, bytes))
        }
        #expect(read.map(\.0) == contents.map(\.0))
        #expect(read.map(\.1) == contents.map(\.1))
    }

    @Test func octalFieldsAcceptTheirVariantsAndRefuseGarbage() {
        #expect(TarHeader.octalValue(ArraySlice(Array("0000644\0".utf8))) == 0o644)
        #expect(TarHeader.octalValue(ArraySlice(Array("   644 \0".utf8))) == 0o644)
        #expect(TarHeader.octalValue(ArraySlice(Array("00006x4\0".utf8))) == nil)
        #expect(TarHeader.octalValue(ArraySlice(Array("\0\0\0\0".utf8))) == nil)
        #expect(TarHeader.octalValue(ArraySlice(Array("12 34\0".utf8))) == nil)
        #expect(TarHeader.sizeValue(ArraySlice([0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00])) == 256)
        #expect(TarHeader.sizeValue(ArraySlice([0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])) == nil)
    }
}
