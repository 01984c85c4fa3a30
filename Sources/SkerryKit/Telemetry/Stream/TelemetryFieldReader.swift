/// Reads the fields of one frame's payload: LEB128 varints, strings,
/// addresses. Every read checks the bounds and throws on bad input.
struct TelemetryFieldReader {
    let bytes: [UInt8]
    var position: Int
    let end: Int
    let message: String

    init(_ bytes: [UInt8], message: String) {
        self.bytes = bytes
        position = 0
        end = bytes.count
        self.message = message
    }

    var atEnd: Bool { position >= end }

    mutating func varint(_ field: String) throws(TelemetryStreamError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while position < end {
            let byte = bytes[position]
            position += 1
            if shift == 63 && byte > 1 || shift > 63 { throw .malformed(message: message, field: field) }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        throw .truncated(message: message, field: field)
    }

    /// A varint that must fit an `Int` no larger than `limit`.
    mutating func count(_ field: String, limit: Int) throws(TelemetryStreamError) -> Int {
        let value = try varint(field)
        guard value <= UInt64(limit) else { throw .malformed(message: message, field: field) }
        return Int(value)
    }

    mutating func byte(_ field: String) throws(TelemetryStreamError) -> UInt8 {
        guard position < end else { throw .truncated(message: message, field: field) }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func flag(_ field: String) throws(TelemetryStreamError) -> Bool {
        let value = try byte(field)
        guard value <= 1 else { throw .malformed(message: message, field: field) }
        return value == 1
    }

    mutating func string(_ field: String) throws(TelemetryStreamError) -> String {
        let length = try varint(field)
        guard length <= UInt64(end - position) else { throw .truncated(message: message, field: field) }
        let slice = bytes[position..<position + Int(length)]
        position += Int(length)
        guard let text = String(validating: slice, as: UTF8.self) else { throw .malformed(message: message, field: field) }
        return text
    }

    mutating func address(_ field: String) throws(TelemetryStreamError) -> String {
        guard end - position >= 4 else { throw .truncated(message: message, field: field) }
        defer { position += 4 }
        return (0..<4).map { String(bytes[position + $0]) }.joined(separator: ".")
    }
}
