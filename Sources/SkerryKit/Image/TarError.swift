import Foundation

/// Why a tar archive was refused or could not be written.
public enum TarError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The archive ends inside a header or an entry's data, or before its end-of-archive block.
    case truncated(String)
    /// A header block's checksum does not match its bytes.
    case badHeaderChecksum(offset: UInt64)
    /// A header's size field is not a number.
    case badSize(String, offset: UInt64)
    /// An entry declares more bytes than the archive has after its header.
    case sizeBeyondArchive(String, declared: UInt64, available: UInt64)
    /// A name that could escape the directory or is unsafe to create (quoted name, why).
    case badName(String, String)
    /// An entry that is not a regular file.
    case notAFile(String, kind: String)
    /// More entries than any OVA has.
    case tooManyEntries(limit: Int)
    /// Two entries with one name.
    case duplicate(String)
    /// A file too large for the ustar size field.
    case tooLargeToWrite(String, UInt64)
    /// A read or write failed (what, strerror).
    case io(String, String)

    public var description: String {
        switch self {
        case .truncated(let what):
            return "the archive is truncated: \(what)"
        case .badHeaderChecksum(let offset):
            return "the tar header at byte \(offset) has a bad checksum (the archive is damaged or not a tar)"
        case .badSize(let name, let offset):
            return "the tar header of \(name) at byte \(offset) has a size that is not a number"
        case .sizeBeyondArchive(let name, let declared, let available):
            return "\(name) declares \(declared) bytes but the archive holds only \(available) after its header"
        case .badName(let name, let why):
            return "the entry name \(name) \(why)"
        case .notAFile(let name, let kind):
            return "\(name) is \(kind); an OVA holds only regular files"
        case .tooManyEntries(let limit):
            return "the archive holds more than \(limit) entries"
        case .duplicate(let name):
            return "the archive holds \(name) twice"
        case .tooLargeToWrite(let name, let size):
            return "\(name) is \(size) bytes; a ustar entry holds at most \(TarHeader.maximumSize)"
        case .io(let what, let reason):
            return "\(what): \(reason)"
        }
    }
}

/// Checking and quoting entry names.
public enum TarName {
    /// The name quoted for a message, control bytes and non-UTF-8 escaped.
    public static func quoted(_ bytes: [UInt8]) -> String {
        var text = "\""
        let decoded = String(bytes: bytes, encoding: .utf8)
        if let decoded {
            for scalar in decoded.unicodeScalars {
                switch scalar {
                case "\n": text += "\\n"
                case "\r": text += "\\r"
                case "\t": text += "\\t"
                case "\"": text += "\\\""
                case "\\": text += "\\\\"
                default:
                    if scalar.value < 0x20 || scalar.value == 0x7F {
                        text += "\\x" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
                    } else {
                        text.unicodeScalars.append(scalar)
                    }
                }
            }
        } else {
            for byte in bytes {
                if byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
                    text.unicodeScalars.append(UnicodeScalar(byte))
                } else {
                    text += "\\x" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16)
                }
            }
        }
        return text + "\""
    }

    /// The name of a file at the top level of the extraction directory, or
    /// why it is refused: absolute, leaving the directory, in a
    /// subdirectory, empty, control characters or not UTF-8. A leading
    /// "./" (which some tars write) is dropped.
    public static func checked(_ bytes: [UInt8]) throws(TarError) -> String {
        let quoted = quoted(bytes)
        guard let text = String(bytes: bytes, encoding: .utf8) else { throw .badName(quoted, "is not UTF-8") }
        if text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw .badName(quoted, "holds a control character")
        }
        if text.hasPrefix("/") { throw .badName(quoted, "is an absolute path") }
        let name = text.hasPrefix("./") ? String(text.dropFirst(2)) : text
        let components = name.split(separator: "/", omittingEmptySubsequences: false)
        if components.contains("..") { throw .badName(quoted, "leaves the directory (..)") }
        guard !name.isEmpty, name != "." else { throw .badName(quoted, "is empty") }
        guard components.count == 1 else { throw .badName(quoted, "is in a subdirectory; an OVA's files sit at its top level") }
        return name
    }
}
