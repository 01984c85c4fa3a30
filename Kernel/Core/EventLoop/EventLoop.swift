/// What the event loop needs from the machine it runs on: a clock, and a way
/// to sleep until something may have happened.
public protocol EventLoopPlatform {
    func now() -> Instant
    /// Sleeps until an event source may have work or `deadline` passes,
    /// whichever is first. Returning early is always allowed.
    mutating func waitForEvents(until deadline: Instant?)
}

/// A single-threaded, non-preemptive event loop.
///
/// Each turn polls every registered source (NIC queues, the serial port),
/// fires the timers that are due, and — when a turn found nothing to do —
/// asks the platform to sleep until the next deadline. In the kernel that
/// sleep is `hlt`, so an idle appliance costs its host almost nothing.
public final class EventLoop<Platform: EventLoopPlatform> {
    public typealias Action = () -> Void
    /// Returns true when it did some work, so the loop polls again before sleeping.
    public typealias Poller = () -> Bool

    public struct Statistics: Sendable, Equatable {
        public var turns: UInt64 = 0
        public var timersFired: UInt64 = 0
        public var sleeps: UInt64 = 0
        public var busy = Interval.zero
        public var idle = Interval.zero

        /// Fraction of time spent working, in per-mille.
        public var loadPerMille: UInt64 {
            let total = busy.nanoseconds + idle.nanoseconds
            return total == 0 ? 0 : busy.nanoseconds * 1000 / total
        }
    }

    struct Timer {
        var action: Action
        var period: Interval?
    }

    public var platform: Platform
    public private(set) var statistics = Statistics()
    private var timers = TimerQueue<Timer>()
    private var pollers: [Poller] = []
    private var deadlineSources: [() -> Instant?] = []
    private var stopRequested = false

    public init(platform: Platform) {
        self.platform = platform
    }

    public var now: Instant { platform.now() }
    public var pendingTimers: Int { timers.count }

    /// Runs `action` once, `delay` from now.
    @discardableResult
    public func schedule(after delay: Interval, _ action: @escaping Action) -> TimerID {
        timers.schedule(at: now + delay, Timer(action: action, period: nil))
    }

    /// Runs `action` every `period`, first one period from now. Deadlines
    /// advance by whole periods, so a late turn does not make the timer drift.
    @discardableResult
    public func repeating(every period: Interval, _ action: @escaping Action) -> TimerID {
        let step = Swift.max(period, Interval(nanoseconds: 1))
        return timers.schedule(at: now + step, Timer(action: action, period: step))
    }

    @discardableResult
    public func cancel(_ timer: TimerID) -> Bool { timers.cancel(timer) }

    /// Adds an event source that is polled on every turn.
    public func addPoller(_ poller: @escaping Poller) {
        pollers.append(poller)
    }

    /// Adds a source of deadlines the loop must wake for, beyond its own
    /// timers (the pollers do the work when they come due).
    public func addDeadlineSource(_ source: @escaping () -> Instant?) {
        deadlineSources.append(source)
    }

    /// The earliest timer or source deadline.
    public var nextDeadline: Instant? {
        var earliest = timers.nextDeadline
        for source in deadlineSources {
            if let deadline = source(), earliest == nil || deadline < earliest! { earliest = deadline }
        }
        return earliest
    }

    /// Makes `run` return after the current turn.
    public func stop() { stopRequested = true }

    /// Turns until `stop` is called.
    public func run() {
        stopRequested = false
        while !stopRequested { turn() }
    }

    /// One turn: poll, fire due timers, and sleep if there was nothing to do.
    public func turn() {
        let start = platform.now()
        statistics.turns += 1
        var didWork = false
        for poller in pollers where poller() {
            didWork = true
        }
        if fireDueTimers(now: platform.now()) { didWork = true }
        let worked = platform.now()
        statistics.busy = statistics.busy + worked.since(start)
        guard !didWork, !stopRequested else { return }
        statistics.sleeps += 1
        platform.waitForEvents(until: nextDeadline)
        statistics.idle = statistics.idle + platform.now().since(worked)
    }

    private func fireDueTimers(now: Instant) -> Bool {
        var fired = false
        while let due = timers.popExpired(now: now) {
            fired = true
            statistics.timersFired += 1
            if let period = due.payload.period {
                var next = due.deadline + period
                if next <= now { next = now + period }
                timers.reschedule(due.id, at: next, due.payload)
            }
            due.payload.action()
        }
        return fired
    }
}
