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
        let admitted = (0..<6).compactMap { port -> Int? in
            guard let index = insert(tracker, client: UInt16(1000 + port)) else { return nil }
            establish(tracker, index)
            return index
        }
        #expect(admitted.count == 4)
        #expect(tracker.counters[.tableFull] == 2)
        #expect(tracker.lookupClient(IPv4Address(192, 0, 2, 1), 1000, vip, 80, protocolNumber: 6) != nil)
    }

    @Test func snatPortExhaustionIsCounted() {
        let tracker = ConnectionTracker(capacity: 16, snatPorts: 5000...5002)
        let admitted = (0..<5).compactMap { port -> Int? in
            guard let index = insert(tracker, client: UInt16(1000 + port)) else { return nil }
            establish(tracker, index)
            return index
        }
        #expect(admitted.count == 3)
        #expect(tracker.counters[.snatPortsExhausted] == 2)
        tracker.remove(admitted[0])
        #expect(insert(tracker, client: 2000) != nil, "a freed port is reused")
    }

    /// The client's SYN (seq 100) and the backend's SYN-ACK (seq 5000) for `index`.
    func halfOpen(_ tracker: ConnectionTracker, _ index: Int) {
        tracker.observe(index, TrackedSegment(flags: [.syn], sequenceNumber: 100, window: 1000), fromClient: true, now: now)
        tracker.observe(index, TrackedSegment(flags: [.syn, .ack], sequenceNumber: 5000, acknowledgmentNumber: 101, window: 1000),
                        fromClient: false, now: now)
    }

    /// SYN, SYN-ACK and the client's ACK.
    func establish(_ tracker: ConnectionTracker, _ index: Int) {
        halfOpen(tracker, index)
        tracker.observe(index, TrackedSegment(flags: [.ack], sequenceNumber: 101, acknowledgmentNumber: 5001, window: 1000),
                        fromClient: true, now: now)
    }

    @Test func tcpStatesFollowTheHandshakeAndFinsAndSetTimeouts() throws {
        let tracker = ConnectionTracker(capacity: 8)
        let index = try #require(insert(tracker, client: 1))
        #expect(tracker.entries[index].state == .synSent)
        halfOpen(tracker, index)
        #expect(tracker.entries[index].state == .synReceived)
        #expect(tracker.entries[index].expires == now + tracker.timeouts.syn)
        tracker.observe(index, TrackedSegment(flags: [.ack], sequenceNumber: 101, acknowledgmentNumber: 5001, window: 1000),
                        fromClient: true, now: now)
        #expect(tracker.entries[index].state == .established)
        #expect(tracker.entries[index].expires == now + tracker.timeouts.established)
        tracker.observe(index, TrackedSegment(flags: [.fin, .ack], sequenceNumber: 101, acknowledgmentNumber: 5001, window: 1000),
                        fromClient: true, now: now)
        #expect(tracker.entries[index].state == .finWait)
        tracker.observe(index, TrackedSegment(flags: [.fin, .ack], sequenceNumber: 5001, acknowledgmentNumber: 102, window: 1000),
                        fromClient: false, now: now)
        #expect(tracker.entries[index].state == .closing)
        tracker.observe(index, TrackedSegment(flags: [.ack], sequenceNumber: 102, acknowledgmentNumber: 5002, window: 1000),
                        fromClient: true, now: now)
        #expect(tracker.entries[index].state == .closed)
        let reset = try #require(insert(tracker, client: 2))
        establish(tracker, reset)
        #expect(tracker.observe(reset, TrackedSegment(flags: [.rst], sequenceNumber: 99_999), fromClient: false, now: now) == false)
        #expect(tracker.entries[reset].state == .established && tracker.counters[.outOfWindow] == 1)
        #expect(tracker.observe(reset, TrackedSegment(flags: [.rst], sequenceNumber: 5001), fromClient: false, now: now))
        #expect(tracker.entries[reset].state == .closed)
        #expect(tracker.halfOpenCount == 0)
    }

    @Test func sweepingExpiresByStateWithBoundedWork() throws {
        let tracker = ConnectionTracker(capacity: 64)
        let half = try #require(insert(tracker, client: 1))
        let open = try #require(insert(tracker, client: 2))
        halfOpen(tracker, half)
        establish(tracker, open)
        var expired: [UInt16] = []
        tracker.sweep(now: now + .seconds(11), budget: 64) { expired.append($0.clientPort) }
        #expect(expired == [1], "a half-open flow lasts 10 s; an established one much longer")
        #expect(tracker.entries[half].inUse == false && tracker.entries[open].inUse)
        #expect(tracker.halfOpenCount == 0)
        tracker.sweep(now: now + .seconds(400), budget: 8) { expired.append($0.clientPort) }
        #expect(tracker.count == 1 || expired.contains(2), "a budget of 8 may not reach every slot")
        tracker.sweep(now: now + .seconds(400), budget: 64) { expired.append($0.clientPort) }
        #expect(tracker.count == 0 && tracker.counters[.expired] == 2)
    }

    @Test func countersAreNamedOnceAndIterated() {
        var names: [String] = []
        ConnectionTracker.Counters().forEach { name, value in
            names.append(name.name.description)
            #expect(value == 0)
        }
        #expect(names.count == ConnectionTracker.Counters.count && Set(names).count == names.count && !names.contains("unknown"))
        var balancerNames: [String] = []
        LoadBalancer.Counters().forEach { name, _ in balancerNames.append(name.name.description) }
        #expect(balancerNames.count == LoadBalancer.Counters.count && Set(balancerNames).count == balancerNames.count)
        #expect(!balancerNames.contains("unknown"))
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
                // Established, so a full table refuses rather than evicting.
                establish(tracker, index)
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

@Suite struct NATRewriteTests {
    /// A TCP or UDP packet with correct checksums.
    func packet(protocolNumber: UInt8, payload: [UInt8], source: IPv4Address, sourcePort: UInt16,
                destination: IPv4Address, destinationPort: UInt16, ttl: UInt8 = 64) -> [UInt8] {
        let transportHeader = protocolNumber == 6 ? 20 : 8
        var bytes = [UInt8](repeating: 0, count: 20 + transportHeader + payload.count)
        bytes.withUnsafeMutableBytes { raw in
            raw.slice(20 + transportHeader, raw.count).copyMemory(from: UnsafeRawBufferPointer(start: payload, count: payload.count))
            let transport = raw.slice(20, raw.count)
            if protocolNumber == 6 {
                TCPSegment.emit(into: transport, sourcePort: sourcePort, destinationPort: destinationPort, sequenceNumber: 1,
                                acknowledgmentNumber: 2, flags: [.ack, .psh], window: 1000, payloadLength: payload.count,
                                source: source, destination: destination)
            } else {
                UDPDatagram.emit(into: transport, sourcePort: sourcePort, destinationPort: destinationPort,
                                 payloadLength: payload.count, source: source, destination: destination)
            }
            IPv4Packet.emit(into: raw, source: source, destination: destination, protocolNumber: protocolNumber,
                            payloadLength: transportHeader + payload.count, timeToLive: ttl)
        }
        return bytes
    }

    @Test(arguments: [6, 17] as [UInt8])
    func rewritesAddressesPortsAndChecksumsLikeAFullRecomputation(protocolNumber: UInt8) throws {
        var random = SplitMix(state: UInt64(protocolNumber))
        for _ in 0..<300 {
            let payload = (0..<Int(random.next() % 1400)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            var bytes = packet(protocolNumber: protocolNumber, payload: payload, source: IPv4Address(value: UInt32(truncatingIfNeeded: random.next())),
                               sourcePort: UInt16(truncatingIfNeeded: random.next()), destination: IPv4Address(10, 0, 2, 15), destinationPort: 80)
            let newSource = IPv4Address(10, 0, 3, 15)
            let newDestination = IPv4Address(value: UInt32(truncatingIfNeeded: random.next()))
            let newSourcePort = UInt16(truncatingIfNeeded: random.next())
            let newDestinationPort = UInt16(truncatingIfNeeded: random.next())
            try bytes.withUnsafeMutableBytes { raw in
                try NATRewrite.rewrite(raw, source: newSource, sourcePort: newSourcePort, destination: newDestination,
                                       destinationPort: newDestinationPort)
                let ip = try IPv4Packet(parsing: raw)
                #expect(ip.checksumValid)
                #expect(ip.source == newSource && ip.destination == newDestination && ip.timeToLive == 63)
                if protocolNumber == 6 {
                    let segment = try TCPSegment(parsing: ip.payload)
                    #expect(segment.sourcePort == newSourcePort && segment.destinationPort == newDestinationPort)
                    #expect(segment.checksumValid(source: newSource, destination: newDestination))
                } else {
                    let datagram = try UDPDatagram(parsing: ip.payload)
                    #expect(datagram.sourcePort == newSourcePort && datagram.destinationPort == newDestinationPort)
                    #expect(datagram.checksum != 0 && datagram.checksumValid(source: newSource, destination: newDestination))
                }
            }
        }
    }

    @Test func refusesWhatItCannotRewrite() {
        var dying = packet(protocolNumber: 6, payload: [], source: IPv4Address(1, 2, 3, 4), sourcePort: 1,
                           destination: IPv4Address(5, 6, 7, 8), destinationPort: 2, ttl: 1)
        #expect(throws: NATRewrite.Failure.ttlExpired) {
            try dying.withUnsafeMutableBytes { try NATRewrite.rewrite($0, source: .any, sourcePort: 0, destination: .any, destinationPort: 0) }
        }
        var icmp = dying
        icmp[9] = 1
        #expect(throws: NATRewrite.Failure.notTCPOrUDP) {
            try icmp.withUnsafeMutableBytes { try NATRewrite.rewrite($0, source: .any, sourcePort: 0, destination: .any, destinationPort: 0) }
        }
        var short = Array(dying.prefix(30))
        #expect(throws: NATRewrite.Failure.truncated) {
            try short.withUnsafeMutableBytes { try NATRewrite.rewrite($0, source: .any, sourcePort: 0, destination: .any, destinationPort: 0) }
        }
    }
}

