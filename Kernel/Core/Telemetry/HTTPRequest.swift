/// The start of an HTTP/1.x request: method and path. Requests are small
/// and bounded; headers and bodies are ignored.
public struct HTTPRequest: Equatable {
    public enum Parse: Equatable {
        /// The header block has not ended yet.
        case incomplete
        /// Not HTTP, or over the size limit: answer 400 and close.
        case invalid
        case complete(HTTPRequest)
    }

    public var method: [UInt8]
    public var path: [UInt8]

    /// Header blocks longer than this are refused.
    public static let maximumLength = 4096

    public static func parse(_ bytes: [UInt8]) -> Parse {
        guard headerEnd(bytes) != nil else {
            return bytes.count > maximumLength ? .invalid : .incomplete
        }
        // Request line: METHOD SP PATH SP HTTP/1.x
        var lineEnd = 0
        while bytes[lineEnd] != 0x0A { lineEnd += 1 }
        var fields: [Range<Int>] = []
        var start = 0
        for index in 0...lineEnd where index == lineEnd || bytes[index] == 0x20 || bytes[index] == 0x0D {
            if index > start { fields.append(start..<index) }
            start = index + 1
        }
        guard fields.count == 3, bytes[fields[1].lowerBound] == 0x2F,
            bytes[fields[2]].starts(with: literalBytes("HTTP/1."))
        else { return .invalid }
        return .complete(HTTPRequest(method: Array(bytes[fields[0]]), path: Array(bytes[fields[1]])))
    }

    /// The index just past the blank line ending the headers.
    private static func headerEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 2 else { return nil }
        for index in 1..<min(bytes.count, maximumLength + 1) where bytes[index] == 0x0A {
            if bytes[index - 1] == 0x0A { return index + 1 }
            if index >= 2 && bytes[index - 1] == 0x0D && bytes[index - 2] == 0x0A { return index + 1 }
        }
        return nil
    }
}

/// The UTF-8 of a literal, without going through `String`.
func literalBytes(_ text: StaticString) -> [UInt8] {
    text.withUTF8Buffer { Array($0) }
}
