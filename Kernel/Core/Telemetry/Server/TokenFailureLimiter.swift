/// Limits failed admin-token checks: per source address, a handful a
/// second, then a growing wait; across all sources, `globalPerSecond`, so
/// rotating addresses guesses no faster. Decides when a source's failures
/// are reported, so a flood of them costs a console line per source every
/// `reportInterval`, not one per try.
///
/// Memory is fixed: `sources` entries, allocated once. A new source takes
/// the entry of the one whose last failure or wait is oldest.
public struct TokenFailureLimiter {
    /// Checked failures a source may have in one second before it must wait.
    public static let perSecond = 5
    /// Failed checks, all sources together, in one second; past it no token
    /// is checked until the second is over.
    public static let globalPerSecond = 20
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

        /// The later of its last checked failure and the end of its wait.
        var recent: Instant { max(lastSeen, blockedUntil) }
    }

    /// A failure's report, when one is due: `count` failures since the
    /// source was last reported, `lastMinute` in the current minute.
    public struct Report: Sendable, Equatable {
        public var source: IPv4Address
        public var count: UInt64
        public var lastMinute: UInt64
    }

    /// How a failure came about.
    public enum Failure: Sendable {
        /// A token checked and wrong: counts toward the source's wait.
        case checked
        /// A token checked and wrong while the source waits: answered as
        /// `unchecked` is, counted only toward the global budget.
        case checkedWhileWaiting
        /// Refused unchecked: the global budget was spent.
        case unchecked
    }

    var entries: [Entry]
    var globalWindowStart = Instant.zero
    var globalWindowCount = 0

    public init() {
        entries = [Entry](repeating: Entry(), count: TokenFailureLimiter.sources)
    }

    /// How long until any token is checked again, when this second's
    /// `globalPerSecond` failed checks are spent; else nil.
    public func globalWait(now: Instant) -> Interval? {
        let end = globalWindowStart + .seconds(1)
        return globalWindowCount >= TokenFailureLimiter.globalPerSecond && end > now ? end.since(now) : nil
    }

    /// How long `source` must still wait before its token is checked again, or nil.
    public func wait(for source: IPv4Address, now: Instant) -> Interval? {
        guard let index = entries.firstIndex(where: { $0.inUse && $0.address == source }) else { return nil }
        let until = entries[index].blockedUntil
        return until > now ? until.since(now) : nil
    }

    /// Records a failure from `source`. A `.checked` one that fills the
    /// source's second's allowance starts a wait; only those refresh the
    /// source, so refused requests do not keep its penalty from decaying.
    public mutating func fail(_ source: IPv4Address, _ failure: Failure, now: Instant) -> Report? {
        if failure != .unchecked {
            if now.since(globalWindowStart) >= .seconds(1) {
                globalWindowStart = now
                globalWindowCount = 0
            }
            globalWindowCount += 1
        }
        let index = entry(for: source, now: now)
        var entry = entries[index]
        if now.since(entry.recent) >= TokenFailureLimiter.forgetAfter {
            entry.penalty = TokenFailureLimiter.firstPenalty
        }
        if now.since(entry.minuteStart) >= .seconds(60) {
            entry.minuteStart = now
            entry.minuteCount = 0
        }
        entry.minuteCount += 1
        entry.unreported += 1
        if failure == .checked {
            entry.lastSeen = now
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

    /// The entry for `source`: its own, a free one, or the one whose last
    /// failure or wait is oldest (so a waiting source keeps its penalty).
    private mutating func entry(for source: IPv4Address, now: Instant) -> Int {
        if let index = entries.firstIndex(where: { $0.inUse && $0.address == source }) { return index }
        var chosen = 0
        for index in entries.indices {
            if !entries[index].inUse { chosen = index; break }
            if entries[index].recent < entries[chosen].recent { chosen = index }
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
