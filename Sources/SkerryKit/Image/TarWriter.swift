#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a ustar archive to an open file descriptor: each entry's header,
/// its data and the padding to a whole block, then the two zero blocks that
/// end the archive. Every entry has mode 0644, owner 0 and time 0, so the
/// same files give the same bytes.
public struct TarWriter {
    private let descriptor: Int32
    private let path: String

    /// `path` names the file in errors.
    public init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    /// Writes an entry whose data is `bytes`.
    public func add(name: String, bytes: [UInt8]) throws(TarError) {
        try write(TarHeader(name: Array(name.utf8), size: UInt64(bytes.count)).encoded())
        try write(bytes)
        try pad(UInt64(bytes.count))
    }

    /// Writes an entry of `size` bytes whose data `produce` hands over in
    /// chunks; it must hand over exactly `size` bytes.
    public func add(name: String, size: UInt64,
                    produce: ((ArraySlice<UInt8>) throws(TarError) -> Void) throws(TarError) -> Void) throws(TarError) {
        try write(TarHeader(name: Array(name.utf8), size: size).encoded())
        var written: UInt64 = 0
        try produce { (chunk: ArraySlice<UInt8>) throws(TarError) in
            guard written + UInt64(chunk.count) <= size else { throw .io("cannot write \(name)", "it grew while it was copied") }
            try write(chunk)
            written += UInt64(chunk.count)
        }
        guard written == size else { throw .io("cannot write \(name)", "it shrank while it was copied") }
        try pad(size)
    }

    /// Writes the end-of-archive blocks.
    public func finish() throws(TarError) {
        try write([UInt8](repeating: 0, count: 2 * TarHeader.blockSize))
    }

    private func pad(_ size: UInt64) throws(TarError) {
        let remainder = Int(size % UInt64(TarHeader.blockSize))
        if remainder != 0 { try write([UInt8](repeating: 0, count: TarHeader.blockSize - remainder)) }
    }

    private func write<Bytes: Collection>(_ bytes: Bytes) throws(TarError) where Bytes.Element == UInt8 {
        let contiguous = Array(bytes)
        var offset = 0
        while offset < contiguous.count {
            let count = contiguous.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, contiguous.count - offset) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw .io("cannot write \(path)", String(cString: strerror(errno))) }
            offset += count
        }
    }
}
