/// Limits failed admin-token checks per source address, so a guesser gets
/// a handful of tries a second at most, then a growing wait; and decides
/// when a source's failures are reported, so a flood of them costs a
/// console line per source every `reportInterval`, not one per try.
///
/// Memory is fixed: `sources` entries, allocated once. A new source takes
/// the entry of the one seen least recently.
public struct TokenFailureLimiter {
    /// Checked failures a source may have in one second before it must wait.
    public static let perSecond = 5
    /// The first wait; each further one doubles, up to `maximumPenalty`.
    public static let firstPenalty = Interval.seconds(1)
    public static let maximumPenalty = Interval.seconds(60)
    /// A source with no failure for this long (after its wait) starts again from `firstPenalty`.
    public static let forgetAfter = Interval.seconds(60)
    /// The shortest time between two reports about one source.
    public static let reportInterval = Interval.seconds(10)
    /// Sources remembered at once.
    public static let sources = 16

    struct Entry {
        var address = IPv4Address(0, 0, 0, 0)
        var inUse = false
        var lastSeen = Instant.zero
        var windowStart = Instant.zero
        var windowCount = 0
        var blockedUntil = Instant.zero
        var penalty = TokenFailureLimiter.firstPenalty
        var minuteStart = Instant.zero
        var minuteCount: UInt64 = 0
        var lastReport: Instant?
        var unreported: UInt64 = 0
    }

    /// A failure's report, when one is due: `count` failures since the
    /// source was last reported, `lastMinute` in the current minute.
    public struct Report: Sendable, Equatable {
        public var source: IPv4Address
        public var count: UInt64
        public var lastMinute: UInt64
    }

    var entries: [Entry]

    public init() {
        entries = [Entry](repeating: Entry(), count: TokenFailureLimiter.sources)
    }

    /// How long `source` must still wait before its token is checked again, or nil.
    public func wait(for source: IPv4Address, now: Instant) -> Interval? {
        guard let index = entries.firstIndex(where: { $0.inUse && $0.address == source }) else { return nil }
        let until = entries[index].blockedUntil
        return until > now ? until.since(now) : nil
    }

    /// Records a failure from `source`: a token checked and wrong (`checked`),
    /// or a request refused unchecked while the source waits. A checked
    /// failure that fills the second's allowance starts a wait.
    public mutating func fail(_ source: IPv4Address, checked: Bool, now: Instant) -> Report? {
        let index = entry(for: source, now: now)
        var entry = entries[index]
        if now.since(max(entry.lastSeen, entry.blockedUntil)) >= TokenFailureLimiter.forgetAfter {
            entry.penalty = TokenFailureLimiter.firstPenalty
        }
        entry.lastSeen = now
        if now.since(entry.minuteStart) >= .seconds(60) {
            entry.minuteStart = now
            entry.minuteCount = 0
        }
        entry.minuteCount += 1
        entry.unreported += 1
        if checked {
            if now.since(entry.windowStart) >= .seconds(1) {
                entry.windowStart = now
                entry.windowCount = 0
            }
            entry.windowCount += 1
            if entry.windowCount >= TokenFailureLimiter.perSecond {
                entry.blockedUntil = now + entry.penalty
                entry.penalty = min(entry.penalty + entry.penalty, TokenFailureLimiter.maximumPenalty)
                entry.windowCount = 0
            }
        }
        var report: Report?
        if entry.lastReport.map({ now.since($0) >= TokenFailureLimiter.reportInterval }) ?? true {
            report = Report(source: source, count: entry.unreported, lastMinute: entry.minuteCount)
            entry.lastReport = now
            entry.unreported = 0
        }
        entries[index] = entry
        return report
    }

    /// Reports the failures not yet reported of every source whose last
    /// report is `reportInterval` old, so a burst's tail is told too.
    public mutating func flush(now: Instant, _ report: (Report) -> Void) {
        for index in entries.indices where entries[index].inUse && entries[index].unreported > 0 {
            guard let last = entries[index].lastReport, now.since(last) >= TokenFailureLimiter.reportInterval else { continue }
            report(Report(source: entries[index].address, count: entries[index].unreported, lastMinute: entries[index].minuteCount))
            entries[index].lastReport = now
            entries[index].unreported = 0
        }
    }

    /// The entry for `source`: its own, a free one, or the least recently seen.
    private mutating func entry(for source: IPv4Address, now: Instant) -> Int {
        if let index = entries.firstIndex(where: { $0.inUse && $0.address == source }) { return index }
        var chosen = 0
        for index in entries.indices {
            if !entries[index].inUse { chosen = index; break }
            if entries[index].lastSeen < entries[chosen].lastSeen { chosen = index }
        }
        var fresh = Entry()
        fresh.address = source
        fresh.inUse = true
        fresh.lastSeen = now
        fresh.windowStart = now
        fresh.minuteStart = now
        entries[chosen] = fresh
        return chosen
    }
}
