/// An ICMPv4 message (RFC 792): type, code, checksum, four bytes of
/// type-specific data, then the body.
public struct ICMPv4Message {
    public static let headerLength = 8

    public enum MessageType {
        public static let echoReply: UInt8 = 0
        public static let destinationUnreachable: UInt8 = 3
        public static let echoRequest: UInt8 = 8
        public static let timeExceeded: UInt8 = 11

        /// Error messages, which quote the packet they are about and must never be answered with another.
        public static func isError(_ type: UInt8) -> Bool {
            type == destinationUnreachable || type == 4 || type == 5 || type == timeExceeded || type == 12
        }
    }

    public enum UnreachableCode {
        public static let network: UInt8 = 0
        public static let host: UInt8 = 1
        public static let `protocol`: UInt8 = 2
        public static let port: UInt8 = 3
        public static let administrativelyProhibited: UInt8 = 13
    }

    public let bytes: UnsafeMutableRawBufferPointer

    public init(parsing bytes: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard bytes.count >= ICMPv4Message.headerLength else { throw .truncated }
        self.bytes = bytes
    }

    public var type: UInt8 { bytes[0] }
    public var code: UInt8 { bytes[1] }
    public var identifier: UInt16 { bytes.u16(4) }
    public var sequenceNumber: UInt16 { bytes.u16(6) }
    public var body: UnsafeMutableRawBufferPointer { bytes.slice(ICMPv4Message.headerLength, bytes.count) }

    public var checksumValid: Bool {
        var checksum = InternetChecksum()
        checksum.add(bytes)
        return checksum.value == 0
    }

    public func fillChecksum() {
        bytes.setU16(0, at: 2)
        var checksum = InternetChecksum()
        checksum.add(bytes)
        bytes.setU16(checksum.value, at: 2)
    }

    /// Turns an echo request into its reply in place: the identifier,
    /// sequence number and data stay as they are.
    public func makeEchoReply() {
        bytes[0] = MessageType.echoReply
        bytes[1] = 0
        fillChecksum()
    }

    /// Writes a header with `rest` as the four type-specific bytes; the body
    /// must already be in place after it.
    @discardableResult
    public static func emit(into bytes: UnsafeMutableRawBufferPointer, type: UInt8, code: UInt8, rest: UInt32 = 0)
        -> ICMPv4Message
    {
        bytes[0] = type
        bytes[1] = code
        bytes.setU32(rest, at: 4)
        let message = try! ICMPv4Message(parsing: bytes)
        message.fillChecksum()
        return message
    }
}
