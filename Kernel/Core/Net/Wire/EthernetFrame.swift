/// An Ethernet II frame: destination, source, EtherType, payload.
public struct EthernetFrame {
    public static let headerLength = 14
    public static let minimumLength = 60
    public static let maximumLength = 1514

    public enum EtherType {
        public static let ipv4: UInt16 = 0x0800
        public static let arp: UInt16 = 0x0806
    }

    public let bytes: UnsafeMutableRawBufferPointer

    /// Checks the length; everything else about a frame is the next layer's business.
    public init(parsing bytes: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard bytes.count >= EthernetFrame.headerLength else { throw .truncated }
        self.bytes = bytes
    }

    public var destination: MACAddress { MACAddress(reading: bytes, at: 0) }
    public var source: MACAddress { MACAddress(reading: bytes, at: 6) }
    public var etherType: UInt16 { bytes.u16(12) }
    public var payload: UnsafeMutableRawBufferPointer { bytes.slice(EthernetFrame.headerLength, bytes.count) }

    /// Writes a header at the start of `bytes`, which must hold at least 14 bytes.
    @discardableResult
    public static func emit(
        into bytes: UnsafeMutableRawBufferPointer, destination: MACAddress, source: MACAddress, etherType: UInt16
    ) -> EthernetFrame {
        destination.write(to: bytes, at: 0)
        source.write(to: bytes, at: 6)
        bytes.setU16(etherType, at: 12)
        return try! EthernetFrame(parsing: bytes)
    }
}
