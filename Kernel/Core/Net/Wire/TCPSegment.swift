/// A TCP segment (RFC 9293): header, options, payload.
public struct TCPSegment {
    public static let minimumHeaderLength = 20

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
        let headerLength = Int(bytes[12] >> 4) * 4
        guard headerLength >= TCPSegment.minimumHeaderLength else { throw .malformed }
        guard headerLength <= bytes.count else { throw .truncated }
        self.bytes = bytes
    }

    public var sourcePort: UInt16 { bytes.u16(0) }
    public var destinationPort: UInt16 { bytes.u16(2) }
    public var sequenceNumber: UInt32 { bytes.u32(4) }
    public var acknowledgmentNumber: UInt32 { bytes.u32(8) }
    public var headerLength: Int { Int(bytes[12] >> 4) * 4 }
    public var flags: Flags { Flags(rawValue: bytes[13] & 0x3F) }
    public var window: UInt16 { bytes.u16(14) }
    public var checksum: UInt16 { bytes.u16(16) }
    public var payload: UnsafeMutableRawBufferPointer { bytes.slice(headerLength, bytes.count) }
    public var options: UnsafeMutableRawBufferPointer { bytes.slice(TCPSegment.minimumHeaderLength, headerLength) }

    /// The maximum segment size option, if present and well formed.
    public var maximumSegmentSize: UInt16? {
        optionValue(kind: 2, length: 4).map { options.u16($0) }
    }

    /// The window scale option's shift count (RFC 7323), if present and well formed.
    public var windowScale: UInt8? {
        optionValue(kind: 3, length: 3).map { options[$0] }
    }

    /// The offset in `options` of the value of the option `kind`, when it
    /// is present with exactly `length` bytes and every option before it is
    /// well formed.
    private func optionValue(kind wanted: UInt8, length wantedLength: Int) -> Int? {
        let options = self.options
        var index = 0
        while index < options.count {
            let kind = options[index]
            if kind == 0 { return nil }
            if kind == 1 {
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

    public func fillChecksum(source: IPv4Address, destination: IPv4Address) {
        bytes.setU16(0, at: 16)
        var sum = InternetChecksum.pseudoHeader(
            source: source, destination: destination, protocol: IPv4Packet.ProtocolNumber.tcp, length: bytes.count)
        sum.add(bytes)
        bytes.setU16(sum.value, at: 16)
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
        bytes.setU16(sourcePort, at: 0)
        bytes.setU16(destinationPort, at: 2)
        bytes.setU32(sequenceNumber, at: 4)
        bytes.setU32(acknowledgmentNumber, at: 8)
        bytes[12] = UInt8(headerLength / 4) << 4
        bytes[13] = flags.rawValue
        bytes.setU16(window, at: 14)
        bytes.setU16(0, at: 18)
        if let mss {
            bytes[20] = 2
            bytes[21] = 4
            bytes.setU16(mss, at: 22)
        }
        let segment = try! TCPSegment(parsing: bytes.slice(0, headerLength + payloadLength))
        segment.fillChecksum(source: source, destination: destination)
        return segment
    }
}
