/// Per-source rate limiting for firewall rules, in fixed memory.
///
/// Each (rule, source) pair is a GCRA cell: one "theoretical arrival time".
/// Cells live in a set-associative table of `sets` × 4 ways; a new pair
/// takes the way whose last use is oldest, so a flood of spoofed sources
/// can evict honest cells (which then start afresh with a full burst) but
/// can never grow memory.
struct SourceRateLimiter {
    struct Cell {
        var rule: Int32 = -1
        var source: UInt32 = 0
        var arrival: UInt64 = 0
        var lastUse: UInt64 = 0
    }

    static let ways = 4
    private var cells: [Cell]
    private let setMask: Int
    private(set) var evictions: UInt64 = 0

    init(sets: Int = 1024) {
        var count = 1
        while count < sets { count <<= 1 }
        setMask = count - 1
        cells = Array(repeating: Cell(), count: count * SourceRateLimiter.ways)
    }

    /// Whether a packet from `source` through `rule` conforms to `limit` at `now`; records it if so.
    mutating func admit(rule: Int32, source: UInt32, limit: FirewallRateLimit, now: Instant) -> Bool {
        let base = set(rule: rule, source: source) * SourceRateLimiter.ways
        let time = now.nanoseconds
        let victim = way(rule: rule, source: source, in: base)
        if cells[victim].rule != rule || cells[victim].source != source {
            if cells[victim].rule != -1 { evictions += 1 }
            cells[victim] = Cell(rule: rule, source: source, arrival: time, lastUse: time)
        }
        let interval = limit.emissionInterval
        let tolerance = interval &* UInt64(limit.burst - 1)
        let arrival = max(cells[victim].arrival, time)
        cells[victim].lastUse = time
        if arrival - time > tolerance { return false }
        cells[victim].arrival = arrival &+ interval
        return true
    }

    /// The pair's way in the set at `base`: its own, else an empty one, else the least recently used.
    private func way(rule: Int32, source: UInt32, in base: Int) -> Int {
        var victim = base
        for way in base..<(base + SourceRateLimiter.ways) {
            let cell = cells[way]
            if cell.rule == rule && cell.source == source { return way }
            let victimCell = cells[victim]
            if victimCell.rule == -1 { continue }
            if cell.rule == -1 || cell.lastUse < victimCell.lastUse { victim = way }
        }
        return victim
    }

    mutating func reset() {
        for index in cells.indices { cells[index] = Cell() }
    }

    private func set(rule: Int32, source: UInt32) -> Int {
        var mixed = UInt64(source) | UInt64(UInt32(bitPattern: rule)) << 32
        mixed ^= mixed >> 33
        mixed &*= 0xff51_afd7_ed55_8ccd
        mixed ^= mixed >> 33
        return Int(truncatingIfNeeded: mixed) & setMask
    }
}