@Suite struct ClosedFlowTests {
    @Test func aClosedFlowStaysClosedWhateverArrivesLate() throws {
        let tracker = ConnectionTracker(capacity: 8)
        let index = try #require(tracker.insert(
            client: IPv4Address(1, 2, 3, 4), clientPort: 1, service: IPv4Address(10, 0, 2, 15), servicePort: 80, protocolNumber: 6,
            backend: IPv4Address(10, 0, 3, 2), backendPort: 8081, backendIndex: 0, serviceIndex: 0, now: .zero))
        tracker.observe(index, TrackedSegment(flags: [.syn], sequenceNumber: 1, window: 100), fromClient: true, now: .zero)
        tracker.observe(index, TrackedSegment(flags: [.rst, .ack], acknowledgmentNumber: 2), fromClient: false, now: .zero)
        #expect(tracker.entries[index].state == .closed)
        tracker.observe(index, TrackedSegment(flags: [.fin, .ack], sequenceNumber: 2), fromClient: true, now: .zero)
        tracker.observe(index, TrackedSegment(flags: [.ack], sequenceNumber: 3), fromClient: true, now: .zero)
        #expect(tracker.entries[index].state == .closed)
    }
}

@Suite struct ServiceTimeoutTests {
    @Test func eachServiceKeepsItsFlowsAsLongAsItSays() throws {
        let tracker = ConnectionTracker(capacity: 8)
        var short = ConnectionTracker.Timeouts()
        short.syn = .seconds(2)
        tracker.serviceTimeouts = [ConnectionTracker.Timeouts(), short]
        func insert(service: Int, port: UInt16) -> Int? {
            tracker.insert(client: IPv4Address(1, 2, 3, 4), clientPort: port, service: IPv4Address(10, 0, 2, 15), servicePort: 80 + UInt16(service),
                           protocolNumber: 6, backend: IPv4Address(10, 0, 3, 2), backendPort: 8081, backendIndex: 0, serviceIndex: service, now: .zero)
        }
        let standard = try #require(insert(service: 0, port: 1))
        let quick = try #require(insert(service: 1, port: 2))
        #expect(tracker.entries[standard].expires == Instant.zero + .seconds(10))
        #expect(tracker.entries[quick].expires == Instant.zero + .seconds(2))
    }
}

@Suite struct ConnectionTrackerLayoutTests {
    /// 65,536 entries are resident for the appliance's life: keep each small.
    @Test func anEntryStaysCompact() {
        #expect(MemoryLayout<ConnectionTracker.Entry>.stride <= 80)
    }
}
