import Testing
@testable import KernelCore

/// The appliance's side (`world.server`) health-checks one backend
/// (`world.client`) over a wire with a set one-way delay each way. The
/// appliance is driven as the kernel's loop drives it: polled every 100 µs
/// of simulated time, ticked every `Appliance.tickInterval`.
final class HealthCheckBench {
    let world = TCPWorld()
    /// One-way delays, appliance to backend and back.
    var toBackend: Interval
    var toAppliance: Interval
    let balancer: LoadBalancer
    let checker: HealthChecker
    /// When the first check starts (the first tick).
    let start: Instant
    private var nextTick: Instant
    private var wire: [(due: Instant, frame: TCPWorld.Frame)] = []
    static let step = Interval.microseconds(100)
    static let port: UInt16 = 8081

    var health: BackendHealth { balancer.services[0].backends[0].health }

    /// - Parameters:
    ///   - listening: whether the backend accepts connections on its port (otherwise it refuses them).
    ///   - serve: what the backend does with each connection it accepts (by default, closes it).
    init(health: HealthCheckConfiguration, toBackend: Interval, toAppliance: Interval, listening: Bool = true,
         serve: @escaping (TCPConnection) -> Void = { $0.close() }) {
        self.toBackend = toBackend
        self.toAppliance = toAppliance
        let backend = BackendConfiguration(name: "b", address: world.clientAddress, port: Self.port)
        balancer = LoadBalancer(
            services: [ServiceConfiguration(name: "web", port: 80, algorithm: .roundRobin, backends: [backend], health: health)],
            publicAddress: world.serverAddress, privateAddress: world.serverAddress)
        start = world.now
        nextTick = world.now
        checker = HealthChecker(balancer: balancer, tcp: world.server.tcp, source: world.serverAddress, now: world.now)
        if listening, let listener = world.client.tcp.listen(port: Self.port, addresses: [world.clientAddress]) {
            listener.onAcceptable = { while let connection = listener.accept() { serve(connection) } }
        }
        // Both sides know each other's MAC, as the appliance knows its gateway's from boot: no ARP in the timings.
        _ = world.server.interfaces[0].arp.learn(world.clientAddress, is: world.clientDevice.macAddress, now: world.now)
        _ = world.client.interfaces[0].arp.learn(world.serverAddress, is: world.serverDevice.macAddress, now: world.now)
    }

    /// Runs until `at` (simulated time); each step ticks when due, delivers
    /// the frames whose delay has passed, and polls both sides.
    func run(until at: Instant) {
        while world.now < at {
            let now = world.now
            if now >= nextTick {
                checker.tick(now: now)
                world.server.tick(now: now)
                world.client.tick(now: now)
                nextTick = nextTick + Appliance.tickInterval
            }
            sendFrames()
            var waiting: [(due: Instant, frame: TCPWorld.Frame)] = []
            for item in wire {
                if item.due <= now {
                    (item.frame.toServer ? world.serverDevice : world.clientDevice).inject(item.frame.bytes)
                } else {
                    waiting.append(item)
                }
            }
            wire = waiting
            _ = world.server.poll(now: now)
            _ = world.client.poll(now: now)
            sendFrames()
            world.now = now + Self.step
        }
    }

    func run(for interval: Interval) { run(until: world.now + interval) }

    private func sendFrames() {
        for frame in world.inFlight {
            wire.append((world.now + (frame.toServer ? toAppliance : toBackend), frame))
        }
        world.inFlight.removeAll()
    }
}

/// A check's latency is its connect time, SYN out to SYN-ACK in, and its
/// result counts when the answer arrives: neither depends on the 100 ms tick.
@Suite struct HealthCheckTimingTests {
    static let health = HealthCheckConfiguration(interval: .seconds(1), timeout: .milliseconds(450), rise: 2, fall: 3)

    @Test func theLatencyIsTheConnectTimeNotTheTick() {
        let bench = HealthCheckBench(health: Self.health, toBackend: .microseconds(1_200), toAppliance: .microseconds(1_800))
        // The SYN leaves on the first tick; the SYN-ACK is back 3 ms later.
        bench.run(until: bench.start + .microseconds(2_900))
        #expect(bench.health.consecutiveSuccesses == 0 && bench.health.lastLatency == nil)
        bench.run(until: bench.start + .microseconds(3_100))
        #expect(bench.health.consecutiveSuccesses == 1, "the check passes when its SYN-ACK arrives, not at the next tick")
        #expect(bench.health.lastLatency == .milliseconds(3))
        #expect(bench.health.lastOutcome == .passed && bench.health.lastStatusCode == 0)

        // The second check, one interval later, makes the backend UP at its SYN-ACK.
        bench.run(until: bench.start + .seconds(1) + .milliseconds(50))
        #expect(bench.health.status == .up)
        #expect(bench.health.lastChange == bench.start + .seconds(1) + .milliseconds(3))
        #expect(bench.health.lastLatency == .milliseconds(3))
    }

