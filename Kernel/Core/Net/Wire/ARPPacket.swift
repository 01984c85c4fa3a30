/// An ARP packet for IPv4 over Ethernet (RFC 826); nothing else is accepted.
public struct ARPPacket {
    public static let length = 28

    public enum Operation: UInt16, Sendable {
        case request = 1
        case reply = 2
    }

    public let bytes: UnsafeMutableRawBufferPointer

    public init(parsing bytes: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard bytes.count >= ARPPacket.length else { throw .truncated }
        guard bytes.u16(0) == 1, bytes.u16(2) == EthernetFrame.EtherType.ipv4, bytes[4] == 6, bytes[5] == 4,
            Operation(rawValue: bytes.u16(6)) != nil
        else { throw .malformed }
        self.bytes = bytes
    }

    public var operation: Operation { Operation(rawValue: bytes.u16(6)) ?? .request }
    public var senderHardware: MACAddress { MACAddress(reading: bytes, at: 8) }
    public var senderProtocol: IPv4Address { IPv4Address(value: bytes.u32(14)) }
    public var targetHardware: MACAddress { MACAddress(reading: bytes, at: 18) }
    public var targetProtocol: IPv4Address { IPv4Address(value: bytes.u32(24)) }

    @discardableResult
    public static func emit(
        into bytes: UnsafeMutableRawBufferPointer, operation: Operation,
        senderHardware: MACAddress, senderProtocol: IPv4Address,
        targetHardware: MACAddress, targetProtocol: IPv4Address
    ) -> ARPPacket {
        bytes.setU16(1, at: 0)
        bytes.setU16(EthernetFrame.EtherType.ipv4, at: 2)
        bytes[4] = 6
        bytes[5] = 4
        bytes.setU16(operation.rawValue, at: 6)
        senderHardware.write(to: bytes, at: 8)
        bytes.setU32(senderProtocol.value, at: 14)
        targetHardware.write(to: bytes, at: 18)
        bytes.setU32(targetProtocol.value, at: 24)
        return try! ARPPacket(parsing: bytes)
    }
}
