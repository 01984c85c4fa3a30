/// The Internet checksum (RFC 1071): a ones'-complement sum of 16-bit words.
public struct InternetChecksum: Sendable {
    private var sum: UInt64 = 0

    public init() {}

    public mutating func add(_ bytes: UnsafeMutableRawBufferPointer) {
        add(UnsafeRawBufferPointer(bytes))
    }

    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var index = 0
        let count = bytes.count
        while index + 1 < count {
            sum &+= UInt64(bytes[index]) << 8 | UInt64(bytes[index + 1])
            index += 2
        }
        if index < count { sum &+= UInt64(bytes[index]) << 8 }
    }

    public mutating func add(word: UInt16) { sum &+= UInt64(word) }

    public mutating func add(_ address: IPv4Address) {
        sum &+= UInt64(address.value >> 16) + UInt64(address.value & 0xFFFF)
    }

    /// The folded, complemented result to store in a header. Summing a
    /// region that includes a correct checksum field gives 0.
    public var value: UInt16 {
        var folded = sum
        while folded > 0xFFFF { folded = (folded & 0xFFFF) + (folded >> 16) }
        return ~UInt16(folded)
    }

    /// The pseudo-header that UDP and TCP checksums cover.
    public static func pseudoHeader(source: IPv4Address, destination: IPv4Address, protocol number: UInt8, length: Int)
        -> InternetChecksum
    {
        var checksum = InternetChecksum()
        checksum.add(source)
        checksum.add(destination)
        checksum.add(word: UInt16(number))
        checksum.add(word: UInt16(truncatingIfNeeded: length))
        return checksum
    }
}
