/// A 48-bit Ethernet address.
public struct MACAddress: Hashable, Sendable {
    /// The address in the low 48 bits, first octet most significant.
    public var value: UInt64

    public init(value: UInt64) { self.value = value & 0xFFFF_FFFF_FFFF }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, _ e: UInt8, _ f: UInt8) {
        self.init(value: UInt64(a) << 40 | UInt64(b) << 32 | UInt64(c) << 24 | UInt64(d) << 16 | UInt64(e) << 8 | UInt64(f))
    }

    public static let broadcast = MACAddress(value: 0xFFFF_FFFF_FFFF)
    public static let zero = MACAddress(value: 0)

    public var isBroadcast: Bool { self == .broadcast }
    /// Group bit of the first octet.
    public var isMulticast: Bool { value & (1 << 40) != 0 }

    public func octet(_ index: Int) -> UInt8 { UInt8(truncatingIfNeeded: value >> UInt64(40 - 8 * index)) }

    init(reading bytes: UnsafeMutableRawBufferPointer, at offset: Int) {
        var value: UInt64 = 0
        for index in 0..<6 { value = value << 8 | UInt64(bytes[offset + index]) }
        self.value = value
    }

    func write(to bytes: UnsafeMutableRawBufferPointer, at offset: Int) {
        for index in 0..<6 { bytes[offset + index] = octet(index) }
    }

    /// `52:54:00:12:34:56`, or nil.
    public init?<Bytes: Collection>(text: Bytes) where Bytes.Element == UInt8 {
        var value: UInt64 = 0
        var octets = 0
        var digits = 0
        var current: UInt64 = 0
        for byte in text {
            if byte == 0x3A {
                guard digits > 0 else { return nil }
                value = value << 8 | current
                octets += 1
                current = 0
                digits = 0
                continue
            }
            guard let nibble = hexValue(byte), digits < 2 else { return nil }
            current = current << 4 | UInt64(nibble)
            digits += 1
        }
        guard digits > 0, octets == 5 else { return nil }
        self.init(value: value << 8 | current)
    }

    public func write<Sink: TextSink>(to sink: inout Sink) {
        for index in 0..<6 {
            if index > 0 { sink.write(byte: 0x3A) }
            let octet = octet(index)
            sink.write(byte: hexDigit(octet >> 4))
            sink.write(byte: hexDigit(octet & 0xF))
        }
    }
}

/// An IPv4 address.
public struct IPv4Address: Hashable, Comparable, Sendable {
    public var value: UInt32

    public init(value: UInt32) { self.value = value }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    public static let any = IPv4Address(value: 0)
    public static let broadcast = IPv4Address(value: 0xFFFF_FFFF)

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.value < rhs.value }

    /// Dotted quad, or nil.
    public init?<Bytes: Collection>(text: Bytes) where Bytes.Element == UInt8 {
        var value: UInt32 = 0
        var parts = 0
        var current: UInt32 = 0
        var digits = 0
        for byte in text {
            if byte == 0x2E {
                guard digits > 0 else { return nil }
                value = value << 8 | current
                parts += 1
                current = 0
                digits = 0
                continue
            }
            guard byte >= 0x30 && byte <= 0x39, digits < 3 else { return nil }
            current = current * 10 + UInt32(byte - 0x30)
            guard current <= 255 else { return nil }
            digits += 1
        }
        guard digits > 0, parts == 3 else { return nil }
        self.value = value << 8 | current
    }

    public func write<Sink: TextSink>(to sink: inout Sink) {
        for index in 0..<4 {
            if index > 0 { sink.write(byte: 0x2E) }
            sink.write(decimal: UInt64((value >> UInt32(24 - 8 * index)) & 0xFF))
        }
    }
}

extension IPv4Address {
    /// The special-purpose ranges (RFC 1122 §3.2.1.3, RFC 6890) that are
    /// never a host's address: a packet carrying one as its source or
    /// destination is dropped on arrival and never sent.
    public enum Martian: CaseIterable, Sendable {
        /// 0.0.0.0/8, "this host on this network".
        case thisNetwork
        /// 127.0.0.0/8.
        case loopback
        /// 224.0.0.0/4.
        case multicast
        /// 240.0.0.0/4 except 255.255.255.255.
        case reserved
        /// 255.255.255.255.
        case limitedBroadcast

        public var name: StaticString {
            switch self {
            case .thisNetwork: return "this-network"
            case .loopback: return "loopback"
            case .multicast: return "multicast"
            case .reserved: return "reserved"
            case .limitedBroadcast: return "limited-broadcast"
            }
        }

        /// The range's first address.
        public var first: IPv4Address {
            switch self {
            case .thisNetwork: return IPv4Address(value: 0)
            case .loopback: return IPv4Address(127, 0, 0, 0)
            case .multicast: return IPv4Address(224, 0, 0, 0)
            case .reserved: return IPv4Address(240, 0, 0, 0)
            case .limitedBroadcast: return .broadcast
            }
        }
    }

    /// The martian range this address is in, or nil for an address a host may have.
    public var martian: Martian? {
        switch value >> 24 {
        case 0: return .thisNetwork
        case 127: return .loopback
        case 224...239: return .multicast
        case 240...255: return value == 0xFFFF_FFFF ? .limitedBroadcast : .reserved
        default: return nil
        }
    }

    public var isMartian: Bool { martian != nil }
}

/// An address with its prefix length: the interface address and the network it is on.
public struct IPv4Interface: Hashable, Sendable {
    public var address: IPv4Address
    public var prefixLength: Int

    public init(address: IPv4Address, prefixLength: Int) {
        self.address = address
        self.prefixLength = Swift.min(Swift.max(prefixLength, 0), 32)
    }

    public var mask: UInt32 { prefixLength == 0 ? 0 : UInt32.max << UInt32(32 - prefixLength) }
    public var network: IPv4Address { IPv4Address(value: address.value & mask) }
    public var directedBroadcast: IPv4Address { IPv4Address(value: address.value | ~mask) }

    public func contains(_ other: IPv4Address) -> Bool { other.value & mask == address.value & mask }

    /// Whether `other` addresses every host of this network: the directed
    /// broadcast, or the all-zeros host that old stacks treat as one. On /31
    /// and /32 networks (RFC 3021) every address is a host's.
    public func isBroadcast(_ other: IPv4Address) -> Bool {
        prefixLength <= 30 && (other == directedBroadcast || other == network)
    }

    /// `10.0.2.15/24`, or nil.
    public init?(text: [UInt8]) {
        guard let slash = text.firstIndex(of: 0x2F), let address = IPv4Address(text: text[..<slash]),
            let prefix = Array(text[(slash + 1)...]).decimalValue, prefix <= 32
        else { return nil }
        self.init(address: address, prefixLength: Int(prefix))
    }

    public func write<Sink: TextSink>(to sink: inout Sink) {
        address.write(to: &sink)
        sink.write(byte: 0x2F)
        sink.write(decimal: UInt64(prefixLength))
    }
}

@inline(__always) func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case 0x30...0x39: return byte - 0x30
    case 0x61...0x66: return byte - 0x61 + 10
    case 0x41...0x46: return byte - 0x41 + 10
    default: return nil
    }
}

@inline(__always) func hexDigit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? 0x30 + nibble : 0x61 + nibble - 10 }
