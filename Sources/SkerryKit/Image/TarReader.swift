#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A regular file in a tar archive: its checked name, header and where its data starts.
public struct TarEntry: Equatable, Sendable {
    public var name: String
    public var header: TarHeader
    public var dataOffset: UInt64
}

/// Reads a tar archive from a file one entry at a time, checking each
/// header before anything is trusted: checksum, name, type, and a size that
/// fits the bytes actually present. Entry data is read in chunks, never
/// whole, so memory stays bounded whatever the archive claims.
public final class TarReader {
    /// More than any OVA holds (descriptor, manifest, certificate, disks).
    public static let maximumEntries = 64
    /// The chunk size data is read in.
    public static let chunkBytes = 1 << 20

    public let path: String
    private let descriptor: Int32
    /// The archive's length in bytes.
    public let length: UInt64
    private var position: UInt64 = 0
    private var count = 0
    private var names: Set<String> = []

    public init(path: String) throws(TarError) {
        self.path = path
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .io("cannot open \(path)", String(cString: strerror(errno))) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            throw .io("cannot read \(path)", "not a regular file")
        }
        length = UInt64(status.st_size)
    }

    deinit { close(descriptor) }

    /// The next entry, or nil at the end-of-archive block.
    public func next() throws(TarError) -> TarEntry? {
        let block = UInt64(TarHeader.blockSize)
        guard position + block <= length else {
            if position == length {
                throw .truncated("it ends after \(count) entries without the end-of-archive block")
            }
            throw .truncated("the header at byte \(position) is cut short")
        }
        var bytes = [UInt8](repeating: 0, count: TarHeader.blockSize)
        try readFully(&bytes, at: position)
        guard let header = try TarHeader.decode(bytes, at: position) else { return nil }
        count += 1
        guard count <= Self.maximumEntries else { throw .tooManyEntries(limit: Self.maximumEntries) }
        if header.kind == .extendedHeader { throw .notAFile(TarName.quoted(header.name), kind: header.kind.noun) }
        let name = try TarName.checked(header.name)
        guard header.kind == .regularFile else { throw .notAFile(TarName.quoted(header.name), kind: header.kind.noun) }
        let available = length - position - block
        guard header.size <= available else {
            throw .sizeBeyondArchive(TarName.quoted(header.name), declared: header.size, available: available)
        }
        guard header.paddedSize <= available else {
            throw .truncated("the last block of \(TarName.quoted(header.name))'s data is cut short")
        }
        guard names.insert(name).inserted else { throw .duplicate(TarName.quoted(header.name)) }
        let entry = TarEntry(name: name, header: header, dataOffset: position + block)
        position += block + header.paddedSize
        return entry
    }

    /// Calls `body` with the entry's data in chunks of at most `chunkBytes`.
    public func read<Failure: Error>(_ entry: TarEntry, _ body: (ArraySlice<UInt8>) throws(Failure) -> Void) throws(Failure) where Failure: Error {
        var buffer = [UInt8](repeating: 0, count: Int(min(UInt64(Self.chunkBytes), max(entry.header.size, 1))))
        var offset: UInt64 = 0
        while offset < entry.header.size {
            let wanted = Int(min(UInt64(buffer.count), entry.header.size - offset))
            let got = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress!, wanted, off_t(entry.dataOffset + offset)) }
            // The size was checked against the file's length; a short read
            // means the file shrank underneath, which the caller sees as
            // the entry's data ending early (a checksum mismatch).
            guard got > 0 else { return }
            try body(buffer[0..<got])
            offset += UInt64(got)
        }
    }

    /// The entry's data, for small entries (the descriptor, the manifest).
    public func data(_ entry: TarEntry, limit: Int) throws(TarError) -> [UInt8]? {
        guard entry.header.size <= UInt64(limit) else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(entry.header.size))
        read(entry) { bytes += $0 }
        guard bytes.count == Int(entry.header.size) else { throw .truncated("\(entry.name) changed while it was read") }
        return bytes
    }

    private func readFully(_ bytes: inout [UInt8], at offset: UInt64) throws(TarError) {
        let wanted = bytes.count
        let got = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress!, wanted, off_t(offset)) }
        guard got == wanted else {
            throw got < 0 ? .io("cannot read \(path)", String(cString: strerror(errno))) : .truncated("the header at byte \(offset) is cut short")
        }
    }
}
