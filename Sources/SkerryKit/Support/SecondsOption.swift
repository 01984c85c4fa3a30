/// Checks a command-line option that is a number of seconds (`--timeout`,
/// `--interval`, `--seconds`). `Double` parsing takes `inf`, `nan`, `1e308`
/// and negative numbers, none of which a timer can use: each is refused
/// with the option's name and the value given.
public struct SecondsOption: Sendable {
    /// The option as typed, e.g. `--timeout`.
    public var name: String
    /// The smallest value allowed; nil means anything above zero.
    public var minimum: Double?
    public var maximum: Double

    public init(_ name: String, minimum: Double? = nil, maximum: Double) {
        self.name = name
        self.minimum = minimum
        self.maximum = maximum
    }

    /// Timeouts: above zero, at most a week.
    public static func timeout(_ name: String = "--timeout") -> SecondsOption { SecondsOption(name, maximum: 604_800) }

    /// Refresh intervals: 0.1 to 60 seconds.
    public static func interval(_ name: String = "--interval") -> SecondsOption { SecondsOption(name, minimum: 0.1, maximum: 60) }

    /// nil when `value` is allowed; otherwise the message that says why not.
    public func problem(_ value: Double) -> String? {
        let fits = value.isFinite && value <= maximum && (minimum.map { value >= $0 } ?? (value > 0))
        guard !fits else { return nil }
        let range = minimum.map { "from \(Self.format($0)) to \(Self.format(maximum))" } ?? "> 0 and at most \(Self.format(maximum))"
        return "\(name) must be a finite number of seconds \(range), got '\(Self.format(value))'"
    }

    /// `inf`, `nan`, `-1`, `0.5`, `1e+308`: as short as it reads.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
