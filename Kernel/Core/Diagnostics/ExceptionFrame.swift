/// The stack frame the exception entry stubs build (Kernel/Boot/interrupts.S):
/// general-purpose registers in push order reversed, the vector and error
/// code, then what the CPU pushed.
public struct ExceptionFrame: Sendable {
    public var r15: UInt64 = 0, r14: UInt64 = 0, r13: UInt64 = 0, r12: UInt64 = 0
    public var r11: UInt64 = 0, r10: UInt64 = 0, r9: UInt64 = 0, r8: UInt64 = 0
    public var rbp: UInt64 = 0, rdi: UInt64 = 0, rsi: UInt64 = 0, rdx: UInt64 = 0
    public var rcx: UInt64 = 0, rbx: UInt64 = 0, rax: UInt64 = 0
    public var vector: UInt64 = 0
    public var errorCode: UInt64 = 0
    public var rip: UInt64 = 0, cs: UInt64 = 0, rflags: UInt64 = 0, rsp: UInt64 = 0, ss: UInt64 = 0

    public init() {}
}
