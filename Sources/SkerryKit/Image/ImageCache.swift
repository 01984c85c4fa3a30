import Foundation

/// Built images, content-addressed like the kernel: each entry is a
/// directory named by its key holding one file and its SHA-256, published
/// by renaming a finished directory, so a half-built entry never looks
/// like a hit.
public struct ImageCache: Sendable {
    public var directory: URL
    /// Entries kept besides the newest.
    static let keptEntries = 8
    static let digestFile = "sha256"

    public init(directory: URL) { self.directory = directory }

    /// A cache key: the SHA-256 of the parts, shortened.
    public static func key(_ parts: [String]) -> String {
        var hasher = SHA256()
        hasher.update("skerry-image-v1\n")
        for part in parts { hasher.update(part + "\n\u{0}") }
        return SHA256.hexString(hasher.finalize().prefix(12))
    }

    /// The cached file for `key`, if there is one.
    public func lookup(_ key: String, fileName: String) -> ImageArtefact? {
        let entry = directory.appendingPathComponent(key)
        let file = entry.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: file.path),
              let digest = try? String(contentsOf: entry.appendingPathComponent(ImageCache.digestFile), encoding: .utf8),
              digest.count == 64
        else { return nil }
        try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: entry.path)
        return ImageArtefact(file: file, sha256: digest)
    }

    /// Makes the file for `key` with `make`, which writes to the URL it is
    /// given, and publishes it. `make` gets a scratch directory too.
    public func store(_ key: String, fileName: String, make: (_ output: URL, _ scratch: URL) throws(ImageError) -> Void)
        throws(ImageError) -> ImageArtefact
    {
        let staging = directory.appendingPathComponent(".staging-\(key)-\(getpid())")
        let entry = directory.appendingPathComponent(key)
        do {
            try? FileManager.default.removeItem(at: staging)
            try FileManager.default.createDirectory(at: staging.appendingPathComponent("scratch"), withIntermediateDirectories: true)
        } catch {
            throw .io("cannot create \(staging.path): \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(at: staging) }
        let output = staging.appendingPathComponent(fileName)
        try make(output, staging.appendingPathComponent("scratch"))
        let digest = try FileDigest.sha256(of: output)
        do {
            try FileManager.default.removeItem(at: staging.appendingPathComponent("scratch"))
            try Data(digest.utf8).write(to: staging.appendingPathComponent(ImageCache.digestFile))
            // Never remove a published entry: another skerry may be copying from it. Entries are
            // content-addressed, so one published meanwhile holds the same bytes.
            if let published = lookup(key, fileName: fileName) { return published }
            try FileManager.default.moveItem(at: staging, to: entry)
        } catch {
            // Another skerry published the same key first: its file has the same content.
            if let published = lookup(key, fileName: fileName) { return published }
            throw .io("cannot write \(entry.path): \(error.localizedDescription)")
        }
        prune(keeping: key)
        return ImageArtefact(file: entry.appendingPathComponent(fileName), sha256: digest)
    }

    /// Keeps the newest entries so the cache does not grow forever.
    private func prune(keeping key: String) {
        let fileManager = FileManager.default
        guard let entries = try? fileManager.contentsOfDirectory(at: directory, includingPropertiesForKeys: [.contentModificationDateKey])
        else { return }
        func modified(_ url: URL) -> Date {
            (try? url.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate) ?? .distantPast
        }
        let old = entries.filter { !$0.lastPathComponent.hasPrefix(".") && $0.lastPathComponent != key }
            .sorted { modified($0) > modified($1) }
        for stale in old.dropFirst(ImageCache.keptEntries) { try? fileManager.removeItem(at: stale) }
    }
}

/// A finished image file and its SHA-256 (lowercase hex).
public struct ImageArtefact: Sendable, Equatable {
    public var file: URL
    public var sha256: String

    public init(file: URL, sha256: String) {
        self.file = file
        self.sha256 = sha256
    }

    public var size: Int {
        ((try? FileManager.default.attributesOfItem(atPath: file.path))?[.size] as? NSNumber)?.intValue ?? 0
    }
}

/// The SHA-256 of a file, read in blocks.
public enum FileDigest {
    public static func sha256(of file: URL) throws(ImageError) -> String {
        guard let handle = FileHandle(forReadingAtPath: file.path) else { throw .io("cannot read \(file.path)") }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            let block: Data?
            do {
                block = try handle.read(upToCount: 1 << 20)
            } catch {
                throw .io("cannot read \(file.path): \(error.localizedDescription)")
            }
            guard let block, !block.isEmpty else { break }
            hasher.update(block)
        }
        return SHA256.hexString(hasher.finalize())
    }
}

extension SHA256 {
    static func hexString<Bytes: Sequence>(_ digest: Bytes) -> String where Bytes.Element == UInt8 {
        digest.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }
}
