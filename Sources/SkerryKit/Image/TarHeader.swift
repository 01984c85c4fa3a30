/// One 512-byte POSIX ustar header (IEEE 1003.1-1988), the tar flavour an
/// OVA is (DSP0243: "tar format as defined by POSIX").
public struct TarHeader: Equatable, Sendable {
    public static let blockSize = 512
    /// The largest size the 11 octal digits of a ustar size field hold (8 GiB - 1).
    public static let maximumSize: UInt64 = 0o77777777777
    /// The longest name the name field holds (without the prefix field).
    public static let maximumNameBytes = 100

    public enum Kind: Equatable, Sendable {
        case regularFile
        case directory
        case link
        case extendedHeader
        case other(UInt8)

        init(flag: UInt8) {
            switch flag {
            case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): self = .regularFile
            case UInt8(ascii: "5"): self = .directory
            case UInt8(ascii: "1"), UInt8(ascii: "2"): self = .link
            case UInt8(ascii: "x"), UInt8(ascii: "g"), UInt8(ascii: "L"), UInt8(ascii: "K"): self = .extendedHeader
            default: self = .other(flag)
            }
        }

        var noun: String {
            switch self {
            case .regularFile: return "a file"
            case .directory: return "a directory"
            case .link: return "a link"
            case .extendedHeader: return "a pax or GNU extended header"
            case .other(let flag): return "an entry of type \(flag < 0x21 || flag > 0x7E ? "0x" + String(flag, radix: 16) : String(UnicodeScalar(flag)))"
            }
        }
    }

    /// The name's bytes exactly as stored (prefix, "/", name for ustar).
    public var name: [UInt8]
    public var size: UInt64
    public var kind: Kind
    public var mode: UInt32
    public var modificationTime: UInt64

    public init(name: [UInt8], size: UInt64, kind: Kind = .regularFile, mode: UInt32 = 0o644, modificationTime: UInt64 = 0) {
        self.name = name
        self.size = size
        self.kind = kind
        self.mode = mode
        self.modificationTime = modificationTime
    }

    /// The bytes of the data plus the padding that fills its last block.
    public var paddedSize: UInt64 { (size + UInt64(Self.blockSize) - 1) / UInt64(Self.blockSize) * UInt64(Self.blockSize) }

    /// The header block of a regular file. The name must fit the 100-byte
    /// name field and the size the 11-digit octal field.
    public func encoded() throws(TarError) -> [UInt8] {
        guard !name.isEmpty, name.count <= Self.maximumNameBytes, !name.contains(0) else {
            throw .badName(TarName.quoted(name), "does not fit a ustar name field (1 to \(Self.maximumNameBytes) bytes, no NUL)")
        }
        guard size <= Self.maximumSize else { throw .tooLargeToWrite(TarName.quoted(name), size) }
        var block = [UInt8](repeating: 0, count: Self.blockSize)
        func put(_ bytes: [UInt8], at offset: Int) { for (index, byte) in bytes.enumerated() { block[offset + index] = byte } }
        func octal(_ value: UInt64, digits: Int) -> [UInt8] {
            let text = String(value, radix: 8)
            return Array((String(repeating: "0", count: max(0, digits - text.count)) + text).utf8) + [0]
        }
        put(name, at: 0)
        put(octal(UInt64(mode), digits: 7), at: 100)
        put(octal(0, digits: 7), at: 108)
        put(octal(0, digits: 7), at: 116)
        put(octal(size, digits: 11), at: 124)
        put(octal(modificationTime, digits: 11), at: 136)
        block[156] = UInt8(ascii: "0")
        put(Array("ustar".utf8) + [0], at: 257)
        put(Array("00".utf8), at: 263)
        // The checksum is computed with its own field as eight spaces.
        put(Array(repeating: UInt8(ascii: " "), count: 8), at: 148)
        let sum = block.reduce(0) { $0 + UInt64($1) }
        put(octal(sum, digits: 6) + [UInt8(ascii: " ")], at: 148)
        return block
    }

    /// Reads a header block; nil for an all-zero block (the end of the
    /// archive). `offset` is the block's position, for error messages.
    public static func decode(_ block: [UInt8], at offset: UInt64) throws(TarError) -> TarHeader? {
        precondition(block.count == blockSize)
        if block.allSatisfy({ $0 == 0 }) { return nil }
        guard let stored = octalValue(block[148..<156]) else { throw .badHeaderChecksum(offset: offset) }
        var unsigned: UInt64 = 0
        var signed: Int64 = 0
        for (index, byte) in block.enumerated() {
            let value = (148..<156).contains(index) ? UInt8(ascii: " ") : byte
            unsigned += UInt64(value)
            signed += Int64(Int8(bitPattern: value))
        }
        // Some old tars summed signed bytes; POSIX says unsigned.
        guard stored == unsigned || Int64(stored) == signed else { throw .badHeaderChecksum(offset: offset) }

        let nameField = Array(block[0..<100])
        var name = Array(nameField.prefix { $0 != 0 })
        if nameField[name.count...].contains(where: { $0 != 0 }) {
            let end = nameField.lastIndex { $0 != 0 }! + 1
            throw .badName(TarName.quoted(Array(nameField[..<end])), "holds a NUL byte")
        }
        // POSIX ustar: a non-empty prefix field goes before the name.
        let isPOSIX = Array(block[257..<263]) == Array("ustar".utf8) + [0]
        if isPOSIX {
            let prefix = Array(block[345..<500].prefix { $0 != 0 })
            if !prefix.isEmpty { name = prefix + [UInt8(ascii: "/")] + name }
        }
        guard let size = sizeValue(block[124..<136]) else {
            throw .badSize(TarName.quoted(name), offset: offset)
        }
        return TarHeader(name: name, size: size, kind: Kind(flag: block[156]),
                         mode: UInt32(truncatingIfNeeded: octalValue(block[100..<108]) ?? 0),
                         modificationTime: octalValue(block[136..<148]) ?? 0)
    }

    /// An octal field: optional leading spaces, digits, then NUL or space.
    static func octalValue(_ field: ArraySlice<UInt8>) -> UInt64? {
        var value: UInt64 = 0
        var digits = 0
        var ended = false
        for byte in field {
            if ended { if byte != 0 && byte != UInt8(ascii: " ") { return nil } else { continue } }
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                guard value >> 60 == 0 else { return nil }
                value = value << 3 | UInt64(byte - UInt8(ascii: "0"))
                digits += 1
            case UInt8(ascii: " ") where digits == 0:
                continue
            case 0, UInt8(ascii: " "):
                ended = true
            default:
                return nil
            }
        }
        return digits > 0 ? value : nil
    }

    /// A size field: octal, or GNU's base-256 (high bit set) for sizes
    /// beyond 8 GiB, which is read so that it can be checked and refused
    /// by what it claims rather than by its encoding.
    static func sizeValue(_ field: ArraySlice<UInt8>) -> UInt64? {
        guard let first = field.first else { return nil }
        if first & 0x80 != 0 {
            guard first & 0x40 == 0 else { return nil }  // negative
            var value = UInt64(first & 0x3F)
            for byte in field.dropFirst() {
                guard value >> 56 == 0 else { return nil }
                value = value << 8 | UInt64(byte)
            }
            return value
        }
        return octalValue(field)
    }
}
