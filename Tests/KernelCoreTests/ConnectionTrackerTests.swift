import Testing
@testable import KernelCore

@Suite struct ConnectionTrackerTests {
    let vip = IPv4Address(10, 0, 2, 15)
    let backend = IPv4Address(10, 0, 3, 2)
    let now = Instant(nanoseconds: 1_000_000_000)

    func insert(_ tracker: ConnectionTracker, client port: UInt16, at time: Instant? = nil) -> Int? {
        tracker.insert(client: IPv4Address(192, 0, 2, 1), clientPort: port, service: vip, servicePort: 80, protocolNumber: 6,
                       backend: backend, backendPort: 8081, backendIndex: 0, serviceIndex: 0, now: time ?? now)
    }

    @Test func findsFlowsFromBothSides() throws {
        let tracker = ConnectionTracker(capacity: 16)
        let index = try #require(insert(tracker, client: 40000))
        let entry = tracker.entries[index]
        #expect(tracker.lookupClient(IPv4Address(192, 0, 2, 1), 40000, vip, 80, protocolNumber: 6) == index)
        #expect(tracker.lookupBackend(backend, 8081, snatPort: entry.snatPort, protocolNumber: 6) == index)
        #expect(tracker.lookupClient(IPv4Address(192, 0, 2, 1), 40001, vip, 80, protocolNumber: 6) == nil)
        #expect(tracker.lookupClient(IPv4Address(192, 0, 2, 1), 40000, vip, 80, protocolNumber: 17) == nil)
        tracker.remove(index)
        #expect(tracker.lookupClient(IPv4Address(192, 0, 2, 1), 40000, vip, 80, protocolNumber: 6) == nil)
        #expect(tracker.count == 0)
    }

    @Test func aFullTableRefusesNewFlowsAndKeepsOldOnes() {
        let tracker = ConnectionTracker(capacity: 4)
        let admitted = (0..<6).compactMap { insert(tracker, client: UInt16(1000 + $0)) }
        #expect(admitted.count == 4)
        #expect(tracker.counters.tableFull == 2)
        #expect(tracker.lookupClient(IPv4Address(192, 0, 2, 1), 1000, vip, 80, protocolNumber: 6) != nil)
    }

    @Test func snatPortExhaustionIsCounted() {
        let tracker = ConnectionTracker(capacity: 16, snatPorts: 5000...5002)
        let admitted = (0..<5).compactMap { insert(tracker, client: UInt16(1000 + $0)) }
        #expect(admitted.count == 3)
        #expect(tracker.counters.snatPortsExhausted == 2)
        tracker.remove(admitted[0])
        #expect(insert(tracker, client: 2000) != nil, "a freed port is reused")
    }

    @Test func tcpStatesFollowTheFlagsAndSetTimeouts() throws {
        let tracker = ConnectionTracker(capacity: 8)
        let index = try #require(insert(tracker, client: 1))
        #expect(tracker.entries[index].state == .synSent)
        tracker.observe(index, flags: [.syn, .ack], fromClient: false, now: now)
        #expect(tracker.entries[index].state == .established)
        #expect(tracker.entries[index].expires == now + tracker.timeouts.established)
        tracker.observe(index, flags: [.fin, .ack], fromClient: true, now: now)
        #expect(tracker.entries[index].state == .finWait)
        tracker.observe(index, flags: [.fin, .ack], fromClient: false, now: now)
        #expect(tracker.entries[index].state == .closing)
        tracker.observe(index, flags: [.ack], fromClient: true, now: now)
        #expect(tracker.entries[index].state == .closed)
        let reset = try #require(insert(tracker, client: 2))
        tracker.observe(reset, flags: [.rst], fromClient: false, now: now)
        #expect(tracker.entries[reset].state == .closed)
    }

    @Test func sweepingExpiresByStateWithBoundedWork() throws {
        let tracker = ConnectionTracker(capacity: 64)
        let half = try #require(insert(tracker, client: 1))
        let open = try #require(insert(tracker, client: 2))
        tracker.observe(open, flags: [.syn, .ack], fromClient: false, now: now)
        var expired: [UInt16] = []
        tracker.sweep(now: now + .seconds(11), budget: 64) { expired.append($0.clientPort) }
        #expect(expired == [1], "a half-open flow lasts 10 s; an established one much longer")
        #expect(tracker.entries[half].inUse == false && tracker.entries[open].inUse)
        tracker.sweep(now: now + .seconds(400), budget: 8) { expired.append($0.clientPort) }
        #expect(tracker.count == 1 || expired.contains(2), "a budget of 8 may not reach every slot")
        tracker.sweep(now: now + .seconds(400), budget: 64) { expired.append($0.clientPort) }
        #expect(tracker.count == 0 && tracker.counters.expired == 2)
    }

    /// Random inserts and removals against a dictionary model: the
    /// backward-shift deletion must never lose or misplace a flow.
    @Test(arguments: [41, 42, 43])
    func matchesAModelUnderChurn(seed: UInt64) {
        var random = SplitMix(state: seed)
        let tracker = ConnectionTracker(capacity: 256)
        var model: [UInt16: Int] = [:]
        for _ in 0..<20_000 {
            let port = UInt16(truncatingIfNeeded: random.next() % 400)
            if let index = model[port] {
                if random.next() % 2 == 0 {
                    tracker.remove(index)
                    model[port] = nil
                }
            } else if let index = insert(tracker, client: port) {
                model[port] = index
            }
        }
        #expect(tracker.count == model.count)
        for port in 0..<UInt16(400) {
            let found = tracker.lookupClient(IPv4Address(192, 0, 2, 1), port, vip, 80, protocolNumber: 6)
            #expect(found == model[port])
            if let index = found {
                let snat = tracker.entries[index].snatPort
                #expect(tracker.lookupBackend(backend, 8081, snatPort: snat, protocolNumber: 6) == index)
            }
        }
    }
}
