/// The monotonic clock: the TSC, calibrated once at boot against the PIT.
enum Clock {
    /// One calibration window: 2 ms of PIT ticks, read from the latched
    /// count at both ends, is within about 0.1% (one tick is 838 ns).
    static let calibrationTicks: UInt16 = 2_386  // 2 ms at 1.193182 MHz
    /// Windows measured; their median is the rate, so one odd window
    /// (a vCPU paused at a latch despite the bracket) cannot skew it.
    static let calibrationWindows = 5

    static func calibrate() {
        // The pin-timed reading bounds the bracket: a latch plus two TSC reads is far below 1/20 of a window.
        let rough = IntervalTimer.measureCycles(count: calibrationTicks)
        var readings: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &readings) { raw in
            let cycles = raw.bindMemory(to: UInt64.self)
            for index in 0..<calibrationWindows {
                cycles[index] = IntervalTimer.measureCyclesLatched(count: calibrationTicks, slack: rough / 20) ?? rough
            }
            // Insertion sort: five values, no allocation before the heap exists.
            for index in 1..<calibrationWindows {
                var position = index
                while position > 0 && cycles[position - 1] > cycles[position] {
                    cycles.swapAt(position - 1, position)
                    position -= 1
                }
            }
        }
        let median = readings.2
        let reference = Interval(nanoseconds: UInt64(calibrationTicks) * 1_000_000_000 / IntervalTimer.frequency)
        Machine.state.clock = CycleConverter(cycles: median, over: reference)
        Machine.state.originCycles = bootTSC
    }

    /// Time since the kernel's first instruction.
    static func now() -> Instant {
        Instant(nanoseconds: Machine.state.clock.nanoseconds(cycles: rdtsc() &- Machine.state.originCycles))
    }
}
