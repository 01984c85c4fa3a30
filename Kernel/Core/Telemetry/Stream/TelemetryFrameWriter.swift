/// Appends telemetry frames to a byte buffer: unsigned LEB128 varints,
/// length-prefixed UTF-8 strings, and IPv4 addresses as four bytes.
///
/// The buffer is reused from frame to frame, so a client's stream costs no
/// allocation once its buffer has grown to its working size.
public struct TelemetryFrameWriter {
    public var bytes: [UInt8] = []
    private var frameStart = -1

    public init() {}

    public mutating func begin(_ type: TelemetryProtocol.MessageType) {
        frameStart = bytes.count
        bytes.append(type.rawValue)
        bytes.append(contentsOf: [0, 0, 0, 0] as [UInt8])
    }

    /// Closes the frame `begin` opened by filling in its length.
    public mutating func end() {
        guard frameStart >= 0 else { return }
        let length = UInt32(bytes.count - frameStart - TelemetryProtocol.frameHeaderLength)
        bytes[frameStart + 1] = UInt8(length >> 24)
        bytes[frameStart + 2] = UInt8(truncatingIfNeeded: length >> 16)
        bytes[frameStart + 3] = UInt8(truncatingIfNeeded: length >> 8)
        bytes[frameStart + 4] = UInt8(truncatingIfNeeded: length)
        frameStart = -1
    }

    public mutating func byte(_ value: UInt8) { bytes.append(value) }

    public mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// Negative values (which the appliance never reports) are sent as 0.
    public mutating func varint(_ value: Int) { varint(UInt64(max(0, value))) }

    public mutating func flag(_ value: Bool) { bytes.append(value ? 1 : 0) }

    /// An interval in microseconds.
    public mutating func micros(_ interval: Interval) { varint(interval.nanoseconds / 1_000) }

    /// An interval in milliseconds.
    public mutating func millis(_ interval: Interval) { varint(interval.nanoseconds / 1_000_000) }

    public mutating func string(_ text: UnsafeBufferPointer<UInt8>) {
        varint(UInt64(text.count))
        bytes.append(contentsOf: text)
    }

    public mutating func string(_ text: StaticString) {
        string(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    public mutating func string(_ text: [UInt8]) {
        varint(UInt64(text.count))
        bytes.append(contentsOf: text)
    }

    public mutating func address(_ address: IPv4Address) {
        let value = address.value
        bytes.append(UInt8(value >> 24))
        bytes.append(UInt8(truncatingIfNeeded: value >> 16))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }
}
