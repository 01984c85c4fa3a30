// Entry points into Kernel/Boot/*.S: the instructions Swift cannot express.

@_extern(c, "skerry_outb") func outb(_ port: UInt16, _ value: UInt8)
@_extern(c, "skerry_inb") func inb(_ port: UInt16) -> UInt8
@_extern(c, "skerry_outw") func outw(_ port: UInt16, _ value: UInt16)
@_extern(c, "skerry_inw") func inw(_ port: UInt16) -> UInt16
@_extern(c, "skerry_outl") func outl(_ port: UInt16, _ value: UInt32)
@_extern(c, "skerry_inl") func inl(_ port: UInt16) -> UInt32
@_extern(c, "skerry_rdtsc") func rdtsc() -> UInt64
@_extern(c, "skerry_cpuid") func cpuidRaw(_ leaf: UInt32, _ subleaf: UInt32, _ out: UnsafeMutablePointer<UInt32>)
@_extern(c, "skerry_rdrand64") func rdrand64(_ out: UnsafeMutablePointer<UInt64>) -> Bool
@_extern(c, "skerry_rdseed64") func rdseed64(_ out: UnsafeMutablePointer<UInt64>) -> Bool
@_extern(c, "skerry_read_cr2") func readCR2() -> UInt64
@_extern(c, "skerry_frame_pointer") func currentFramePointer() -> UInt64
@_extern(c, "skerry_wait_for_interrupt") func waitForInterrupt()
@_extern(c, "skerry_halt_forever") func haltForeverEntry()
@_extern(c, "skerry_raise_divide_error") func raiseDivideError(_ divisor: UInt32) -> UInt32
@_extern(c, "skerry_raise_general_protection") func raiseGeneralProtection()
@_extern(c, "skerry_raise_breakpoint") func raiseBreakpoint()
@_extern(c, "skerry_trap") func trap()

// Symbols from boot.S, interrupts.S and the linker script; only their addresses matter.
@_extern(c, "skerry_boot_tsc") nonisolated(unsafe) var bootTSC: UInt64
@_extern(c, "skerry_irq_counts") nonisolated(unsafe) var irqCountsBase: UInt64
@_extern(c, "skerry_boot_stack_bottom") nonisolated(unsafe) var bootStackBottomSymbol: UInt8
@_extern(c, "skerry_boot_stack_top") nonisolated(unsafe) var bootStackTopSymbol: UInt8
@_extern(c, "skerry_runtime_message") nonisolated(unsafe) var runtimeMessageStorage: UInt8
@_extern(c, "__kernel_end") nonisolated(unsafe) var kernelEndSymbol: UInt8
@_extern(c, "__kernel_start") nonisolated(unsafe) var kernelStartSymbol: UInt8

func cpuid(_ leaf: UInt32, _ subleaf: UInt32 = 0) -> CPUFeatures.Registers {
    var words: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
    withUnsafeMutablePointer(to: &words) { pointer in
        pointer.withMemoryRebound(to: UInt32.self, capacity: 4) { cpuidRaw(leaf, subleaf, $0) }
    }
    return CPUFeatures.Registers(eax: words.0, ebx: words.1, ecx: words.2, edx: words.3)
}

/// Address of a linker- or assembly-defined symbol.
func address(of symbol: UnsafeMutablePointer<UInt8>) -> UInt64 { UInt64(UInt(bitPattern: symbol)) }

/// Number of times IRQ `line` has fired since boot (counted by the stub).
func irqCount(_ line: Int) -> UInt64 {
    withUnsafeMutablePointer(to: &irqCountsBase) { base in
        UnsafeMutableRawPointer(base).load(fromByteOffset: line * 8, as: UInt64.self)
    }
}

/// Reads a 64-bit word of physical memory (identity mapped).
@inline(__always) func physicalWord(_ address: UInt64) -> UInt64 {
    UnsafeRawPointer(bitPattern: UInt(address)).unsafelyUnwrapped.load(as: UInt64.self)
}

func haltForever() -> Never {
    while true { haltForeverEntry() }
}

@_extern(c, "skerry_mmio_read32") func mmioRead32(_ address: UInt) -> UInt32
@_extern(c, "skerry_mmio_write32") func mmioWrite32(_ address: UInt, _ value: UInt32)
@_extern(c, "skerry_mmio_read16") func mmioRead16(_ address: UInt) -> UInt16
@_extern(c, "skerry_mmio_write16") func mmioWrite16(_ address: UInt, _ value: UInt16)
@_extern(c, "skerry_memory_barrier") func memoryBarrier()
