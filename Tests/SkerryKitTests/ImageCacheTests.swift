import Foundation
import Testing
@testable import SkerryKit

/// The image cache's keys, entries and pruning, and the atomic placement of
/// a finished file at the user's path.
@Suite struct ImageCacheTests {
    /// xorriso prints its version on stdout and stderr at once; the key must
    /// not depend on which arrives first, or nothing would ever be a cache hit.
    @Test func toolVersionsAreTheSameOnEveryRun() throws {
        for tool in [DebianTool.xorriso, .grubMkrescue, .mformat, .qemuImg] {
            let path = try tool.locate()
            let first = ToolVersion.text(of: path)
            #expect(first.contains(tool.name) && first.count > tool.name.count + 4, "\(first)")
            for _ in 0..<8 { #expect(ToolVersion.text(of: path) == first, "\(tool.name)") }
        }
    }

    @Test func keysDependOnEveryPartAndTheirBoundaries() {
        let key = ImageCache.key(["kernel", "grub"])
        #expect(key.count == 24 && key.allSatisfy(\.isHexDigit))
        #expect(ImageCache.key(["kernel", "grub"]) == key)
        #expect(ImageCache.key(["kernel", "grub2"]) != key)
        #expect(ImageCache.key(["kerne", "lgrub"]) != key)
        #expect(ImageCache.key(["kernel grub"]) != key)
    }

    @Test func aStoredFileIsFoundWithItsDigestAndAFailedOneLeavesNothing() throws {
        let directory = try TemporaryDirectory(prefix: "skerry-image-cache")
        defer { directory.remove() }
        let cache = ImageCache(directory: URL(fileURLWithPath: directory.path))
        #expect(cache.lookup("k1", fileName: "skerry.iso") == nil)
        let contents = Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let stored = try cache.store("k1", fileName: "skerry.iso") { output, scratch throws(ImageError) in
            #expect(FileManager.default.fileExists(atPath: scratch.path))
            do { try contents.write(to: output) } catch { throw .io("\(error)") }
        }
        #expect(stored.sha256 == SHA256.hex(contents))
        #expect(stored.size == contents.count)
        #expect(cache.lookup("k1", fileName: "skerry.iso") == stored)
        #expect(try Data(contentsOf: stored.file) == contents)

        #expect(throws: ImageError.io("tool broke")) {
            try cache.store("k2", fileName: "skerry.iso") { output, _ throws(ImageError) in
                try? Data("half".utf8).write(to: output)
                throw .io("tool broke")
            }
        }
        #expect(cache.lookup("k2", fileName: "skerry.iso") == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["k1"], "no staging directory is left")

        // An entry without its digest is not a hit (it was never published whole).
        try FileManager.default.removeItem(atPath: directory.path + "/k1/sha256")
        #expect(cache.lookup("k1", fileName: "skerry.iso") == nil)
    }

    @Test func theCacheKeepsItsNewestEntries() throws {
        let directory = try TemporaryDirectory(prefix: "skerry-image-cache")
        defer { directory.remove() }
        let cache = ImageCache(directory: URL(fileURLWithPath: directory.path))
        let count = ImageCache.keptEntries + 3
        for index in 0..<count {
            _ = try cache.store("entry\(index)", fileName: "f") { output, _ throws(ImageError) in
                do { try Data([UInt8(index)]).write(to: output) } catch { throw .io("\(error)") }
            }
            // Distinct modification times, oldest first.
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: Double(index - count) * 60)],
                                                  ofItemAtPath: directory.path + "/entry\(index)")
        }
        let kept = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted { $0.count == $1.count ? $0 < $1 : $0.count < $1.count }
        #expect(kept == (count - 1 - ImageCache.keptEntries..<count).map { "entry\($0)" }, "\(kept)")
    }

    @Test func placingReplacesTheTargetWholeOrLeavesItAsItWas() throws {
        let directory = try TemporaryDirectory(prefix: "skerry-image-place")
        defer { directory.remove() }
        let source = URL(fileURLWithPath: directory.path + "/source")
        let target = URL(fileURLWithPath: directory.path + "/web.iso")
        let contents = Data(repeating: 0xA5, count: 3 << 20)
        try contents.write(to: source)
        try Data("old".utf8).write(to: target)
        try ImagePlacement.place(source, at: target)
        #expect(try Data(contentsOf: target) == contents)

        try Data("old".utf8).write(to: target)
        #expect(throws: ImageError.self) { try ImagePlacement.place(URL(fileURLWithPath: directory.path + "/missing"), at: target) }
        #expect(try Data(contentsOf: target) == Data("old".utf8))
        try ImagePlacement.place(Data("<domain/>".utf8), at: target)
        #expect(try String(contentsOf: target, encoding: .utf8) == "<domain/>")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["source", "web.iso"],
                "no temporary file is left")
    }
}
