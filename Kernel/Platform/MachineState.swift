/// What the kernel knows about the machine it runs on, kept where code
/// without a context can reach it.
struct MachineState {
    /// The TSC's rate, calibrated once at boot against the PIT.
    var clock = CycleConverter(cyclesPerSecond: 1_000_000_000)
    /// The TSC at the kernel's first instruction.
    var originCycles: UInt64 = 0
    var features = CPUFeatures()
    /// Usable memory the boot map reported.
    var availableMemory: UInt64 = 0
    var entropySource = Entropy.Source.jitter
    var entropyMixer = EntropyMixer()
    var runtimeMessage = RuntimeMessage.Cursor()
    /// Set while a panic is being reported: a fault inside the report stops at once.
    var panicking = false
}

enum Machine {
    /// Static because the clock, the entropy source, the runtime's C entry
    /// points (`putchar`, `arc4random_buf`) and the exception handler are
    /// called with no context to carry it in. Everything else (the appliance,
    /// the shell, the event loop) is owned by `Kernel.boot` and passed along.
    nonisolated(unsafe) static var state = MachineState()
}
