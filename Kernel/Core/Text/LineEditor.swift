/// Turns raw serial input into command lines: printable ASCII is kept and
/// echoed, backspace and DEL erase, Ctrl-U clears the line, CR or LF ends it.
/// Lines are bounded; input past the limit is dropped and the bell is echoed.
public struct LineEditor {
    public enum Result: Equatable {
        /// Nothing to act on yet; `echo` holds the bytes to send back.
        case pending
        /// A complete line (without its terminator).
        case line([UInt8])
    }

    public let capacity: Int
    public private(set) var buffer: [UInt8] = []
    /// Bytes the terminal should see in response to the last input.
    public private(set) var echo: [UInt8] = []
    private var lastWasCarriageReturn = false

    public init(capacity: Int = 256) {
        self.capacity = capacity
        buffer.reserveCapacity(capacity)
    }

    public mutating func feed(_ byte: UInt8) -> Result {
        echo.removeAll(keepingCapacity: true)
        defer { lastWasCarriageReturn = byte == 0x0D }
        switch byte {
        case 0x0D, 0x0A:
            // CR LF counts once.
            if byte == 0x0A && lastWasCarriageReturn { return .pending }
            echo.append(0x0A)
            let line = buffer
            buffer.removeAll(keepingCapacity: true)
            return .line(line)
        case 0x08, 0x7F:
            if !buffer.isEmpty {
                buffer.removeLast()
                echo.append(contentsOf: [0x08, 0x20, 0x08])
            }
        case 0x15:
            for _ in buffer { echo.append(contentsOf: [0x08, 0x20, 0x08]) }
            buffer.removeAll(keepingCapacity: true)
        case 0x20...0x7E:
            if buffer.count < capacity {
                buffer.append(byte)
                echo.append(byte)
            } else {
                echo.append(0x07)
            }
        default:
            break
        }
        return .pending
    }
}
