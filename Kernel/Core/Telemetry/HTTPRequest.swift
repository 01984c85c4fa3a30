/// The start of an HTTP/1.x request: method, path and the one header the
/// admin endpoint reads. Requests are small and bounded; bodies are ignored.
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
    /// The token of an `Authorization: Bearer TOKEN` header.
    public var bearerToken: [UInt8]?

    /// Header blocks longer than this are refused.
    public static let maximumLength = 4096

    public static func parse(_ bytes: [UInt8]) -> Parse {
        guard let end = headerEnd(bytes) else {
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
        var request = HTTPRequest(method: Array(bytes[fields[0]]), path: Array(bytes[fields[1]]), bearerToken: nil)
        // Headers: find `authorization:` case-insensitively.
        let name = literalBytes("authorization:")
        let scheme = literalBytes("Bearer ")
        var lineStart = lineEnd + 1
        while lineStart < end {
            var next = lineStart
            while next < end && bytes[next] != 0x0A { next += 1 }
            var valueEnd = next
            if valueEnd > lineStart && bytes[valueEnd - 1] == 0x0D { valueEnd -= 1 }
            if valueEnd - lineStart > name.count,
                name.indices.allSatisfy({ bytes[lineStart + $0] | 0x20 == name[$0] | 0x20 })
            {
                var valueStart = lineStart + name.count
                while valueStart < valueEnd && bytes[valueStart] == 0x20 { valueStart += 1 }
                let value = bytes[valueStart..<valueEnd]
                if value.count > scheme.count, value.starts(with: scheme) {
                    request.bearerToken = Array(value.dropFirst(scheme.count))
                }
            }
            lineStart = next + 1
        }
        return .complete(request)
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
