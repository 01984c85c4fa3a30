/// The one way the kernel dies: a report on the console, then QEMU's
/// debug-exit port with the panic status (or a halt, on machines without it).
enum Panic {
    /// Kernel-detected fatal condition with a message.
    static func halt(_ message: StaticString) -> Never {
        begin()
        console.write(KernelContract.panicPrefix)
        console.line(message)
        writeBacktrace(first: 0, framePointer: currentFramePointer())
        finish()
    }

    static func heapMisuse(_ error: HeapError) -> Never {
        begin()
        console.write(KernelContract.panicPrefix)
        switch error {
        case .doubleFree(let address):
            console.write("heap: double free of ")
            console.write(hex: UInt64(address))
        case .foreignPointer(let address):
            console.write("heap: free of a pointer the heap never handed out: ")
            console.write(hex: UInt64(address))
        case .corruptHeader(let address), .uncoalesced(let address):
            console.write("heap: corrupted chunk header at ")
            console.write(hex: UInt64(address))
        }
        console.newline()
        writeBacktrace(first: 0, framePointer: currentFramePointer())
        finish()
    }

    static func outOfMemory(_ exhaustion: Heap.Exhaustion) -> Never {
        begin()
        console.write(KernelContract.panicPrefix)
        exhaustion.write(to: &console)
        console.newline()
        writeBacktrace(first: 0, framePointer: currentFramePointer())
        finish()
    }

    static func exception(_ frame: ExceptionFrame) -> Never {
        begin()
        let instruction = readInstruction(at: frame.rip)
        PanicReport.writeHeadline(
            frame: frame, instruction: instruction, runtimeMessage: RuntimeMessage.lastLine, to: &console)
        PanicReport.writeDetails(frame: frame, cr2: readCR2(), to: &console)
        writeBacktrace(first: frame.rip, framePointer: frame.rbp)
        finish()
    }

    private static func begin() {
        if Machine.state.panicking {
            // A fault while reporting a fault: report nothing more, just stop.
            console.newline()
            console.line(KernelContract.ExitValue.panic.finalLine)
            exitQEMU(.panic)
        }
        Machine.state.panicking = true
        console.newline()
    }

    private static func writeBacktrace(first: UInt64, framePointer: UInt64) {
        let stack = address(of: &bootStackBottomSymbol)..<address(of: &bootStackTopSymbol)
        var walkStart = first
        var pointer = framePointer
        if walkStart == 0 {
            // Called from Swift: start at our caller rather than inside this file.
            guard stack.contains(pointer) else { return }
            walkStart = physicalWord(pointer + 8)
            pointer = physicalWord(pointer)
        }
        PanicReport.writeBacktrace(
            first: walkStart, framePointer: pointer, stack: stack, read: physicalWord, to: &console)
    }

    private static func finish() -> Never {
        console.line(KernelContract.ExitValue.panic.finalLine)
        exitQEMU(.panic)
    }

    /// The two bytes at `rip`, if it points into the kernel image.
    private static func readInstruction(at rip: UInt64) -> (UInt8, UInt8) {
        let start = address(of: &kernelStartSymbol)
        let end = address(of: &kernelEndSymbol)
        guard rip >= start, rip + 2 <= end else { return (0, 0) }
        let bytes = UnsafePointer<UInt8>(bitPattern: UInt(rip)).unsafelyUnwrapped
        return (bytes[0], bytes[1])
    }
}

func exitQEMU(_ value: KernelContract.ExitValue) -> Never {
    outb(KernelContract.debugExitPort, value.rawValue)
    // No isa-debug-exit device: nothing else to do but stop.
    haltForever()
}

@_cdecl("skerry_exception")
func skerryException(_ frame: UnsafeRawPointer) -> Never {
    Panic.exception(frame.load(as: ExceptionFrame.self))
}
