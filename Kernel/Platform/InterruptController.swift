/// The legacy 8259 PIC pair, remapped to vectors 32-47 so IRQs do not
/// collide with CPU exceptions. Every line starts masked.
enum InterruptController {
    static let timerLine = 0
    static let serialLine = 4

    static func initialize() {
        outb(0x20, 0x11)  // ICW1: initialise, expect ICW4
        outb(0xA0, 0x11)
        outb(0x21, 0x20)  // ICW2: master vectors 32-39
        outb(0xA1, 0x28)  //       slave vectors 40-47
        outb(0x21, 0x04)  // ICW3: slave on line 2
        outb(0xA1, 0x02)
        outb(0x21, 0x01)  // ICW4: 8086 mode
        outb(0xA1, 0x01)
        outb(0x21, 0xFF)
        outb(0xA1, 0xFF)
    }

    static func unmask(_ line: Int) {
        if line < 8 {
            outb(0x21, inb(0x21) & ~UInt8(1 << line))
        } else {
            outb(0xA1, inb(0xA1) & ~UInt8(1 << (line - 8)))
            outb(0x21, inb(0x21) & ~UInt8(1 << 2))
        }
    }
}

/// The 8254 programmable interval timer: channel 2 is the reference for
/// calibrating the TSC, channel 0 the one-shot that wakes an idle CPU.
enum IntervalTimer {
    static let frequency: UInt64 = 1_193_182
    static let maximumCount: UInt64 = 0xFFFF

    /// Longest one-shot the 16-bit counter can time.
    static var maximumOneShot: Interval {
        Interval(nanoseconds: maximumCount * 1_000_000_000 / frequency)
    }

    /// Counts TSC cycles while PIT channel 2 counts down `count` ticks.
    static func measureCycles(count: UInt16) -> UInt64 {
        let gate = inb(0x61)
        outb(0x61, (gate & ~0x02) | 0x01)  // speaker off, gate on
        outb(0x43, 0xB0)  // channel 2, lobyte/hibyte, mode 0
        outb(0x42, UInt8(truncatingIfNeeded: count))
        outb(0x42, UInt8(truncatingIfNeeded: count >> 8))
        // Restart the count by pulsing the gate, then time it.
        let restart = inb(0x61) & ~0x01
        outb(0x61, restart)
        outb(0x61, restart | 0x01)
        let start = rdtsc()
        var spins: UInt64 = 0
        while inb(0x61) & 0x20 == 0 && spins < 50_000_000 { spins += 1 }
        return rdtsc() &- start
    }

    /// TSC cycles over `count` PIT ticks, read from channel 2's latched
    /// count at both ends rather than from its output pin. Each end is a
    /// latch between two TSC reads; a reading whose bracket is wider than
    /// `slack` cycles (the vCPU was descheduled right there) is taken
    /// again, so a pause of the vCPU anywhere cannot stretch the result.
    /// Nil when no tight reading came in a few tries.
    static func measureCyclesLatched(count: UInt16, slack: UInt64) -> UInt64? {
        let gate = inb(0x61)
        outb(0x61, (gate & ~0x02) | 0x01)  // speaker off, gate on
        outb(0x43, 0xB0)  // channel 2, lobyte/hibyte, mode 0: counts down from 0xFFFF
        outb(0x42, 0xFF)
        outb(0x42, 0xFF)
        var spins = 0
        while latchedCount() > 0xFFFF - 16 && spins < 1_000_000 { spins += 1 }
        for _ in 0..<8 {
            guard let (startCount, startCycles) = bracketedReading(slack: slack) else { continue }
            var current = startCount
            spins = 0
            while startCount &- current < count && spins < 50_000_000 {
                current = latchedCount()
                spins += 1
            }
            guard let (endCount, endCycles) = bracketedReading(slack: slack), startCount &- endCount >= count,
                startCount > endCount
            else { continue }
            // Scale to exactly `count` ticks: the end reading overshoots by a few.
            return (endCycles &- startCycles) &* UInt64(count) / UInt64(startCount &- endCount)
        }
        return nil
    }

    /// Channel 2's count with the TSC read on both sides of the latch;
    /// nil when they are more than `slack` cycles apart.
    private static func bracketedReading(slack: UInt64) -> (UInt16, UInt64)? {
        let before = rdtsc()
        let count = latchedCount()
        let after = rdtsc()
        guard after &- before <= slack else { return nil }
        return (count, before &+ (after &- before) / 2)
    }

    private static func latchedCount() -> UInt16 {
        outb(0x43, 0x80)  // latch channel 2
        let low = inb(0x42)
        let high = inb(0x42)
        return UInt16(high) << 8 | UInt16(low)
    }

    /// Raises IRQ 0 once, `interval` from now (clamped to the counter's range).
    static func armOneShot(_ interval: Interval) {
        var count = interval.nanoseconds * frequency / 1_000_000_000
        if count < 1 { count = 1 }
        if count > maximumCount { count = maximumCount }
        outb(0x43, 0x30)  // channel 0, lobyte/hibyte, mode 0 (interrupt on terminal count)
        outb(0x40, UInt8(truncatingIfNeeded: count))
        outb(0x40, UInt8(truncatingIfNeeded: count >> 8))
    }
}
