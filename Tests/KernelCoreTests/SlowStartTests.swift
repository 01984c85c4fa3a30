import Testing
@testable import KernelCore

/// One service whose backends are moved UP and DOWN by active checks and
/// chosen from with `pickBackend`, as the balancer chooses for a new
/// connection, in simulated time.
final class PickWorld {
    let balancer: LoadBalancer
    var now = Instant(nanoseconds: 1_000_000_000)
    var random = SplitMix(state: 18)
    var service: LoadBalancer.Service { balancer.services[0] }

    init(algorithm: BalancingAlgorithm, weights: [Int], backups: Set<Int> = [], limits: [Int]? = nil,
         slowStart: Interval = .zero, health: HealthCheckConfiguration = HealthCheckConfiguration()) {
        let names: [StaticString] = ["web1", "web2", "web3", "web4", "web5"]
        let backends = weights.indices.map {
            BackendConfiguration(name: names[$0], address: IPv4Address(10, 0, 3, 2), port: UInt16(8081 + $0), weight: weights[$0],
                                 maximumConnections: limits?[$0] ?? 0, backup: backups.contains($0))
        }
        balancer = LoadBalancer(
            services: [ServiceConfiguration(name: "web", port: 80, algorithm: algorithm, backends: backends, health: health,
                                            slowStart: slowStart)],
            publicAddress: IPv4Address(10, 0, 2, 15), privateAddress: IPv4Address(10, 0, 3, 15), connectionCapacity: 1024)
        for index in weights.indices { bringUp(index) }
    }

    /// One active health check of backend `index`.
    func check(_ index: Int, passed: Bool) {
        balancer.recordCheck(service: service, backend: service.backends[index], outcome: passed ? .passed : .refused, latency: nil, now: now)
    }

    func bringUp(_ index: Int) {
        for _ in 0..<service.configuration.health.rise { check(index, passed: true) }
    }

    func bringDown(_ index: Int) {
        for _ in 0..<service.configuration.health.fall { check(index, passed: false) }
    }

    /// How many of `count` new connections each backend gets. `keepOpen`:
    /// each stays open (counts as active), as long-lived connections do;
    /// otherwise each closes before the next arrives.
    func picks(_ count: Int, keepOpen: Bool = false, excluding tried: UInt64 = 0) -> [Int] {
        for backend in service.backends { backend.statistics = LoadBalancer.Statistics() }
        var counts = Array(repeating: 0, count: service.backends.count)
        for _ in 0..<count {
            guard let chosen = service.pickBackend(flowHash: random.next(), excluding: tried, now: now) else { continue }
            counts[chosen] += 1
            if keepOpen { service.backends[chosen].statistics.opened() }
        }
        return counts
    }
}

@Suite struct SlowStartTests {
    static let ramp = Interval.seconds(10)
    static let weights = [2, 1, 3]

    /// The share of new connections backend 0 should get when it takes
    /// `fraction` of its weight: its effective weight over the total.
    static func expectedShare(_ algorithm: BalancingAlgorithm, fraction: Double) -> Double {
        let weights = algorithm.usesWeights ? weights.map(Double.init) : [1, 1, 1]
        let ramping = weights[0] * fraction
        return ramping / (ramping + weights[1] + weights[2])
    }

    /// Backend 0 fails and comes back at the returned instant; the others stay UP.
    static func recoveredWorld(_ algorithm: BalancingAlgorithm) -> (PickWorld, Instant) {
        let world = PickWorld(algorithm: algorithm, weights: weights, slowStart: ramp)
        world.now = world.now + .seconds(5)
        world.bringDown(0)
        world.now = world.now + .seconds(5)
        world.bringUp(0)
        return (world, world.now)
    }

