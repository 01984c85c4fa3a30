/// A TCP segment (RFC 9293): header, options, payload.
public struct TCPSegment {
    public static let minimumHeaderLength = 20

    /// Byte offsets of the header fields.
    enum Field {
        static let sourcePort = 0
        static let destinationPort = 2
        static let sequenceNumber = 4
        static let acknowledgmentNumber = 8
        static let dataOffset = 12
        static let flags = 13
        static let window = 14
        static let checksum = 16
        static let urgentPointer = 18
    }

    /// Option kinds (RFC 9293, RFC 7323).
    enum OptionKind {
        static let end: UInt8 = 0
        static let noOperation: UInt8 = 1
        static let maximumSegmentSize: UInt8 = 2
        static let windowScale: UInt8 = 3
    }

    public struct Flags: OptionSet, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let fin = Flags(rawValue: 0x01)
        public static let syn = Flags(rawValue: 0x02)
        public static let rst = Flags(rawValue: 0x04)
        public static let psh = Flags(rawValue: 0x08)
        public static let ack = Flags(rawValue: 0x10)
        public static let urg = Flags(rawValue: 0x20)
    }

    public let bytes: UnsafeMutableRawBufferPointer

    /// Checks the header length against the buffer; the buffer is the whole
    /// segment (the IPv4 payload).
    public init(parsing bytes: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard bytes.count >= TCPSegment.minimumHeaderLength else { throw .truncated }
        let headerLength = Int(bytes[Field.dataOffset] >> 4) * 4
        guard headerLength >= TCPSegment.minimumHeaderLength else { throw .malformed }
        guard headerLength <= bytes.count else { throw .truncated }
        self.bytes = bytes
    }

    public var sourcePort: UInt16 { bytes.u16(Field.sourcePort) }
    public var destinationPort: UInt16 { bytes.u16(Field.destinationPort) }
    public var sequenceNumber: UInt32 { bytes.u32(Field.sequenceNumber) }
    public var acknowledgmentNumber: UInt32 { bytes.u32(Field.acknowledgmentNumber) }
    public var headerLength: Int { Int(bytes[Field.dataOffset] >> 4) * 4 }
    public var flags: Flags { Flags(rawValue: bytes[Field.flags] & 0x3F) }
    public var window: UInt16 { bytes.u16(Field.window) }
    public var checksum: UInt16 { bytes.u16(Field.checksum) }
    public var payload: UnsafeMutableRawBufferPointer { bytes.slice(headerLength, bytes.count) }
    public var options: UnsafeMutableRawBufferPointer { bytes.slice(TCPSegment.minimumHeaderLength, headerLength) }

    /// The maximum segment size option, if present and well formed.
    public var maximumSegmentSize: UInt16? {
        optionValue(kind: OptionKind.maximumSegmentSize, length: 4).map { options.u16($0) }
    }

    /// The window scale option's shift count (RFC 7323), if present and well formed.
    public var windowScale: UInt8? {
        optionValue(kind: OptionKind.windowScale, length: 3).map { options[$0] }
    }

    /// The offset in `options` of the value of the option `kind`, when it
    /// is present with exactly `length` bytes and every option before it is
    /// well formed.
    private func optionValue(kind wanted: UInt8, length wantedLength: Int) -> Int? {
        let options = self.options
        var index = 0
        while index < options.count {
            let kind = options[index]
            if kind == OptionKind.end { return nil }
            if kind == OptionKind.noOperation {
                index += 1
                continue
            }
            guard index + 1 < options.count else { return nil }
            let length = Int(options[index + 1])
            guard length >= 2, index + length <= options.count else { return nil }
            if kind == wanted && length == wantedLength { return index + 2 }
            index += length
        }
        return nil
    }

    public func checksumValid(source: IPv4Address, destination: IPv4Address) -> Bool {
        var sum = InternetChecksum.pseudoHeader(
            source: source, destination: destination, protocol: IPv4Packet.ProtocolNumber.tcp, length: bytes.count)
        sum.add(bytes)
        return sum.value == 0
    }

    // Setters write one field and leave the checksum to the caller.

    public func setSourcePort(_ port: UInt16) { bytes.setU16(port, at: Field.sourcePort) }
    public func setDestinationPort(_ port: UInt16) { bytes.setU16(port, at: Field.destinationPort) }
    public func setChecksum(_ value: UInt16) { bytes.setU16(value, at: Field.checksum) }

    public func fillChecksum(source: IPv4Address, destination: IPv4Address) {
        setChecksum(0)
        var sum = InternetChecksum.pseudoHeader(
            source: source, destination: destination, protocol: IPv4Packet.ProtocolNumber.tcp, length: bytes.count)
        sum.add(bytes)
        setChecksum(sum.value)
    }

    /// Writes a header (with an MSS option when `mss` is given) at the
    /// start of `bytes`, for `payloadLength` bytes already in place after
    /// it, and fills the checksum. `bytes` must hold header and payload.
    @discardableResult
    public static func emit(
        into bytes: UnsafeMutableRawBufferPointer, sourcePort: UInt16, destinationPort: UInt16,
        sequenceNumber: UInt32, acknowledgmentNumber: UInt32, flags: Flags, window: UInt16, mss: UInt16? = nil,
        payloadLength: Int, source: IPv4Address, destination: IPv4Address
    ) -> TCPSegment {
        let headerLength = mss == nil ? minimumHeaderLength : minimumHeaderLength + 4
        bytes.setU16(sourcePort, at: Field.sourcePort)
        bytes.setU16(destinationPort, at: Field.destinationPort)
        bytes.setU32(sequenceNumber, at: Field.sequenceNumber)
        bytes.setU32(acknowledgmentNumber, at: Field.acknowledgmentNumber)
        bytes[Field.dataOffset] = UInt8(headerLength / 4) << 4
        bytes[Field.flags] = flags.rawValue
        bytes.setU16(window, at: Field.window)
        bytes.setU16(0, at: Field.urgentPointer)
        if let mss {
            bytes[minimumHeaderLength] = OptionKind.maximumSegmentSize
            bytes[minimumHeaderLength + 1] = 4
            bytes.setU16(mss, at: minimumHeaderLength + 2)
        }
        let segment = try! TCPSegment(parsing: bytes.slice(0, headerLength + payloadLength))
        segment.fillChecksum(source: source, destination: destination)
        return segment
    }
}
