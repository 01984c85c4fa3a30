import Testing
@testable import KernelCore

/// Passive health: connect failures of real traffic mark a backend DOWN.
@Suite struct PassiveHealthTests {
    static func world(errorLimit: Int = 3, onError: PassiveHealthAction = .markDown, fall: Int = 3,
                      slowStart: Interval = .zero) -> (PickWorld, [LoadBalancer.Event]) {
        let world = PickWorld(algorithm: .roundRobin, weights: [1, 1, 1], slowStart: slowStart,
                              health: HealthCheckConfiguration(rise: 2, fall: fall, errorLimit: errorLimit, onError: onError))
        return (world, [])
    }

    /// Collects the status changes the balancer announces: (backend, status).
    final class Changes {
        var seen: [(Int, BackendHealth.Status)] = []
        init(_ world: PickWorld) {
            world.balancer.onEvent = { [self] event in
                if case .backendStatusChanged(let service, let backend, let status) = event {
                    seen.append((service.backends.firstIndex { $0 === backend }!, status))
                }
            }
        }
    }

    func connect(_ world: PickWorld, _ backend: Int, _ succeeded: Bool, times: Int = 1) {
        for _ in 0..<times {
            world.balancer.observeConnect(service: world.service, backend: world.service.backends[backend], succeeded: succeeded,
                                          now: world.now)
        }
    }

    /// `error-limit 3 on-error mark-down`: the third consecutive failure
    /// takes the backend out of rotation at once; a success in between
    /// starts the count again.
    @Test func markDownAfterTheErrorLimit() {
        let (world, _) = Self.world()
        let changes = Changes(world)
        let backend = world.service.backends[1]
        connect(world, 1, false, times: 2)
        #expect(backend.health.status == .up && backend.health.consecutiveConnectFailures == 2)
        connect(world, 1, true)
        #expect(backend.health.consecutiveConnectFailures == 0)
        connect(world, 1, false, times: 2)
        #expect(backend.health.status == .up, "a success in between restarts the count")
        #expect(world.picks(300) == [100, 100, 100])
        world.now = world.now + .seconds(1)
        connect(world, 1, false)
        #expect(backend.health.status == .down)
        #expect(backend.health.lastChangeCause == .traffic)
        #expect(backend.health.lastChange == world.now)
        #expect(changes.seen.count == 1 && changes.seen[0] == (1, .down))
        #expect(world.picks(300) == [150, 0, 150], "a backend marked DOWN takes no new connections")
        connect(world, 1, false, times: 5)
        #expect(changes.seen.count == 1, "a DOWN backend's failures change nothing")
    }

    /// `on-error fail-check`: failures at or past the limit count as failed
    /// checks toward `fall`, together with the active checks' failures.
    @Test func failCheckCountsTowardFall() {
        let (world, _) = Self.world(errorLimit: 2, onError: .failCheck, fall: 3)
        let changes = Changes(world)
        let backend = world.service.backends[0]
        connect(world, 0, false)
        #expect(backend.health.consecutiveFailures == 0 && backend.health.checkFailures == 0, "below the limit")
        connect(world, 0, false, times: 2)
        #expect(backend.health.consecutiveFailures == 2 && backend.health.status == .up)
        world.check(0, passed: true)
        #expect(backend.health.consecutiveFailures == 0, "a passing check resets the fall count")
        connect(world, 0, false)
        #expect(backend.health.consecutiveFailures == 1, "the run of connect failures went on past the limit")
        world.check(0, passed: false)
        #expect(backend.health.status == .up && backend.health.consecutiveFailures == 2)
        connect(world, 0, false)
        #expect(backend.health.status == .down && backend.health.lastChangeCause == .traffic)
        #expect(backend.health.checkFailures == 5)
        #expect(changes.seen.count == 1 && changes.seen[0] == (0, .down))
    }

    /// A success of real traffic between failures keeps the backend UP under fail-check too.
    @Test func failCheckNeedsConsecutiveFailures() {
        let (world, _) = Self.world(errorLimit: 2, onError: .failCheck, fall: 2)
        for _ in 0..<20 {
            connect(world, 2, false)
            connect(world, 2, true)
        }
        #expect(world.service.backends[2].health.status == .up && world.service.backends[2].health.consecutiveFailures == 0)
    }

    /// `error-limit 0`: passive health is off.
    @Test(arguments: PassiveHealthAction.allCases)
    func errorLimitZeroIsOff(action: PassiveHealthAction) {
        let (world, _) = Self.world(errorLimit: 0, onError: action, fall: 1)
        connect(world, 0, false, times: 100)
        let health = world.service.backends[0].health
        #expect(health.status == .up && health.consecutiveConnectFailures == 0 && health.checkFailures == 0)
    }

    /// Marked DOWN by traffic, the backend comes back after `rise` passing
    /// active checks, counted from the mark (not from before it), with the
    /// cause `check`, and ramps when slow start is on.
    @Test func recoveryIsByTheActiveChecks() {
        let (world, _) = Self.world(slowStart: .seconds(10))
        let changes = Changes(world)
        let backend = world.service.backends[1]
        for _ in 0..<5 { world.check(1, passed: true) }
        connect(world, 1, false, times: 3)
        #expect(backend.health.status == .down)
        world.now = world.now + .seconds(2)
        world.check(1, passed: true)
        #expect(backend.health.status == .down, "one check of rise 2 is not enough")
        connect(world, 1, false, times: 3)
        world.check(1, passed: true)
        #expect(backend.health.status == .up && backend.health.lastChangeCause == .check)
        #expect(backend.health.recoveredAt == world.now)
        #expect(changes.seen.count == 2 && changes.seen[1] == (1, .up))
        #expect(backend.health.consecutiveConnectFailures == 0)
        // Back UP, it counts afresh: two failures are below the limit.
        connect(world, 1, false, times: 2)
        #expect(backend.health.status == .up)
        let counts = world.picks(2100)
        #expect(counts[1] == 100, "slow start: a tenth of an equal share at first: \(counts)")
    }

    /// A count left by failures before the active checks took the backend
    /// DOWN does not carry over into its next time UP.
    @Test func theCountStartsAgainAfterRecovery() {
        let (world, _) = Self.world()
        let backend = world.service.backends[0]
        connect(world, 0, false, times: 2)
        world.bringDown(0)
        world.bringUp(0)
        connect(world, 0, false)
        #expect(backend.health.status == .up && backend.health.consecutiveConnectFailures == 1)
    }
}
