import Testing
@testable import KernelCore

/// Backups take new connections only while no primary can.
@Suite struct BackupBackendTests {
    /// web1 and web2 are primaries, web3 and web4 backups.
    static func world(_ algorithm: BalancingAlgorithm, limits: [Int]? = nil) -> PickWorld {
        PickWorld(algorithm: algorithm, weights: [1, 1, 1, 1], backups: [2, 3], limits: limits)
    }

    /// Backups share the load by the service's algorithm while every
    /// primary is DOWN, and take nothing new once one is back.
    @Test(arguments: BalancingAlgorithm.allCases)
    func backupsServeOnlyWhileNoPrimaryIsUp(algorithm: BalancingAlgorithm) {
        let world = Self.world(algorithm)
        var counts = world.picks(4000)
        #expect(counts[2] == 0 && counts[3] == 0, "\(algorithm.name): \(counts)")
        #expect(counts[0] + counts[1] == 4000)
        world.bringDown(0)
        counts = world.picks(4000)
        #expect(counts == [0, 4000, 0, 0], "one primary left takes everything: \(counts)")
        world.bringDown(1)
        counts = world.picks(4000, keepOpen: algorithm == .leastConnections || algorithm == .weightedLeastConnections)
        #expect(counts[0] == 0 && counts[1] == 0)
        #expect(counts[2] + counts[3] == 4000)
        #expect(abs(counts[2] - counts[3]) < 200, "\(algorithm.name): the backups share: \(counts)")
        world.bringUp(1)
        counts = world.picks(4000)
        #expect(counts == [0, 4000, 0, 0], "\(algorithm.name): a primary is back: \(counts)")
    }

    /// Disabled, draining, weighted 0 or at their connection limit, the
    /// primaries take nothing and the backups step in.
    @Test(arguments: BalancingAlgorithm.allCases)
    func backupsServeWhenNoPrimaryIsEligible(algorithm: BalancingAlgorithm) {
        let world = Self.world(algorithm, limits: [2, 2, 0, 0])
        let service = world.service
        world.balancer.setAdministrative(.disabled, service: service, backend: service.backends[0])
        world.balancer.setAdministrative(.draining, service: service, backend: service.backends[1])
        var counts = world.picks(1000)
        #expect(counts[0] == 0 && counts[1] == 0 && counts[2] + counts[3] == 1000, "\(counts)")
        world.balancer.setAdministrative(.enabled, service: service, backend: service.backends[1])
        #expect(world.picks(1000) == [0, 1000, 0, 0])
        world.balancer.setWeight(0, service: service, backend: service.backends[1])
        counts = world.picks(1000)
        #expect(counts[2] + counts[3] == 1000, "weight 0: \(counts)")
        world.balancer.setWeight(1, service: service, backend: service.backends[1])
        world.balancer.setAdministrative(.enabled, service: service, backend: service.backends[0])
        // Connections that stay open fill both primaries to their limit of
        // two; the rest go to the backups.
        counts = world.picks(10, keepOpen: true)
        #expect(counts[0] == 2 && counts[1] == 2 && counts[2] + counts[3] == 6, "\(algorithm.name): \(counts)")
    }

    /// A connection retrying after its primaries failed goes to a backup
    /// only when every primary has been tried; an untried primary comes first.
    @Test(arguments: BalancingAlgorithm.allCases)
    func theTriedMaskIsHonoured(algorithm: BalancingAlgorithm) {
        let world = Self.world(algorithm)
        var counts = world.picks(500, excluding: 0b0001)
        #expect(counts == [0, 500, 0, 0], "\(algorithm.name): \(counts)")
        counts = world.picks(500, excluding: 0b0011)
        #expect(counts[0] == 0 && counts[1] == 0 && counts[2] + counts[3] == 500, "\(algorithm.name): \(counts)")
        counts = world.picks(500, excluding: 0b0111)
        #expect(counts == [0, 0, 0, 500], "\(algorithm.name): \(counts)")
        #expect(world.picks(10, excluding: 0b1111) == [0, 0, 0, 0], "everything tried: no backend")
        world.bringDown(0)
        counts = world.picks(500, excluding: 0b0010)
        #expect(counts[2] + counts[3] == 500, "the only UP primary was tried: \(counts)")
    }

