/// An ICMPv4 message (RFC 792): type, code, checksum, four bytes of
/// type-specific data, then the body.
public struct ICMPv4Message {
    public static let headerLength = 8
    /// How much of the original datagram's payload an error quotes at
    /// least, after its IPv4 header (RFC 792: 64 bits): enough for the ports.
    public static let quotedPayloadLength = 8

    /// Byte offsets of the header fields.
    enum Field {
        static let type = 0
        static let code = 1
        static let checksum = 2
        /// The four type-specific bytes: identifier and sequence number for echoes.
        static let rest = 4
        static let identifier = 4
        static let sequenceNumber = 6
    }

    public enum MessageType {
        public static let echoReply: UInt8 = 0
        public static let destinationUnreachable: UInt8 = 3
        public static let sourceQuench: UInt8 = 4
        public static let redirect: UInt8 = 5
        public static let echoRequest: UInt8 = 8
        public static let routerSolicitation: UInt8 = 10
        public static let timeExceeded: UInt8 = 11
        public static let parameterProblem: UInt8 = 12
        public static let timestampRequest: UInt8 = 13

        /// Error messages, which quote the packet they are about and must never be answered with another.
        public static func isError(_ type: UInt8) -> Bool {
            type == destinationUnreachable || type == sourceQuench || type == redirect || type == timeExceeded
                || type == parameterProblem
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

    public var type: UInt8 { bytes[Field.type] }
    public var code: UInt8 { bytes[Field.code] }
    public var checksum: UInt16 { bytes.u16(Field.checksum) }
    public var identifier: UInt16 { bytes.u16(Field.identifier) }
    public var sequenceNumber: UInt16 { bytes.u16(Field.sequenceNumber) }
    public var body: UnsafeMutableRawBufferPointer { bytes.slice(ICMPv4Message.headerLength, bytes.count) }

    /// The datagram an error message is about, as far as it is quoted: its
    /// IPv4 header and at least `quotedPayloadLength` bytes after it.
    public func quotedDatagram() throws(WireError) -> IPv4Packet {
        let quoted = try IPv4Packet(parsingQuote: body)
        guard quoted.payload.count >= ICMPv4Message.quotedPayloadLength else { throw .truncated }
        return quoted
    }

    public var checksumValid: Bool {
        var checksum = InternetChecksum()
        checksum.add(bytes)
        return checksum.value == 0
    }

    public func fillChecksum() {
        bytes.setU16(0, at: Field.checksum)
        var checksum = InternetChecksum()
        checksum.add(bytes)
        bytes.setU16(checksum.value, at: Field.checksum)
    }

    /// Turns an echo request into its reply in place: the identifier,
    /// sequence number and data stay as they are.
    public func makeEchoReply() {
        bytes[Field.type] = MessageType.echoReply
        bytes[Field.code] = 0
        fillChecksum()
    }

    /// Writes a header with `rest` as the four type-specific bytes; the body
    /// must already be in place after it.
    @discardableResult
    public static func emit(into bytes: UnsafeMutableRawBufferPointer, type: UInt8, code: UInt8, rest: UInt32 = 0)
        -> ICMPv4Message
    {
        bytes[Field.type] = type
        bytes[Field.code] = code
        bytes.setU32(rest, at: Field.rest)
        let message = try! ICMPv4Message(parsing: bytes)
        message.fillChecksum()
        return message
    }
}