    @Test func eachCheckReportsItsOwnConnectTime() {
        let bench = HealthCheckBench(health: Self.health, toBackend: .microseconds(500), toAppliance: .microseconds(500))
        var latencies: [Interval?] = []
        for (second, delay) in [(0, 500), (1, 7_000), (2, 42_000), (3, 130_000)].map({ ($0.0, UInt64($0.1)) }) {
            bench.toAppliance = .microseconds(delay)
            bench.run(until: bench.start + .seconds(UInt64(second)) + .milliseconds(300))
            latencies.append(bench.health.lastLatency)
        }
        #expect(latencies == [.milliseconds(1), .microseconds(7_500), .microseconds(42_500), .microseconds(130_500)])
        #expect(bench.health.checkFailures == 0)
    }

    /// A backend that answers after the timeout fails the check, even when
    /// its SYN-ACK arrives before the tick that would have timed it out.
    @Test func aSynAckAfterTheTimeoutIsAFailure() {
        let bench = HealthCheckBench(health: Self.health, toBackend: .milliseconds(1), toAppliance: .milliseconds(469))
        bench.run(until: bench.start + .milliseconds(480))
        #expect(bench.health.checkFailures == 1, "answered in 470 ms with a 450 ms timeout")
        #expect(bench.health.lastOutcome == .timeout)
        #expect(bench.health.consecutiveSuccesses == 0 && bench.health.lastLatency == nil)
        #expect(bench.world.server.tcp.connectionCount == 0, "the late connection is reset")

        // The same backend within the timeout passes, at its real latency.
        bench.toAppliance = .milliseconds(429)
        bench.run(until: bench.start + .seconds(1) + .milliseconds(480))
        #expect(bench.health.checkFailures == 1)
        #expect(bench.health.lastLatency == .milliseconds(430))
    }

    /// A backend that never answers fails at the first tick past the timeout.
    @Test func aSilentBackendFailsAtTheTickAfterItsTimeout() {
        let bench = HealthCheckBench(health: Self.health, toBackend: .milliseconds(1), toAppliance: .seconds(30))
        bench.run(until: bench.start + .milliseconds(450))
        #expect(bench.health.checkFailures == 0)
        bench.run(until: bench.start + .milliseconds(501))
        #expect(bench.health.checkFailures == 1)
        #expect(bench.health.lastOutcome == .timeout)
        #expect(bench.world.server.tcp.connectionCount == 0, "the unanswered connection is aborted")
    }

    /// A refusal counts when the reset arrives.
    @Test func aRefusalCountsWhenTheResetArrives() {
        let bench = HealthCheckBench(health: Self.health, toBackend: .milliseconds(2), toAppliance: .milliseconds(3), listening: false)
        bench.run(until: bench.start + .microseconds(4_900))
        #expect(bench.health.checkFailures == 0)
        bench.run(until: bench.start + .microseconds(5_100))
        #expect(bench.health.checkFailures == 1)
        #expect(bench.health.lastLatency == nil)
        #expect(bench.health.lastOutcome == .refused)
    }

    /// A backend that refuses every check is checked, and refused, once an interval for as long as it refuses.
    @Test func everyIntervalsRefusalIsCounted() {
        let bench = HealthCheckBench(health: Self.health, toBackend: .milliseconds(2), toAppliance: .milliseconds(3), listening: false)
        bench.run(until: bench.start + .seconds(2) + .milliseconds(4))
        #expect(bench.health.checkFailures == 2)
        bench.run(until: bench.start + .seconds(2) + .milliseconds(6))
        #expect(bench.health.checkFailures == 3)
        bench.run(until: bench.start + .seconds(10) + .milliseconds(6))
        #expect(bench.health.checkFailures == 11)
        #expect(bench.health.status == .down)
        #expect(bench.world.server.tcp.connectionCount == 0, "no refused check keeps a connection")
    }

    /// No free connection slot: the check fails without a packet, as `noConnection`.
    @Test func noSlotIsNoConnection() {
        let bench = HealthCheckBench(health: Self.health, toBackend: .milliseconds(1), toAppliance: .milliseconds(1))
        bench.world.server.tcp.configuration.maximumConnections = 0
        bench.run(for: .milliseconds(50))
        #expect(bench.health.lastOutcome == .noConnection)
        #expect(bench.health.checkFailures == 1)
        #expect(bench.world.server.tcp.counters[.connectionLimitHits] == 1)
    }
}