    /// Excluding a backend for one connection does not rebuild the Maglev table.
    @Test func triedBackendsDoNotRebuildTheMaglevTable() {
        let world = Self.world(.sourceHash)
        _ = world.picks(100)
        _ = world.picks(100, excluding: 0b0011)
        let builds = world.service.scheduler.maglevBuilds
        for mask: UInt64 in [0b0001, 0b0010, 0, 0b0011, 0b0001, 0] { _ = world.picks(100, excluding: mask) }
        #expect(world.service.scheduler.maglevBuilds == builds)
        // A flow whose backend was tried goes to the same other one every time.
        let hash: UInt64 = 0xDEAD_BEEF
        let first = world.service.pickBackend(flowHash: hash, excluding: 0, now: world.now)!
        let other = world.service.pickBackend(flowHash: hash, excluding: 1 << UInt64(first), now: world.now)
        #expect(other != nil && other != first && other! < 2)
        #expect(world.service.pickBackend(flowHash: hash, excluding: 1 << UInt64(first), now: world.now) == other)
    }

    /// Through the balancer: a connection opened on a backup while the
    /// primaries were DOWN keeps its backend when a primary returns, and the
    /// next new connection goes to the primary.
    @Test func openConnectionsStayOnTheBackup() throws {
        let harness = BalancerHarness()
        let configurations = [
            BackendConfiguration(name: "web1", address: harness.backendHost, port: 8081),
            BackendConfiguration(name: "spare", address: harness.backendHost, port: 8089, backup: true),
        ]
        let balancer = LoadBalancer(
            services: [ServiceConfiguration(name: "web", port: 80, algorithm: .roundRobin, backends: configurations)],
            publicAddress: harness.vip, privateAddress: harness.appliance, connectionCapacity: 64)
        let service = balancer.services[0]
        func check(_ backend: Int, _ passed: Bool, times: Int) {
            for _ in 0..<times {
                balancer.recordCheck(service: service, backend: service.backends[backend], outcome: passed ? .passed : .refused, latency: nil, now: harness.now)
            }
        }
        func send(_ bytes: [UInt8], fromClient: Bool = true) -> (verdict: LoadBalancer.Verdict, source: UInt16, destination: UInt16) {
            var bytes = bytes
            let verdict = bytes.withUnsafeMutableBytes {
                fromClient ? balancer.fromClient($0, now: harness.now) : balancer.fromBackend($0, now: harness.now)
            }
            return (verdict, UInt16(bytes[20]) << 8 | UInt16(bytes[21]), UInt16(bytes[22]) << 8 | UInt16(bytes[23]))
        }
        let client = IPv4Address(192, 0, 2, 7)
        #expect(send(BalancerHarness.packet(from: client, 40_000, to: harness.vip, 80, flags: [.syn], seq: 1, ack: 0)).verdict == .refuse,
                "no backend UP yet")
        check(1, true, times: 2)
        let syn = send(BalancerHarness.packet(from: client, 40_001, to: harness.vip, 80, flags: [.syn], seq: 1, ack: 0))
        #expect(syn.verdict == .forward(to: harness.backendHost) && syn.destination == 8089, "the primary is DOWN: the backup takes it")
        let synAck = send(BalancerHarness.packet(from: harness.backendHost, 8089, to: harness.appliance, syn.source,
                                                 flags: [.syn, .ack], seq: 500, ack: 2), fromClient: false)
        #expect(synAck.verdict == .forward(to: client))
        #expect(send(BalancerHarness.packet(from: client, 40_001, to: harness.vip, 80, flags: [.ack], seq: 2, ack: 501)).destination == 8089)
        #expect(service.backends[1].statistics.activeConnections == 1)
        check(0, true, times: 2)
        let data = send(BalancerHarness.packet(from: client, 40_001, to: harness.vip, 80, flags: [.ack], seq: 2, ack: 501, payload: 10))
        #expect(data.verdict == .forward(to: harness.backendHost) && data.destination == 8089, "the open connection stays on the backup")
        let next = send(BalancerHarness.packet(from: client, 40_002, to: harness.vip, 80, flags: [.syn], seq: 1, ack: 0))
        #expect(next.destination == 8081, "the primary is back: new connections go to it")
    }
}
