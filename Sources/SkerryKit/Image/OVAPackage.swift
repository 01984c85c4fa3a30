import Foundation

/// An OVA opened and verified: its descriptor and the disk extracted beside it.
public struct OpenedOVA: Equatable, Sendable {
    public var descriptor: OVFDescriptor
    /// The extracted disk, in the directory given to `OVAPackage.open`.
    public var disk: URL
    /// Every file extracted (the disk among them); the descriptor and manifest are read, not extracted.
    public var files: [URL]
}

/// Writes and opens OVF packages: a ustar tar holding the descriptor
/// (`NAME.ovf`) first, then the manifest (`NAME.mf`), then the
/// streamOptimized VMDK, the order DSP0243 prescribes and vSphere streams.
public enum OVAPackage {
    /// Writes `descriptor` and `disk` as an OVA at `destination`, atomically:
    /// a temporary file in the destination's directory, renamed over it when
    /// complete, and removed on any error. The descriptor's disk file size
    /// is set from `disk`; its name in the package is `descriptor.disk.fileName`.
    public static func write(descriptor: OVFDescriptor, disk: URL, to destination: URL) throws(OVAError) {
        let names = (ovf: descriptor.name + ".ovf", manifest: descriptor.name + ".mf", disk: descriptor.disk.fileName)
        for name in [names.ovf, names.manifest, names.disk] {
            do throws(TarError) {
                guard try TarName.checked(Array(name.utf8)) == name else { throw TarError.badName(TarName.quoted(Array(name.utf8)), "starts with ./") }
                guard name.utf8.count <= TarHeader.maximumNameBytes else {
                    throw TarError.badName(TarName.quoted(Array(name.utf8)), "is longer than \(TarHeader.maximumNameBytes) bytes")
                }
            } catch {
                throw .badName(name, error.description)
            }
        }
        guard names.disk != names.ovf, names.disk != names.manifest else {
            throw .badName(names.disk, "the disk would have the descriptor's or manifest's name")
        }

        let diskFile = try InputFile(path: disk.path)
        var packaged = descriptor
        packaged.disk.fileBytes = diskFile.size
        let ovf = Array(packaged.xml.utf8)
        let ovfDigest = SHA256.hex(ovf)
        // The manifest precedes the disk but holds its digest: it is written
        // with a placeholder digest of the same length, and rewritten in
        // place once the disk has been copied (and hashed) in one pass.
        func manifest(diskDigest: String) -> [UInt8] {
            Array(OVFManifest(entries: [.init(file: names.ovf, sha256: ovfDigest), .init(file: names.disk, sha256: diskDigest)]).text.utf8)
        }
        let placeholder = manifest(diskDigest: String(repeating: "0", count: 64))
        let manifestOffset = off_t(2 * TarHeader.blockSize) + off_t(TarHeader(name: [], size: UInt64(ovf.count)).paddedSize)

        let directory = destination.deletingLastPathComponent().path
        var template = Array("\(directory)/.\(destination.lastPathComponent).XXXXXX".utf8CString)
        let output = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard output >= 0 else { throw .io(destination.path, "cannot create a file in \(directory): \(String(cString: strerror(errno)))") }
        let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var renamed = false
        defer {
            close(output)
            if !renamed { unlink(temporary) }
        }
        do throws(TarError) {
            fchmod(output, 0o644)
            let tar = TarWriter(descriptor: output, path: destination.path)
            try tar.add(name: names.ovf, bytes: ovf)
            try tar.add(name: names.manifest, bytes: placeholder)
            var hasher = SHA256()
            try tar.add(name: names.disk, size: diskFile.size) { (emit: (ArraySlice<UInt8>) throws(TarError) -> Void) throws(TarError) in
                try diskFile.chunks { (chunk: ArraySlice<UInt8>) throws(TarError) in
                    hasher.update(chunk)
                    try emit(chunk)
                }
            }
            try tar.finish()
            let final = manifest(diskDigest: OVAPackage.hex(hasher.finalize()))
            precondition(final.count == placeholder.count, "a digest is always 64 hex digits")
            let written = final.withUnsafeBytes { pwrite(output, $0.baseAddress!, $0.count, manifestOffset) }
            guard written == final.count else { throw .io("cannot write \(destination.path)", String(cString: strerror(errno))) }
        } catch {
            throw .io(destination.path, error.description)
        }
        guard fsync(output) == 0 else { throw .io(destination.path, String(cString: strerror(errno))) }
        guard rename(temporary, destination.path) == 0 else { throw .io(destination.path, String(cString: strerror(errno))) }
        renamed = true
    }

    static func hex(_ digest: [UInt8]) -> String {
        digest.map { $0 < 0x10 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}

/// A regular file read in chunks, for hashing and copying the disk.
struct InputFile {
    let path: String
    let size: UInt64

    init(path: String) throws(OVAError) {
        self.path = path
        var status = stat()
        guard stat(path, &status) == 0 else { throw .io(path, String(cString: strerror(errno))) }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw .io(path, "not a regular file") }
        size = UInt64(status.st_size)
    }

    /// Hands the file's bytes to `body` in chunks of `TarReader.chunkBytes`.
    func chunks(_ body: (ArraySlice<UInt8>) throws(TarError) -> Void) throws(TarError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .io("cannot read \(path)", String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: TarReader.chunkBytes)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress!, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw .io("cannot read \(path)", String(cString: strerror(errno))) }
            if count == 0 { return }
            try body(buffer[0..<count])
        }
    }
}
