/// Big-endian field access on packet bytes. Callers check lengths first;
/// these only read and write.
extension UnsafeMutableRawBufferPointer {
    @inline(__always) func u8(_ offset: Int) -> UInt8 { self[offset] }

    @inline(__always) func u16(_ offset: Int) -> UInt16 {
        UInt16(self[offset]) << 8 | UInt16(self[offset + 1])
    }

    @inline(__always) func u32(_ offset: Int) -> UInt32 {
        UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16 | UInt32(self[offset + 2]) << 8
            | UInt32(self[offset + 3])
    }

    @inline(__always) func setU8(_ value: UInt8, at offset: Int) { self[offset] = value }

    @inline(__always) func setU16(_ value: UInt16, at offset: Int) {
        self[offset] = UInt8(truncatingIfNeeded: value >> 8)
        self[offset + 1] = UInt8(truncatingIfNeeded: value)
    }

    @inline(__always) func setU32(_ value: UInt32, at offset: Int) {
        self[offset] = UInt8(truncatingIfNeeded: value >> 24)
        self[offset + 1] = UInt8(truncatingIfNeeded: value >> 16)
        self[offset + 2] = UInt8(truncatingIfNeeded: value >> 8)
        self[offset + 3] = UInt8(truncatingIfNeeded: value)
    }

    /// Bytes `start..<end` as a buffer of their own.
    @inline(__always) func slice(_ start: Int, _ end: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: self[start..<end])
    }
}

/// Why bytes are not a valid packet of some protocol.
public enum WireError: Error, Equatable, Sendable {
    /// Shorter than the header, or than the length the header claims.
    case truncated
    /// A field holds a value this implementation does not accept.
    case malformed
    /// A checksum does not verify.
    case badChecksum
}
