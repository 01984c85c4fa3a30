/// The monotonic clock: the TSC, calibrated once at boot against the PIT.
enum Clock {
    /// One calibration window: 2 ms keeps each reading within about 0.3%
    /// under TCG (a few microseconds of timing noise at either end).
    static let calibrationTicks: UInt16 = 2_386  // 2 ms at 1.193182 MHz
    /// Windows measured; their median is the rate. On a loaded host the
    /// vCPU can be descheduled inside a window, which inflates that one
    /// reading (a clock running at half speed for the whole boot); the
    /// median ignores up to two such windows.
    static let calibrationWindows = 5

    static func calibrate() {
        var readings: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &readings) { raw in
            let cycles = raw.bindMemory(to: UInt64.self)
            for index in 0..<calibrationWindows { cycles[index] = IntervalTimer.measureCycles(count: calibrationTicks) }
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
