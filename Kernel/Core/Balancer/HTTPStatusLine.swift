/// The status line that starts an HTTP/1.x response (RFC 9112 §4):
/// `HTTP/1.x DDD reason`, ended by CRLF (or a bare LF, RFC 9112 §2.2).
/// Reads bytes only; what a status means is the caller's business.
public enum HTTPStatusLine {
    /// What the first bytes of a response are.
    public enum Parse: Equatable, Sendable {
        /// A prefix of a status line: more bytes may complete it.
        case incomplete
        /// A whole status line carrying this code (100-599).
        case status(UInt16)
        /// No status line starts with these bytes.
        case malformed
    }

    /// The status codes RFC 9110 §15 defines classes for.
    public static let codes: ClosedRange<UInt16> = 100...599

    /// `HTTP/1.` before the minor version digit.
    private static let versionPrefix: StaticString = "HTTP/1."
    /// Offsets of the fixed part: `HTTP/1.x` (0-7), SP, three digits (9-11), SP.
    private static let minorVersion = 7
    private static let codeStart = 9
    private static let reasonStart = 13

    /// Parses `bytes`, the start of a response.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Parse {
        let count = bytes.count
        var mismatch = false
        versionPrefix.withUTF8Buffer { prefix in
            for offset in 0..<Swift.min(prefix.count, count) where bytes[offset] != prefix[offset] { mismatch = true }
        }
        if mismatch { return .malformed }
        if count > minorVersion && !isDigit(bytes[minorVersion]) { return .malformed }
        if count > minorVersion + 1 && bytes[minorVersion + 1] != space { return .malformed }
        var code: UInt16 = 0
        for offset in codeStart..<codeStart + 3 where offset < count {
            guard isDigit(bytes[offset]) else { return .malformed }
            code = code * 10 + UInt16(bytes[offset] - zero)
        }
        // Three digits lie in 100-599 exactly when the first is 1-5, so the first decides.
        if count > codeStart && !codes.contains(UInt16(bytes[codeStart] - zero) * 100) { return .malformed }
        if count > reasonStart - 1 && bytes[reasonStart - 1] != space { return .malformed }
        // The reason phrase: HTAB, SP, visible and obs-text bytes, then the line end.
        var offset = reasonStart
        while offset < count {
            let byte = bytes[offset]
            if byte == lineFeed { return .status(code) }
            if byte == carriageReturn {
                guard offset + 1 < count else { return .incomplete }
                return bytes[offset + 1] == lineFeed ? .status(code) : .malformed
            }
            guard byte == tab || byte >= space, byte != delete else { return .malformed }
            offset += 1
        }
        return .incomplete
    }

    private static let space: UInt8 = 0x20
    private static let tab: UInt8 = 0x09
    private static let carriageReturn: UInt8 = 0x0D
    private static let lineFeed: UInt8 = 0x0A
    private static let delete: UInt8 = 0x7F
    private static let zero: UInt8 = 0x30

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= zero && byte <= zero + 9 }
}
