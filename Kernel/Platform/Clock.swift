/// The monotonic clock: the TSC, calibrated once at boot against the PIT.
enum Clock {
    /// Calibration window. Longer is more precise; 5 ms keeps the error
    /// within about 0.1% under TCG (a few microseconds of timing noise at
    /// either end) while costing little boot time.
    static let calibrationTicks: UInt16 = 5_966  // 5 ms at 1.193182 MHz

    static func calibrate() {
        let cycles = IntervalTimer.measureCycles(count: calibrationTicks)
        let reference = Interval(nanoseconds: UInt64(calibrationTicks) * 1_000_000_000 / IntervalTimer.frequency)
        Machine.state.clock = CycleConverter(cycles: cycles, over: reference)
        Machine.state.originCycles = bootTSC
    }

    /// Time since the kernel's first instruction.
    static func now() -> Instant {
        Instant(nanoseconds: Machine.state.clock.nanoseconds(cycles: rdtsc() &- Machine.state.originCycles))
    }
}
