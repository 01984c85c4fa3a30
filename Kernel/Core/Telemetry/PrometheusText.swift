/// Prometheus text exposition format (version 0.0.4): metric families
/// with their HELP and TYPE lines, then samples with labels.
///
/// Built once per scrape, off the packet path, into a growing buffer.
public struct PrometheusText {
    public enum Kind: Sendable {
        case counter, gauge
    }

    /// A sample's labels: up to three name/value pairs, held inline; the
    /// values point at text that outlives the scrape (literals, rule names).
    public struct Labels {
        var count = 0
        var names: (StaticString, StaticString, StaticString) = ("", "", "")
        var values: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>) =
            (UnsafeBufferPointer(start: nil, count: 0), UnsafeBufferPointer(start: nil, count: 0), UnsafeBufferPointer(start: nil, count: 0))

        public init() {}

        public init(_ name: StaticString, _ value: StaticString) { self = Labels().with(name, value) }

        public init(_ name: StaticString, _ value: UnsafeBufferPointer<UInt8>) { self = Labels().with(name, value) }

        public func with(_ name: StaticString, _ value: StaticString) -> Labels {
            with(name, UnsafeBufferPointer(start: value.utf8Start, count: value.utf8CodeUnitCount))
        }

        @inline(never)
        public func with(_ name: StaticString, _ value: UnsafeBufferPointer<UInt8>) -> Labels {
            var copy = self
            switch count {
            case 0: (copy.names.0, copy.values.0) = (name, value)
            case 1: (copy.names.1, copy.values.1) = (name, value)
            default: (copy.names.2, copy.values.2) = (name, value)
            }
            copy.count = min(3, count + 1)
            return copy
        }

        func pair(_ index: Int) -> (StaticString, UnsafeBufferPointer<UInt8>) {
            switch index {
            case 0: return (names.0, values.0)
            case 1: return (names.1, values.1)
            default: return (names.2, values.2)
            }
        }
    }

    public private(set) var text = ByteText()

    public init() {}

    public var bytes: [UInt8] { text.bytes }

    /// Starts a family: `# HELP name help` and `# TYPE name kind`.
    @inline(never)
    public mutating func family(_ name: StaticString, _ kind: Kind, _ help: StaticString) {
        text.write("# HELP ")
        text.write(name)
        text.write(" ")
        text.write(help)
        text.write("\n# TYPE ")
        text.write(name)
        text.write(kind == .counter ? " counter\n" : " gauge\n")
    }

    @inline(never)
    public mutating func sample(_ name: StaticString, _ labels: Labels = Labels(), _ value: UInt64) {
        start(name, labels)
        text.write(decimal: value)
        text.write(byte: 0x0A)
    }

    /// A value in seconds, from nanoseconds, with millisecond precision.
    @inline(never)
    public mutating func sample(_ name: StaticString, _ labels: Labels = Labels(), seconds: Interval) {
        start(name, labels)
        text.write(fixedPoint: seconds.milliseconds, fractionDigits: 3)
        text.write(byte: 0x0A)
    }

    /// A value with a fixed number of decimals: `value` in hundredths is `fractionDigits: 2`.
    @inline(never)
    public mutating func sample(_ name: StaticString, _ labels: Labels = Labels(), fixedPoint value: UInt64, fractionDigits: Int) {
        start(name, labels)
        text.write(fixedPoint: value, fractionDigits: fractionDigits)
        text.write(byte: 0x0A)
    }

    @inline(never)
    private mutating func start(_ name: StaticString, _ labels: Labels) {
        text.write(name)
        guard labels.count > 0 else {
            text.write(byte: 0x20)
            return
        }
        text.write(byte: 0x7B)  // {
        for index in 0..<labels.count {
            let (labelName, value) = labels.pair(index)
            if index > 0 { text.write(byte: 0x2C) }
            text.write(labelName)
            text.write("=\"")
            for byte in value {
                // Label values escape backslash, double quote and line feed.
                switch byte {
                case 0x5C: text.write("\\\\")
                case 0x22: text.write("\\\"")
                case 0x0A: text.write("\\n")
                default: text.write(byte: byte)
                }
            }
            text.write(byte: 0x22)
        }
        text.write("} ")
    }
}
