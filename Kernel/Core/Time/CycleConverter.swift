/// Converts CPU timestamp-counter cycles to nanoseconds with a
/// multiply-and-shift, so reading the clock costs no division.
///
/// Written with 64-bit arithmetic only: 128-bit division needs compiler
/// runtime helpers the kernel does not link.
public struct CycleConverter: Sendable, Equatable {
    public private(set) var cyclesPerSecond: UInt64
    /// Nanoseconds per cycle in 32.32 fixed point.
    private var multiplier: UInt64
    private static let shift: UInt64 = 32

    /// - Parameters:
    ///   - cycles: counter ticks observed over the reference interval.
    ///   - reference: the length of that interval, from a clock of known rate.
    public init(cycles: UInt64, over reference: Interval) {
        let nanoseconds = Swift.max(reference.nanoseconds, 1)
        var rate: UInt64
        if cycles <= UInt64.max / 1_000_000_000 {
            rate = cycles * 1_000_000_000 / nanoseconds
        } else {
            rate = cycles / nanoseconds * 1_000_000_000
        }
        if rate == 0 { rate = 1 }
        self.init(cyclesPerSecond: rate)
    }

    public init(cyclesPerSecond: UInt64) {
        self.cyclesPerSecond = Swift.max(cyclesPerSecond, 1)
        multiplier = (1_000_000_000 << CycleConverter.shift) / self.cyclesPerSecond
    }

    /// Nanoseconds in `cycles`, to the fixed-point precision, without
    /// overflow for any 64-bit input.
    public func nanoseconds(cycles: UInt64) -> UInt64 {
        let product = cycles.multipliedFullWidth(by: multiplier)
        return (product.high << (64 - CycleConverter.shift)) | (product.low >> CycleConverter.shift)
    }

    /// Cycles in `interval`, rounded down.
    public func cycles(in interval: Interval) -> UInt64 {
        let seconds = interval.nanoseconds / 1_000_000_000
        let rest = interval.nanoseconds % 1_000_000_000
        return seconds &* cyclesPerSecond &+ rest.multipliedFullWidth(by: cyclesPerSecond).low / 1_000_000_000
    }
}
