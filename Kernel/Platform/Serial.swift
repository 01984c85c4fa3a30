/// The 16550 UART at COM1, the kernel's console.
enum Serial {
    static let base: UInt16 = 0x3F8
    private static let data = base
    private static let interruptEnable = base + 1
    private static let fifoControl = base + 2
    private static let lineControl = base + 3
    private static let modemControl = base + 4
    private static let lineStatus = base + 5

    /// 115200 8N1, FIFOs on, receive interrupts routed to IRQ 4 so typing
    /// wakes the event loop from `hlt`.
    static func initialize() {
        outb(interruptEnable, 0x00)
        outb(lineControl, 0x80)  // divisor latch
        outb(data, 0x01)  // 115200 baud
        outb(interruptEnable, 0x00)
        outb(lineControl, 0x03)  // 8 bits, no parity, one stop bit
        outb(fifoControl, 0xC7)  // enable and clear FIFOs, 14-byte threshold
        outb(modemControl, 0x0B)  // DTR, RTS, OUT2 (IRQ gate)
        outb(interruptEnable, 0x01)  // data available
    }

    @inline(__always) static func write(_ byte: UInt8) {
        // Bounded wait: a wedged UART must not hang the kernel, least of all mid-panic.
        var spins = 0
        while inb(lineStatus) & 0x20 == 0 && spins < 100_000 { spins += 1 }
        outb(data, byte)
    }

    static var hasInput: Bool { inb(lineStatus) & 0x01 != 0 }

    static func read() -> UInt8? { hasInput ? inb(data) : nil }
}

/// The serial console as a `TextSink`.
struct Console: TextSink {
    /// True while the shell prompt ends the last line, so that output not
    /// typed by the operator starts on a line of its own.
    var atPrompt = false

    @inline(__always) mutating func write(byte: UInt8) { Serial.write(byte) }

    /// Starts unsolicited output (status lines, shutdown) on a fresh line.
    mutating func beginLine() {
        if atPrompt { newline() }
        atPrompt = false
    }
}

/// The one serial console. Global because every part of the kernel writes
/// to it, the panic path included, which may run with nothing else intact.
nonisolated(unsafe) var console = Console()
