/// A destination for console text: the serial port in the kernel, a byte
/// array in tests.
///
/// Formatting goes through this protocol rather than `String` so that the
/// panic path can print without touching the heap, and so that the kernel
/// does not need the Unicode tables.
public protocol TextSink {
    mutating func write(byte: UInt8)
}

extension TextSink {
    // Out of line: text is written from hundreds of places, none of them
    // hot, and a copy of this loop at each would cost the image tens of KiB.
    @inline(never)
    public mutating func write(_ text: StaticString) {
        text.withUTF8Buffer { buffer in
            for byte in buffer { write(byte: byte) }
        }
    }

    public mutating func write(bytes: UnsafeBufferPointer<UInt8>) {
        for byte in bytes { write(byte: byte) }
    }

    public mutating func write<Bytes: Sequence>(bytes: Bytes) where Bytes.Element == UInt8 {
        for byte in bytes { write(byte: byte) }
    }

    public mutating func newline() { write(byte: 0x0A) }

    /// Writes `text` and a newline.
    public mutating func line(_ text: StaticString) {
        write(text)
        newline()
    }

    public mutating func write(spaces count: Int) {
        var remaining = count
        while remaining > 0 {
            write(byte: 0x20)
            remaining -= 1
        }
    }

    /// Unsigned decimal, right-aligned in `width` columns.
    public mutating func write(decimal value: UInt64, width: Int = 0) {
        var count = 1
        var probe = value / 10
        while probe != 0 {
            count += 1
            probe /= 10
        }
        write(spaces: width - count)
        var divisor: UInt64 = 1
        for _ in 1..<count { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            write(byte: 0x30 + UInt8(truncatingIfNeeded: rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }

    public mutating func write(decimal value: Int, width: Int = 0) {
        if value < 0 {
            var digits = 1
            var probe = value.magnitude / 10
            while probe != 0 {
                digits += 1
                probe /= 10
            }
            write(spaces: width - digits - 1)
            write(byte: 0x2D)
            write(decimal: UInt64(value.magnitude))
        } else {
            write(decimal: UInt64(value), width: width)
        }
    }

    /// Hexadecimal with a `0x` prefix (unless `prefix` is false), zero-padded to `digits` digits.
    public mutating func write(hex value: UInt64, digits: Int = 16, prefix: Bool = true) {
        if prefix { write("0x") }
        var significant = 1
        var probe = value >> 4
        while probe != 0 {
            significant += 1
            probe >>= 4
        }
        let total = significant > digits ? significant : digits
        var index = total
        while index > 0 {
            index -= 1
            let nibble = UInt8(truncatingIfNeeded: (value >> UInt64(index * 4)) & 0xF)
            write(byte: nibble < 10 ? 0x30 + nibble : 0x61 + nibble - 10)
        }
    }

    /// A fixed-point number with `fractionDigits` decimals: `value / 10^fractionDigits`.
    public mutating func write(fixedPoint value: UInt64, fractionDigits: Int) {
        var scale: UInt64 = 1
        for _ in 0..<fractionDigits { scale *= 10 }
        write(decimal: value / scale)
        guard fractionDigits > 0 else { return }
        write(byte: 0x2E)
        var fraction = value % scale
        var divisor = scale / 10
        while divisor > 0 {
            write(byte: 0x30 + UInt8(truncatingIfNeeded: fraction / divisor))
            fraction %= divisor
            divisor /= 10
        }
    }

    /// A byte count in the largest binary unit that keeps it at least 1,
    /// with one decimal: `512 B`, `1.5 KiB`, `128.0 MiB`.
    public mutating func write(byteCount value: UInt64) {
        if value < 1024 {
            write(decimal: value)
            write(" B")
            return
        }
        var unitIndex = 0
        var scaled = value
        while scaled >= 1024 * 1024 && unitIndex < 3 {
            scaled /= 1024
            unitIndex += 1
        }
        write(fixedPoint: scaled * 10 / 1024, fractionDigits: 1)
        switch unitIndex {
        case 0: write(" KiB")
        case 1: write(" MiB")
        case 2: write(" GiB")
        default: write(" TiB")
        }
    }
}

/// Collects text in memory. Used by host tests and by code that formats a
/// line before deciding where it goes.
public struct ByteText: TextSink {
    public var bytes: [UInt8] = []

    public init() {}

    public mutating func write(byte: UInt8) { bytes.append(byte) }
}
