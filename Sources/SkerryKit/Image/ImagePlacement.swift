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
        try write(to: destination) { output, temporary throws(ImageError) in try copy(source, to: output, named: temporary) }
    }

    public static func place(_ contents: Data, at destination: URL) throws(ImageError) {
        try write(to: destination) { output, temporary throws(ImageError) in
            let bytes = [UInt8](contents)
            var written = 0
            while written < bytes.count {
                let result = bytes.withUnsafeBytes { Glibc.write(output, $0.baseAddress! + written, bytes.count - written) }
                guard result > 0 else { throw .io("cannot write \(temporary.path): \(String(cString: strerror(errno)))") }
                written += result
            }
        }
    }

    /// Fills a temporary file made with `mkstemp` (a fresh name, created
    /// exclusively: a symlink planted in the directory is never followed),
    /// then renames it over `destination`, which must be a regular file if
    /// it exists at all.
    static func write(to destination: URL, _ fill: (Int32, URL) throws(ImageError) -> Void) throws(ImageError) {
        if let problem = OutputFile.problem(destination.path) { throw .io("cannot write \(destination.path): \(problem)") }
        let directory = destination.deletingLastPathComponent()
        var template = Array(directory.appendingPathComponent(".\(destination.lastPathComponent).skerry-XXXXXX").path.utf8CString)
        let output = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard output >= 0 else { throw .io("cannot write in \(directory.path): \(String(cString: strerror(errno)))") }
        _ = fcntl(output, F_SETFD, FD_CLOEXEC)
        let temporary = URL(fileURLWithPath: String(cString: template))
        var renamed = false
        defer {
            close(output)
            if !renamed { unlink(temporary.path) }
        }
        _ = fchmod(output, 0o644)
        try fill(output, temporary)
        guard rename(temporary.path, destination.path) == 0 else {
            throw .io("cannot write \(destination.path): \(String(cString: strerror(errno)))")
        }
        renamed = true
    }

    static func copy(_ source: URL, to output: Int32, named temporary: URL) throws(ImageError) {
        let input = open(source.path, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw .io("cannot read \(source.path): \(String(cString: strerror(errno)))") }
        defer { close(input) }
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
