/// A counter's identity. Conforming enums are the single place a counter is
/// declared: its case is the key, `name` is what the console, Prometheus, the
/// telemetry stream and the host tools call it. Raw values must be dense from
/// 0 (the default for `enum K: Int`), which lets `CounterSet` index storage
/// and enumerate cases without allocating.
public protocol CounterKey: NamedCase, RawRepresentable, Sendable where RawValue == Int {}

extension CounterKey {
    /// How many cases the key has.
    public static var caseCount: Int {
        var count = 0
        while Self(rawValue: count) != nil { count += 1 }
        return count
    }
}

/// One `UInt64` per case of `Key`, in fixed inline storage: incrementing
/// never allocates, so counters may be bumped on the per-packet path.
public struct CounterSet<Key: CounterKey>: Sendable, Equatable {
    /// Most cases a key may have.
    public static var capacity: Int { 64 }

    private var values = InlineArray<64, UInt64>(repeating: 0)

    public init() {}

    public subscript(key: Key) -> UInt64 {
        get { values[key.rawValue] }
        set { values[key.rawValue] = newValue }
    }

    /// How many counters the set holds (the key's case count).
    public static var count: Int { Key.caseCount }

    /// Counter `index`'s name, in declaration order.
    public static func name(_ index: Int) -> StaticString {
        Key(rawValue: index)?.name ?? "unknown"
    }

    /// Counter `index`'s value, in declaration order.
    public func value(_ index: Int) -> UInt64 {
        Key(rawValue: index) == nil ? 0 : values[index]
    }

    /// Calls `body` with each key and its value, in declaration order.
    public func forEach(_ body: (Key, UInt64) -> Void) {
        var index = 0
        while let key = Key(rawValue: index) {
            body(key, values[index])
            index += 1
        }
    }

    /// The sum of every counter.
    public var total: UInt64 {
        var sum: UInt64 = 0
        forEach { sum &+= $1 }
        return sum
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        for index in 0..<count where lhs.values[index] != rhs.values[index] { return false }
        return true
    }
}
