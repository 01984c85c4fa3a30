/// Formats panic reports. The host tooling reads these lines, so the format
/// is part of the kernel contract: a `PANIC: ` line with the cause, detail
/// lines indented by two spaces, `backtrace:` with one `  #N 0x…` line per
/// return address, and the final shutdown line.
public enum PanicReport {
    /// The first line for a CPU exception. `instruction` holds the first two
    /// bytes at the faulting RIP, which tell a Swift runtime trap (`ud2`)
    /// apart from a genuinely invalid instruction. `runtimeMessage` is the
    /// last line the Swift runtime printed (`file:line: Fatal error: …`), if
    /// any: it names the check that trapped.
    public static func writeHeadline<Sink: TextSink>(
        frame: ExceptionFrame, instruction: (UInt8, UInt8), runtimeMessage: UnsafeBufferPointer<UInt8>,
        to sink: inout Sink
    ) {
        let vector = ExceptionVector(frame.vector)
        sink.write(KernelContract.panicPrefix)
        if vector == .invalidOpcode && instruction == (0x0F, 0x0B) {
            if runtimeMessage.isEmpty {
                sink.line("Swift runtime trap: arithmetic overflow or another check without a message (bounds, unwrapping)")
            } else {
                sink.write("Swift runtime trap: ")
                sink.write(bytes: runtimeMessage)
                sink.newline()
            }
            return
        }
        sink.write(PanicReport.exceptionHeadline)
        sink.write(decimal: frame.vector)
        sink.write(" ")
        sink.write(vector.mnemonic)
        sink.write(" (")
        sink.write(vector.name)
        sink.line(")")
    }

    /// Error code, fault address and registers.
    public static func writeDetails<Sink: TextSink>(frame: ExceptionFrame, cr2: UInt64, to sink: inout Sink) {
        let vector = ExceptionVector(frame.vector)
        if vector.hasErrorCode {
            sink.write("  error code ")
            sink.write(hex: frame.errorCode)
            if vector == .pageFault {
                sink.write(": ")
                writePageFaultCause(frame.errorCode, to: &sink)
            }
            sink.newline()
        }
        if vector == .pageFault {
            sink.write("  fault address (cr2) ")
            sink.write(hex: cr2)
            sink.newline()
        }
        register(&sink, "  rip ", frame.rip, " rsp ", frame.rsp, " rbp ", frame.rbp)
        register(&sink, "  rax ", frame.rax, " rbx ", frame.rbx, " rcx ", frame.rcx)
        register(&sink, "  rdx ", frame.rdx, " rsi ", frame.rsi, " rdi ", frame.rdi)
        register(&sink, "  r8  ", frame.r8, " r9  ", frame.r9, " r10 ", frame.r10)
        register(&sink, "  r11 ", frame.r11, " r12 ", frame.r12, " r13 ", frame.r13)
        register(&sink, "  r14 ", frame.r14, " r15 ", frame.r15, " rflags ", frame.rflags)
    }

    public static func writePageFaultCause<Sink: TextSink>(_ code: UInt64, to sink: inout Sink) {
        sink.write(code & 1 != 0 ? "protection violation" : "page not present")
        if code & 16 != 0 {
            sink.write(" on instruction fetch")
        } else {
            sink.write(code & 2 != 0 ? " on write" : " on read")
        }
        sink.write(code & 4 != 0 ? " from user mode" : " from kernel mode")
        if code & 8 != 0 { sink.write(", reserved bit set") }
    }

    /// How a CPU exception's panic line begins: its backtrace starts at the
    /// faulting instruction, every other panic's at a return address.
    public static let exceptionHeadline: StaticString = "CPU exception "

    /// `backtrace:` and one line per return address, starting with `first`
    /// (the faulting RIP, or the panic call site).
    public static func writeBacktrace<Sink: TextSink>(
        first: UInt64, framePointer: UInt64, stack: Range<UInt64>,
        read: (UInt64) -> UInt64, to sink: inout Sink
    ) {
        sink.line("backtrace:")
        var index: UInt64 = 0
        func entry(_ address: UInt64) {
            sink.write("  #")
            sink.write(decimal: index)
            sink.write(" ")
            sink.write(hex: address)
            sink.newline()
            index += 1
        }
        entry(first)
        StackWalker.walk(framePointer: framePointer, stack: stack, read: read) { entry($0) }
    }

    private static func register<Sink: TextSink>(
        _ sink: inout Sink, _ a: StaticString, _ av: UInt64, _ b: StaticString, _ bv: UInt64,
        _ c: StaticString, _ cv: UInt64
    ) {
        sink.write(a)
        sink.write(hex: av)
        sink.write(b)
        sink.write(hex: bv)
        sink.write(c)
        sink.write(hex: cv)
        sink.newline()
    }
}