    /// A backend back UP takes 1/10 of its weight, 32.5% at a quarter of
    /// the ramp, 55% at half and all of it once the ramp is over, under
    /// every algorithm, whether connections stay open or close at once.
    /// Maglev moves in tenths, each for a tenth of the ramp: 1/10, 3/10 at
    /// a quarter, 6/10 at half.
    @Test(arguments: BalancingAlgorithm.allCases)
    func aRecoveredBackendRampsItsShareUnderEveryAlgorithm(algorithm: BalancingAlgorithm) {
        let (world, recovered) = Self.recoveredWorld(algorithm)
        let linear: [(Double, Double)] = [(0, 0.1), (0.25, 0.325), (0.5, 0.55), (1, 1), (3, 1)]
        let stepped: [Double] = [0.1, 0.3, 0.6, 1, 1]
        for (step, (progress, fraction)) in linear.enumerated() {
            world.now = recovered + Interval(nanoseconds: UInt64(Double(Self.ramp.nanoseconds) * progress))
            let expected = Self.expectedShare(algorithm, fraction: algorithm == .sourceHash ? stepped[step] : fraction)
            // Once the ramp is over, idle backends tie under least connections,
            // which picks the first as it always does: only open connections
            // show the shares then.
            let leastConnections = algorithm == .leastConnections || algorithm == .weightedLeastConnections
            for keepOpen in (fraction == 1 && leastConnections ? [true] : [false, true]) {
                let counts = world.picks(12_000, keepOpen: keepOpen)
                let share = Double(counts[0]) / Double(counts.reduce(0, +))
                #expect(abs(share - expected) < 0.015,
                        "\(algorithm.name) at \(progress) of the ramp, open \(keepOpen): \(share) vs \(expected), \(counts)")
            }
        }
    }

    /// The effective weight: weight × (100 + ⌊900 × elapsed / ramp⌋) / 1000.
    @Test func theShareGrowsLinearlyFromATenth() {
        let (world, recovered) = Self.recoveredWorld(.weightedRoundRobin)
        let backend = world.service.backends[0]
        var previous = 0
        for tenth in 0...10 {
            let now = recovered + Interval(nanoseconds: Self.ramp.nanoseconds * UInt64(tenth) / 10)
            let permille = backend.slowStartPermille(over: Self.ramp, now: now)
            #expect(permille == (tenth == 10 ? 1000 : 100 + 90 * tenth))
            #expect(permille > previous)
            previous = permille
        }
        #expect(backend.slowStartPermille(over: Self.ramp, now: recovered + Interval(nanoseconds: Self.ramp.nanoseconds - 1_000_000)) == 999)
        #expect(backend.slowStartPermille(over: .zero, now: recovered) == 1000, "no slow start: full at once")
        #expect(world.service.backends[1].slowStartPermille(over: Self.ramp, now: recovered) == 1000)
    }

    /// At boot every backend comes UP for the first time together: none ramps.
    @Test(arguments: BalancingAlgorithm.allCases)
    func theFirstUpAfterBootDoesNotRamp(algorithm: BalancingAlgorithm) {
        let world = PickWorld(algorithm: algorithm, weights: Self.weights, slowStart: Self.ramp)
        #expect(world.service.backends.allSatisfy { $0.health.recoveredAt == nil })
        let counts = world.picks(12_000, keepOpen: true)
        let share = Double(counts[0]) / Double(counts.reduce(0, +))
        #expect(abs(share - Self.expectedShare(algorithm, fraction: 1)) < 0.015, "\(algorithm.name): \(counts)")
    }

    /// A ramp rebuilds the Maglev table once per step, ten times in all
    /// (the first when the backend rejoins), however many flows arrive.
    @Test func maglevRebuildsOncePerStep() {
        let world = PickWorld(algorithm: .sourceHash, weights: Self.weights, slowStart: Self.ramp)
        _ = world.picks(100)
        world.bringDown(0)
        _ = world.picks(100)
        let before = world.service.scheduler.maglevBuilds
        world.bringUp(0)
        let recovered = world.now
        for hundredth in 0...300 {
            world.now = recovered + Interval(nanoseconds: Self.ramp.nanoseconds * UInt64(hundredth) / 100)
            _ = world.picks(50)
        }
        #expect(world.service.scheduler.maglevBuilds - before == SlowStart.steps)
    }

    /// Without slow start a recovered backend takes its full share at once.
    @Test func noSlowStartMeansAFullShareAtOnce() {
        let world = PickWorld(algorithm: .roundRobin, weights: Self.weights)
        world.bringDown(0)
        world.now = world.now + .seconds(1)
        world.bringUp(0)
        #expect(world.service.backends[0].health.recoveredAt != nil)
        #expect(world.picks(300) == [100, 100, 100])
    }

    /// A ramping backend a thousand times lighter than the other still gets
    /// a connection whose heavier choice was tried, under Maglev too.
    @Test(arguments: BalancingAlgorithm.allCases)
    func aLightRampingBackendIsStillReachable(algorithm: BalancingAlgorithm) {
        let world = PickWorld(algorithm: algorithm, weights: [1000, 1], slowStart: Self.ramp)
        world.bringDown(1)
        world.now = world.now + .seconds(1)
        world.bringUp(1)
        #expect(world.service.backends[1].slowStartPermille(over: Self.ramp, now: world.now) == 100)
        #expect(world.picks(200, excluding: 0b01) == [0, 200])
    }
}
