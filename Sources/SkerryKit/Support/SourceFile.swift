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
        /// NUL bytes or invalid UTF-8 in the first `sniffedBytes`.
        case notText
        /// Over `largestFile` bytes.
        case tooLarge
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
            case .notText: return "not a text file"
            case .tooLarge: return "larger than \(SourceFile.largestFile / (1 << 20)) MiB"
            case .other(let reason): return reason
            }
        }
    }

    /// The largest file read: 16 MiB, twice the largest rule file
    /// `skerry rules generate` writes. A larger one is refused unread.
    public static let largestFile = 16 << 20

    /// How much of a file is looked at to tell text from binary: 1 KiB.
    public static let sniffedBytes = 1024

    /// The file's text (invalid UTF-8 past the first KiB replaced), or why it cannot be read.
    public static func read(_ path: String) throws(Problem) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Problem(errno: errno) }
        defer { close(descriptor) }
        var status = stat()
        if fstat(descriptor, &status) == 0 {
            if status.st_mode & S_IFMT == S_IFDIR { throw .isDirectory }
            if status.st_size > largestFile { throw .tooLarge }
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw Problem(errno: errno)
            }
            if count == 0 { break }
            // Checked as it arrives, so neither a huge file nor an endless one (a FIFO, /dev/zero) is read through.
            guard bytes.count + count <= largestFile else { throw .tooLarge }
            let sniffedBefore = bytes.count < sniffedBytes
            bytes += buffer[0..<count]
            if sniffedBefore, bytes.count >= sniffedBytes, !looksLikeText(bytes.prefix(sniffedBytes)) { throw .notText }
        }
        guard looksLikeText(bytes.prefix(sniffedBytes), complete: bytes.count <= sniffedBytes) else { throw .notText }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// No NUL byte and valid UTF-8. A sequence cut off at the end of a
    /// prefix (`complete` false) is not held against it.
    static func looksLikeText(_ bytes: ArraySlice<UInt8>, complete: Bool = false) -> Bool {
        guard !bytes.contains(0) else { return false }
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var consumed = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                consumed += UTF8.width(scalar)
            case .emptyInput:
                return true
            case .error:
                // An error within the last 3 bytes of a prefix may be a character cut in two.
                return !complete && bytes.count - consumed < 4 && isTruncatedSequence(bytes.suffix(bytes.count - consumed))
            }
        }
    }

    /// A lead byte followed by fewer continuation bytes than it announces.
    private static func isTruncatedSequence(_ tail: ArraySlice<UInt8>) -> Bool {
        guard let lead = tail.first else { return false }
        let width = lead >= 0xF0 && lead <= 0xF4 ? 4 : lead >= 0xE0 && lead <= 0xEF ? 3 : lead >= 0xC2 && lead <= 0xDF ? 2 : 0
        return width > tail.count && tail.dropFirst().allSatisfy { $0 & 0xC0 == 0x80 }
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
