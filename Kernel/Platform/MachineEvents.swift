/// The event loop's view of the machine: the TSC clock, and `hlt` with the
/// PIT armed for the next deadline. Serial input raises IRQ 4, so a key
/// press also ends the sleep.
struct MachineEvents: EventLoopPlatform {
    func now() -> Instant { Clock.now() }

    mutating func waitForEvents(until deadline: Instant?) {
        if Serial.hasInput { return }
        var wait = IntervalTimer.maximumOneShot
        if let deadline {
            let remaining = deadline.since(Clock.now())
            if remaining == .zero { return }
            if remaining < wait { wait = remaining }
        }
        IntervalTimer.armOneShot(wait)
        waitForInterrupt()
    }
}

typealias KernelLoop = EventLoop<MachineEvents>
