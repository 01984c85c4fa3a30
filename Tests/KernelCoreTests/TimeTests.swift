import Testing
@testable import KernelCore

@Suite struct TimerQueueTests {
    @Test func popsInDeadlineOrderWithTiesInSchedulingOrder() {
        var queue = TimerQueue<Int>()
        queue.schedule(at: Instant(nanoseconds: 30), 3)
        queue.schedule(at: Instant(nanoseconds: 10), 1)
        queue.schedule(at: Instant(nanoseconds: 20), 20)
        queue.schedule(at: Instant(nanoseconds: 20), 21)
        #expect(queue.nextDeadline == Instant(nanoseconds: 10))
        var order: [Int] = []
        while let due = queue.popExpired(now: Instant(nanoseconds: 100)) { order.append(due.payload) }
        #expect(order == [1, 20, 21, 3])
    }

    @Test func keepsTimersThatAreNotDue() {
        var queue = TimerQueue<Int>()
        queue.schedule(at: Instant(nanoseconds: 50), 1)
        #expect(queue.popExpired(now: Instant(nanoseconds: 49)) == nil)
        #expect(queue.popExpired(now: Instant(nanoseconds: 50))?.payload == 1)
        #expect(queue.isEmpty)
    }

    @Test func cancelRemovesOnlyThatTimer() {
        var queue = TimerQueue<Int>()
        let ids = (0..<10).map { queue.schedule(at: Instant(nanoseconds: UInt64(10 - $0)), $0) }
        let first = queue.cancel(ids[3])
        let second = queue.cancel(ids[3])
        #expect(first && !second)
        var seen: [Int] = []
        while let due = queue.popExpired(now: Instant(nanoseconds: 100)) { seen.append(due.payload) }
        #expect(seen == [9, 8, 7, 6, 5, 4, 2, 1, 0])
    }

    @Test(arguments: [7, 8, 9])
    func matchesASortedModel(seed: UInt64) {
        var random = SplitMix(state: seed)
        var queue = TimerQueue<Int>()
        var model: [(deadline: UInt64, sequence: Int, id: TimerID)] = []
        for sequence in 0..<500 {
            let deadline = random.next() % 50
            let id = queue.schedule(at: Instant(nanoseconds: deadline), sequence)
            model.append((deadline, sequence, id))
            if random.next() % 5 == 0, let victim = model.indices.randomElement(using: &random) {
                let cancelled = queue.cancel(model[victim].id)
                #expect(cancelled)
                model.remove(at: victim)
            }
        }
        model.sort { $0.deadline != $1.deadline ? $0.deadline < $1.deadline : $0.sequence < $1.sequence }
        var popped: [Int] = []
        while let due = queue.popExpired(now: Instant(nanoseconds: 1000)) { popped.append(due.payload) }
        #expect(popped == model.map(\.sequence))
    }
}

@Suite struct CycleConverterTests {
    @Test func convertsAtTheCalibratedRate() {
        let converter = CycleConverter(cycles: 25_000_000, over: .milliseconds(10))
        #expect(converter.cyclesPerSecond == 2_500_000_000)
        #expect(converter.nanoseconds(cycles: 2_500_000_000) == 999_999_999 || converter.nanoseconds(cycles: 2_500_000_000) == 1_000_000_000)
        #expect(converter.nanoseconds(cycles: 2_500) == 1_000 || converter.nanoseconds(cycles: 2_500) == 999)
        #expect(converter.cycles(in: .milliseconds(2)) == 5_000_000)
    }

    @Test func staysAccurateForLargeCountsWithoutOverflow() {
        let converter = CycleConverter(cyclesPerSecond: 3_000_000_000)
        let tenYears: UInt64 = 3_000_000_000 * 86_400 * 3650
        let nanoseconds = converter.nanoseconds(cycles: tenYears)
        let expected: UInt64 = 1_000_000_000 * 86_400 * 3650
        #expect(nanoseconds <= expected && expected - nanoseconds < expected / 1_000_000)
    }

    @Test func neverDividesByZero() {
        #expect(CycleConverter(cycles: 0, over: .zero).cyclesPerSecond == 1)
    }

    @Test func instantArithmeticSaturates() {
        #expect(Instant(nanoseconds: .max - 1) + .seconds(1) == Instant(nanoseconds: .max))
        #expect(Instant(nanoseconds: 5).since(Instant(nanoseconds: 9)) == .zero)
        #expect(Instant(nanoseconds: 9).since(Instant(nanoseconds: 5)) == Interval(nanoseconds: 4))
    }
}

/// A clock that only moves when the loop sleeps or a test advances it.
struct FakeMachine: EventLoopPlatform {
    final class State {
        var now = Instant.zero
        var sleeps: [Instant?] = []
        var costPerTurn = Interval.zero
    }
    let state = State()

    func now() -> Instant { state.now }

    mutating func waitForEvents(until deadline: Instant?) {
        state.sleeps.append(deadline)
        if let deadline, deadline > state.now { state.now = deadline }
    }
}

@Suite struct EventLoopTests {
    @Test func firesTimersAtTheirDeadlinesAndSleepsBetween() {
        let loop = EventLoop(platform: FakeMachine())
        var fired: [(String, UInt64)] = []
        loop.schedule(after: .milliseconds(20)) { fired.append(("b", loop.now.nanoseconds)) }
        loop.schedule(after: .milliseconds(10)) { fired.append(("a", loop.now.nanoseconds)) }
        for _ in 0..<4 { loop.turn() }
        #expect(fired.map(\.0) == ["a", "b"])
        #expect(fired.map(\.1) == [10_000_000, 20_000_000])
        #expect(loop.platform.state.sleeps.prefix(2) == [Instant(nanoseconds: 10_000_000), Instant(nanoseconds: 20_000_000)])
        #expect(loop.statistics.timersFired == 2)
    }

    @Test func repeatingTimersKeepTheirCadence() {
        let loop = EventLoop(platform: FakeMachine())
        var ticks: [UInt64] = []
        let id = loop.repeating(every: .milliseconds(5)) { ticks.append(loop.now.nanoseconds / 1_000_000) }
        for _ in 0..<8 { loop.turn() }
        #expect(ticks.prefix(4) == [5, 10, 15, 20])
        #expect(loop.cancel(id))
        let count = ticks.count
        for _ in 0..<3 { loop.turn() }
        #expect(ticks.count == count)
        #expect(loop.platform.state.sleeps.last == .some(nil), "with no timers the loop sleeps without a deadline")
    }

    @Test func aBusyPollerKeepsTheLoopAwake() {
        let loop = EventLoop(platform: FakeMachine())
        var work = 3
        loop.addPoller {
            guard work > 0 else { return false }
            work -= 1
            return true
        }
        for _ in 0..<3 { loop.turn() }
        #expect(loop.platform.state.sleeps.isEmpty)
        loop.turn()
        #expect(loop.platform.state.sleeps.count == 1)
        #expect(loop.statistics.turns == 4 && loop.statistics.sleeps == 1)
    }

    @Test func stopEndsRun() {
        let loop = EventLoop(platform: FakeMachine())
        loop.schedule(after: .seconds(1)) { loop.stop() }
        loop.run()
        #expect(loop.now == Instant(nanoseconds: 1_000_000_000))
    }

    @Test func loadIsBusyOverTotal() {
        var statistics = EventLoop<FakeMachine>.Statistics()
        statistics.busy = .milliseconds(25)
        statistics.idle = .milliseconds(75)
        #expect(statistics.loadPerMille == 250)
        #expect(EventLoop<FakeMachine>.Statistics().loadPerMille == 0)
    }
}
