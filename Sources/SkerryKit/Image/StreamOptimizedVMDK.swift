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
        let header = [UInt8]((try? handle.read(upToCount: 512)) ?? Data())
        // A sparse extent: "KDMV", then the embedded descriptor's sector offset (28) and size (36).
        guard header.count == 512, header[0..<4] == [0x4B, 0x44, 0x4D, 0x56] else {
            return "is not a sparse VMDK (no KDMV header): a descriptor-only VMDK could name any file"
        }
        func u64(_ offset: Int) -> UInt64 { header[offset..<offset + 8].reversed().reduce(0) { $0 << 8 | UInt64($1) } }
        let offset = u64(28), size = u64(36)
        guard offset > 0, size > 0, size * 512 <= UInt64(descriptorLimit), offset < UInt64.max / 512 else {
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
