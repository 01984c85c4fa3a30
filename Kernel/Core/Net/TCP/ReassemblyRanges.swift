/// Byte ranges received beyond the next expected byte, kept merged and
/// sorted, bounded in number so a hostile peer cannot grow it.
public struct ReassemblyRanges: Sendable {
    public let limit: Int
    public private(set) var ranges: [(start: Int, end: Int)] = []

    public init(limit: Int = 8) { self.limit = limit }

    public var isEmpty: Bool { ranges.isEmpty }

    /// Records `start..<end` (offsets from the next expected byte). Returns
    /// false, recording nothing, when a new separate range would exceed the limit.
    public mutating func insert(_ start: Int, _ end: Int) -> Bool {
        guard end > start else { return true }
        var merged = (start: start, end: end)
        var kept: [(start: Int, end: Int)] = []
        kept.reserveCapacity(ranges.count + 1)
        var placed = false
        for range in ranges {
            if range.end < merged.start {
                kept.append(range)
            } else if merged.end < range.start {
                if !placed {
                    kept.append(merged)
                    placed = true
                }
                kept.append(range)
            } else {
                merged = (Swift.min(range.start, merged.start), Swift.max(range.end, merged.end))
            }
        }
        if !placed { kept.append(merged) }
        guard kept.count <= limit else { return false }
        ranges = kept
        return true
    }

    /// After `length` in-order bytes arrived: returns how many more bytes
    /// are now contiguous (to deliver too), and rebases the rest.
    public mutating func advance(by length: Int) -> Int {
        var extra = 0
        var rebased: [(start: Int, end: Int)] = []
        for range in ranges {
            let start = range.start - length
            let end = range.end - length
            if end <= extra { continue }
            if start <= extra {
                extra = end
            } else {
                rebased.append((start - extra, end - extra))
            }
        }
        // Offsets were relative to the old start; `extra` bytes are now consumed too.
        ranges = rebased
        return extra
    }
}
