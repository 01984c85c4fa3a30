/// The 32 architecturally defined x86-64 exception vectors.
public struct ExceptionVector: Sendable, Equatable {
    public var number: UInt64

    public init(_ number: UInt64) { self.number = number }

    public static let divideError = ExceptionVector(0)
    public static let breakpoint = ExceptionVector(3)
    public static let invalidOpcode = ExceptionVector(6)
    public static let doubleFault = ExceptionVector(8)
    public static let generalProtection = ExceptionVector(13)
    public static let pageFault = ExceptionVector(14)

    /// The manual's mnemonic, e.g. `#PF`.
    public var mnemonic: StaticString {
        switch number {
        case 0: return "#DE"
        case 1: return "#DB"
        case 2: return "NMI"
        case 3: return "#BP"
        case 4: return "#OF"
        case 5: return "#BR"
        case 6: return "#UD"
        case 7: return "#NM"
        case 8: return "#DF"
        case 9: return "CSO"
        case 10: return "#TS"
        case 11: return "#NP"
        case 12: return "#SS"
        case 13: return "#GP"
        case 14: return "#PF"
        case 16: return "#MF"
        case 17: return "#AC"
        case 18: return "#MC"
        case 19: return "#XM"
        case 20: return "#VE"
        case 21: return "#CP"
        case 28: return "#HV"
        case 29: return "#VC"
        case 30: return "#SX"
        default: return "#??"
        }
    }

    public var name: StaticString {
        switch number {
        case 0: return "divide error"
        case 1: return "debug"
        case 2: return "non-maskable interrupt"
        case 3: return "breakpoint"
        case 4: return "overflow"
        case 5: return "bound range exceeded"
        case 6: return "invalid opcode"
        case 7: return "device not available"
        case 8: return "double fault"
        case 9: return "coprocessor segment overrun"
        case 10: return "invalid TSS"
        case 11: return "segment not present"
        case 12: return "stack-segment fault"
        case 13: return "general protection fault"
        case 14: return "page fault"
        case 16: return "x87 floating-point error"
        case 17: return "alignment check"
        case 18: return "machine check"
        case 19: return "SIMD floating-point error"
        case 20: return "virtualization exception"
        case 21: return "control protection"
        case 28: return "hypervisor injection"
        case 29: return "VMM communication"
        case 30: return "security exception"
        default: return "reserved vector"
        }
    }

    /// Whether the CPU pushes an error code for this vector.
    public var hasErrorCode: Bool {
        switch number {
        case 8, 10, 11, 12, 13, 14, 17, 21, 29, 30: return true
        default: return false
        }
    }
}
