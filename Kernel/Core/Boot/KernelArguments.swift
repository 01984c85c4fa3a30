/// The kernel command line (QEMU `-append`), split into `key` or
/// `key=value` words separated by spaces.
public struct KernelArguments {
    public struct Argument {
        public var key: [UInt8]
        public var value: [UInt8]?
    }

    public private(set) var arguments: [Argument] = []

    public init<Bytes: Sequence>(commandLine: Bytes) where Bytes.Element == UInt8 {
        var word: [UInt8] = []
        for byte in commandLine {
            if byte == 0 { break }
            if byte == 0x20 || byte == 0x09 || byte == 0x0A {
                append(word)
                word.removeAll(keepingCapacity: true)
            } else {
                word.append(byte)
            }
        }
        append(word)
    }

    private mutating func append(_ word: [UInt8]) {
        guard !word.isEmpty else { return }
        if let equals = word.firstIndex(of: 0x3D) {
            arguments.append(Argument(key: Array(word[..<equals]), value: Array(word[(equals + 1)...])))
        } else {
            arguments.append(Argument(key: word, value: nil))
        }
    }

    /// The last value given for `key`; an argument given twice takes its later value.
    public func value(_ key: StaticString) -> [UInt8]? {
        var found: [UInt8]?
        for argument in arguments where argument.key.matches(key) {
            found = argument.value ?? []
        }
        return found
    }

    public func contains(_ key: StaticString) -> Bool {
        arguments.contains { $0.key.matches(key) }
    }
}

extension Array where Element == UInt8 {
    /// Byte-wise comparison with an ASCII literal; the kernel has no Unicode tables.
    public func matches(_ text: StaticString) -> Bool {
        text.withUTF8Buffer { literal in
            guard literal.count == count else { return false }
            var index = 0
            while index < count {
                if literal[index] != self[index] { return false }
                index += 1
            }
            return true
        }
    }

    /// A decimal unsigned integer, or nil for anything else (including overflow).
    public var decimalValue: UInt64? {
        guard !isEmpty else { return nil }
        var value: UInt64 = 0
        for byte in self {
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = shifted.addingReportingOverflow(UInt64(byte - 0x30))
            if overflow1 || overflow2 { return nil }
            value = sum
        }
        return value
    }
}
