/// A closed range of values of one match field.
public struct ValueRange: Hashable, Sendable, CustomStringConvertible {
    public var lower: UInt32
    public var upper: UInt32

    public init(_ lower: UInt32, _ upper: UInt32) {
        precondition(lower <= upper, "empty range")
        self.lower = lower
        self.upper = upper
    }

    public init(_ value: UInt32) { self.init(value, value) }

    public func contains(_ value: UInt32) -> Bool { lower <= value && value <= upper }
    public func contains(_ other: ValueRange) -> Bool { lower <= other.lower && other.upper <= upper }
    public func overlaps(_ other: ValueRange) -> Bool { lower <= other.upper && other.lower <= upper }

    public var description: String { lower == upper ? "\(lower)" : "\(lower)-\(upper)" }
}

/// A set of values as sorted, disjoint, non-adjacent ranges: the form every
/// match field (addresses, ports, protocols, ICMP types, states) takes once
/// parsed, so the compiler and the interpreter treat all fields alike.
public struct ValueSet: Hashable, Sendable, CustomStringConvertible {
    public private(set) var ranges: [ValueRange]

    /// Normalises `ranges`: sorts them and merges overlapping or adjacent ones.
    public init(_ ranges: [ValueRange]) {
        let sorted = ranges.sorted { $0.lower < $1.lower }
        var merged: [ValueRange] = []
        for range in sorted {
            if let last = merged.last, range.lower <= last.upper || (last.upper != .max && range.lower == last.upper + 1) {
                merged[merged.count - 1].upper = max(last.upper, range.upper)
            } else {
                merged.append(range)
            }
        }
        self.ranges = merged
    }

    public init(values: [UInt32]) { self.init(values.map { ValueRange($0) }) }

    public var isEmpty: Bool { ranges.isEmpty }

    public func contains(_ value: UInt32) -> Bool {
        var low = 0
        var high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            if ranges[middle].upper < value { low = middle + 1 } else { high = middle }
        }
        return low < ranges.count && ranges[low].lower <= value
    }

    /// Every value of `range` is in the set.
    public func contains(_ range: ValueRange) -> Bool {
        ranges.contains { $0.contains(range) }
    }

    public func isSuperset(of other: ValueSet) -> Bool {
        other.ranges.allSatisfy { contains($0) }
    }

    public func overlaps(_ range: ValueRange) -> Bool {
        ranges.contains { $0.overlaps(range) }
    }

    public func union(_ other: ValueSet) -> ValueSet { ValueSet(ranges + other.ranges) }

    /// The values of `domain` not in the set.
    public func complement(within domain: ValueRange) -> ValueSet {
        var result: [ValueRange] = []
        var next = UInt64(domain.lower)
        for range in ranges where range.upper >= domain.lower && range.lower <= domain.upper {
            if UInt64(range.lower) > next { result.append(ValueRange(UInt32(next), range.lower - 1)) }
            next = UInt64(range.upper) + 1
        }
        if next <= UInt64(domain.upper) { result.append(ValueRange(UInt32(next), domain.upper)) }
        return ValueSet(result)
    }

    /// The parts of the set inside `range`.
    public func clipped(to range: ValueRange) -> [ValueRange] {
        ranges.compactMap { part in
            part.overlaps(range) ? ValueRange(max(part.lower, range.lower), min(part.upper, range.upper)) : nil
        }
    }

    public var description: String { "{" + ranges.map(\.description).joined(separator: ", ") + "}" }
}
