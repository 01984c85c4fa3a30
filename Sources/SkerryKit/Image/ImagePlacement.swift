import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Puts a finished file at the path the user named, atomically: a
/// temporary file in the same directory, cloned or copied, then renamed
/// over the target. An error, or a signal the command traps, leaves the
/// target as it was and no temporary file behind.
public enum ImagePlacement {
    /// Linux's FICLONE: shares the source's blocks on filesystems that can (btrfs, XFS).
    static let cloneRequest: UInt = 0x4004_9409

    public static func place(_ source: URL, at destination: URL) throws(ImageError) {
        try write(to: destination) { temporary throws(ImageError) in try copy(source, to: temporary) }
    }

    public static func place(_ contents: Data, at destination: URL) throws(ImageError) {
        try write(to: destination) { temporary throws(ImageError) in
            do {
                try contents.write(to: temporary)
            } catch {
                throw .io("cannot write \(temporary.path): \(error.localizedDescription)")
            }
        }
    }

    static func write(to destination: URL, _ fill: (URL) throws(ImageError) -> Void) throws(ImageError) {
        let directory = destination.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".\(destination.lastPathComponent).skerry-\(getpid()).tmp")
        defer { unlink(temporary.path) }
        try fill(temporary)
        guard rename(temporary.path, destination.path) == 0 else {
            throw .io("cannot write \(destination.path): \(String(cString: strerror(errno)))")
        }
    }

    static func copy(_ source: URL, to temporary: URL) throws(ImageError) {
        let input = open(source.path, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw .io("cannot read \(source.path): \(String(cString: strerror(errno)))") }
        defer { close(input) }
        let output = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw .io("cannot write \(temporary.path): \(String(cString: strerror(errno)))") }
        defer { close(output) }
        if ioctl(output, cloneRequest, input) == 0 { return }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = read(input, &buffer, buffer.count)
            if count == 0 { break }
            guard count > 0 else { throw .io("cannot read \(source.path): \(String(cString: strerror(errno)))") }
            var written = 0
            while written < count {
                let result = buffer.withUnsafeBytes { Glibc.write(output, $0.baseAddress! + written, count - written) }
                guard result > 0 else { throw .io("cannot write \(temporary.path): \(String(cString: strerror(errno)))") }
                written += result
            }
        }
    }
}
