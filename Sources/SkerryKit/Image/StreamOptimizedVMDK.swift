import Foundation

/// Checks that a file is a self-contained streamOptimized VMDK, the only
/// disk an OVA brings that skerry boots. A VMDK can name other files (a flat
/// extent, a parent disk) that QEMU would then read as the disk: a package
/// from elsewhere must not reach the host's files that way.
public enum StreamOptimizedVMDK {
    /// The embedded descriptor is read up to this size.
    static let descriptorLimit = 64 * 1024

    /// Why `file` is not a self-contained streamOptimized VMDK; nil when it is.
    public static func problem(_ file: URL) -> String? {
        guard let handle = FileHandle(forReadingAtPath: file.path) else { return "cannot be read" }
        defer { try? handle.close() }
        guard let header = SparseExtentHeader([UInt8]((try? handle.read(upToCount: 512)) ?? Data())) else {
            return "is not a sparse VMDK (no KDMV header): a descriptor-only VMDK could name any file"
        }
        let offset = header.descriptorSector, size = header.descriptorSectors
        guard offset > 0, size > 0, size <= UInt64(descriptorLimit / 512), offset < UInt64.max / 512 else {
            return "has no embedded descriptor of at most \(descriptorLimit / 1024) KiB"
        }
        guard (try? handle.seek(toOffset: offset * 512)) != nil,
              let bytes = try? handle.read(upToCount: Int(size * 512))
        else { return "is truncated before its descriptor" }
        let text = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        var createType: String?
        var extents: [Substring] = []
        for line in text.split(whereSeparator: \.isNewline).map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if line.hasPrefix("createType=") { createType = line.dropFirst("createType=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
            if line.hasPrefix("parentFileNameHint") { return "names a parent disk (\(line)); skerry boots only self-contained disks" }
            if line.hasPrefix("parentCID="), line != "parentCID=ffffffff" { return "has a parent disk (\(line))" }
            if ["RW ", "RDONLY ", "NOACCESS "].contains(where: line.hasPrefix) { extents.append(Substring(line)) }
        }
        guard createType == "streamOptimized" else { return "is \(createType.map { "a \($0)" } ?? "an untyped") VMDK, not streamOptimized" }
        guard extents.count == 1, extents[0].split(separator: " ").dropFirst(2).first == "SPARSE" else {
            return "must have exactly one SPARSE extent, itself (found: \(extents.joined(separator: "; ")))"
        }
        return nil
    }
}

/// The fixed header of a sparse VMDK extent (monolithicSparse, streamOptimized).
struct SparseExtentHeader {
    /// The disk's virtual size, in 512-byte sectors.
    var capacitySectors: UInt64
    /// Where the embedded descriptor starts, and its length, in sectors.
    var descriptorSector: UInt64
    var descriptorSectors: UInt64

    /// Reads "KDMV", version, flags, capacity (12), grain size (20), descriptor offset (28) and size (36).
    init?(_ bytes: [UInt8]) {
        guard bytes.count >= 44, bytes[0..<4] == [0x4B, 0x44, 0x4D, 0x56] else { return nil }
        func u64(_ offset: Int) -> UInt64 { bytes[offset..<offset + 8].reversed().reduce(0) { $0 << 8 | UInt64($1) } }
        capacitySectors = u64(12)
        descriptorSector = u64(28)
        descriptorSectors = u64(36)
    }

    init?(file: URL) {
        guard let handle = FileHandle(forReadingAtPath: file.path) else { return nil }
        defer { try? handle.close() }
        self.init([UInt8]((try? handle.read(upToCount: 44)) ?? Data()))
    }
}
