import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a text file a user named, or says in words why it cannot.
public enum SourceFile {
    /// Why a file could not be read, as a diagnostic says it.
    public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        case notFound, permissionDenied, isDirectory
        case other(String)

        init(errno code: Int32) {
            switch code {
            case ENOENT, ENOTDIR: self = .notFound
            case EACCES, EPERM: self = .permissionDenied
            case EISDIR: self = .isDirectory
            default: self = .other(String(cString: strerror(code)).lowercased())
            }
        }

        public var description: String {
            switch self {
            case .notFound: return "no such file"
            case .permissionDenied: return "permission denied"
            case .isDirectory: return "it is a directory"
            case .other(let reason): return reason
            }
        }
    }

    /// The file's text (invalid UTF-8 replaced), or why it cannot be read.
    public static func read(_ path: String) throws(Problem) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Problem(errno: errno) }
        defer { close(descriptor) }
        var status = stat()
        if fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFDIR { throw .isDirectory }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw Problem(errno: errno)
            }
            if count == 0 { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Why `path` cannot be read, or nil when it can.
    public static func problem(_ path: String) -> Problem? {
        do throws(Problem) {
            _ = try read(path)
            return nil
        } catch {
            return error
        }
    }
}
