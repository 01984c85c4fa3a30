/// Splits a serial console's bytes into lines. A partial last line is kept
/// until its newline arrives, up to `maximumLineBytes`: a longer line is
/// delivered in pieces of that size, so a console that never sends a
/// newline costs bounded memory.
public struct ConsoleLines: Sendable {
    public static let maximumLineBytes = 16 * 1024

    private var partial: [UInt8] = []

    public init() {}

    /// The bytes of a partial line held.
    public var pendingBytes: Int { partial.count }

    /// Appends `bytes` and returns the lines they complete, without their
    /// newlines, as `text(_:)` decodes them.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [String] {
        var lines: [String] = []
        for byte in bytes {
            if byte == 0x0A {
                lines.append(ConsoleLines.text(partial[...]))
                partial.removeAll(keepingCapacity: true)
                continue
            }
            partial.append(byte)
            if partial.count >= ConsoleLines.maximumLineBytes {
                lines.append(ConsoleLines.text(partial[...]))
                partial.removeAll(keepingCapacity: true)
            }
        }
        return lines
    }

    /// The partial line, if any, as a last line (the stream ended).
    public mutating func flush() -> String? {
        guard !partial.isEmpty else { return nil }
        defer { partial = [] }
        return ConsoleLines.text(partial[...])
    }

    /// Decodes a console line, dropping a trailing CR and control bytes other than tab.
    public static func text(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes.filter { $0 == 0x09 || $0 >= 0x20 }, as: UTF8.self)
    }
}
