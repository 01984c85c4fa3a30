/// A TCP sequence number: 32-bit arithmetic modulo 2^32, compared by the
/// signed distance between two numbers, so ordering is right across wrap
/// as long as they are within 2^31 of each other (RFC 9293 §3.4).
public struct SequenceNumber: Equatable, Hashable, Sendable, Comparable {
    public var raw: UInt32

    public init(_ raw: UInt32) { self.raw = raw }

    public static func + (lhs: SequenceNumber, rhs: Int) -> SequenceNumber {
        SequenceNumber(lhs.raw &+ UInt32(truncatingIfNeeded: rhs))
    }

    public static func += (lhs: inout SequenceNumber, rhs: Int) { lhs = lhs + rhs }

    /// The signed distance from `rhs` to `lhs`.
    public static func - (lhs: SequenceNumber, rhs: SequenceNumber) -> Int {
        Int(Int32(bitPattern: lhs.raw &- rhs.raw))
    }

    public static func < (lhs: SequenceNumber, rhs: SequenceNumber) -> Bool { lhs - rhs < 0 }

    public static func max(_ a: SequenceNumber, _ b: SequenceNumber) -> SequenceNumber { a < b ? b : a }
}
