/// A point on the kernel's monotonic clock, in nanoseconds since boot.
public struct Instant: Comparable, Hashable, Sendable {
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    public static let zero = Instant(nanoseconds: 0)

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    public static func + (lhs: Instant, rhs: Interval) -> Instant {
        let (sum, overflow) = lhs.nanoseconds.addingReportingOverflow(rhs.nanoseconds)
        return Instant(nanoseconds: overflow ? .max : sum)
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    public func since(_ earlier: Instant) -> Interval {
        Interval(nanoseconds: nanoseconds > earlier.nanoseconds ? nanoseconds - earlier.nanoseconds : 0)
    }
}

/// A non-negative span of time in nanoseconds.
public struct Interval: Comparable, Hashable, Sendable {
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    public static let zero = Interval(nanoseconds: 0)

    public static func microseconds(_ value: UInt64) -> Interval { Interval(nanoseconds: value &* 1_000) }
    public static func milliseconds(_ value: UInt64) -> Interval { Interval(nanoseconds: value &* 1_000_000) }
    public static func seconds(_ value: UInt64) -> Interval { Interval(nanoseconds: value &* 1_000_000_000) }

    public var microseconds: UInt64 { nanoseconds / 1_000 }
    public var milliseconds: UInt64 { nanoseconds / 1_000_000 }

    public static func < (lhs: Interval, rhs: Interval) -> Bool { lhs.nanoseconds < rhs.nanoseconds }
    public static func + (lhs: Interval, rhs: Interval) -> Interval {
        Interval(nanoseconds: lhs.nanoseconds &+ rhs.nanoseconds)
    }
}
