import Testing
@testable import KernelCore

/// Hostile and ordinary clients against the kernel's real telemetry server
/// over simulated TCP (`TelemetryServerWorld`).
@Suite(.serialized) struct TelemetryServerTests {
    static let a = IPv4Address(10, 0, 1, 2)
    static let b = IPv4Address(10, 0, 1, 3)
    static let c = IPv4Address(10, 0, 1, 4)

    /// Result frames' messages, in order.
    static func results(_ peer: TelemetryPeer) -> [String] {
        peer.frames.filter { $0.0 == TelemetryProtocol.MessageType.result.rawValue }.map { String(decoding: $0.1, as: UTF8.self) }
    }

    /// A subscriber that reads, from `address`.
    func subscriber(_ world: TelemetryServerWorld, _ address: IPv4Address) -> TelemetryPeer {
        let peer = TelemetryPeer(world.connect(from: world.host(address)))
        world.run(for: .milliseconds(50)) { peer.connection.state == .established }
        peer.send(TelemetryBytes.hello + TelemetryBytes.subscribe())
        return peer
    }

    @Test func adminRepliesCountTowardTheOutputBound() {
        let world = TelemetryServerWorld()
        let stream = world.telemetry.stream
        let session = stream.open(peer: Self.a, now: world.now)
        // 400 KiB of wrong-token admin frames in one go: their answers alone pass 256 KiB.
        let frames = (0..<10_000).flatMap { TelemetryBytes.admin(id: UInt64($0), token: Array("guess-\($0)".utf8)) }
        (TelemetryBytes.hello + frames).withUnsafeBytes { stream.receive($0, from: session, now: world.now) }
        #expect(session.state == .dropped)
        #expect(session.pendingCount == 0, "its output is freed")
        #expect(stream.counters[.outputOverflows] == 1)
        stream.close(session)
    }

    @Test func tricklingClientsMissTheirDeadlinesAndANewClientStillGetsIn() {
        let world = TelemetryServerWorld()
        let host = world.host(Self.a)
        var tricklers: [TelemetryPeer] = []
        for index in 0..<TelemetryServer.perSourceClients {
            let peer = TelemetryPeer(world.connect(from: host))
            world.run(for: .milliseconds(20)) { peer.connection.state == .established }
            // Half speak the stream and then trickle a subscribe frame; half trickle an HTTP request.
            peer.send(index % 2 == 0 ? TelemetryBytes.hello + [0x10] : [0x47])
            tricklers.append(peer)
        }
        world.run(for: .seconds(1))
        #expect(world.telemetry.clientCount(from: Self.a) == TelemetryServer.perSourceClients, "they hold the source's share")
        let newcomer = subscriber(world, Self.a)
        world.run(for: .seconds(1))
        #expect(newcomer.gotHello, "a new client gets in: a trickler in its handshake makes room")
        var elapsed = 0
        while elapsed < 20 {
            for peer in tricklers where !peer.connection.isFinished { peer.send([0]) }  // one byte every 5 s
            world.run(for: .seconds(5))
            elapsed += 5
        }
        for (index, peer) in tricklers.enumerated() {
            #expect(peer.connection.isFinished || peer.connection.finReceived, "trickler \(index) is closed: \(peer.connection.state.name)")
        }
        let counters = world.telemetry.counters
        #expect(counters[.deadlinesMissed] + counters[.clientsEvicted] == UInt64(tricklers.count))
        #expect(counters[.deadlinesMissed] >= 6)
        #expect(!newcomer.connection.isFinished && newcomer.frames.filter { $0.0 == TelemetryProtocol.MessageType.snapshot.rawValue }.count >= 15,
                "the subscriber that reads keeps its slot")
    }

    @Test func oneSourceGetsItsShareAndRefusedClientsAreToldInTheirProtocol() {
        let world = TelemetryServerWorld()
        let fromA = (0..<TelemetryServer.perSourceClients).map { _ in subscriber(world, Self.a) }
        world.run(for: .seconds(1))
        #expect(fromA.allSatisfy { $0.gotHello })
        let refusedStream = subscriber(world, Self.a)
        let refusedHTTP = TelemetryPeer(world.connect(from: world.host(Self.a)))
        world.run(for: .milliseconds(50)) { refusedHTTP.connection.state == .established }
        refusedHTTP.send(TelemetryBytes.metricsRequest)
        world.run(for: .seconds(1))
        #expect(refusedStream.errorCode == TelemetryProtocol.ErrorCode.busy.rawValue)
        #expect(refusedHTTP.text.hasPrefix("HTTP/1.1 503"), "\(refusedHTTP.text)")
        #expect(refusedHTTP.text.contains("all telemetry slots are taken"))
        #expect(!refusedStream.wasReset && refusedStream.connection.finReceived, "closed in order, so the answer arrives")
        // Another source still gets the rest of the table.
        let fromB = (0..<TelemetryServer.perSourceClients).map { _ in subscriber(world, Self.b) }
        world.run(for: .seconds(1))
        #expect(fromB.allSatisfy { $0.gotHello })
        #expect(world.telemetry.clientCount == TelemetryServer.maximumClients)
        let fromC = subscriber(world, Self.c)
        world.run(for: .seconds(1))
        #expect(fromC.errorCode == TelemetryProtocol.ErrorCode.busy.rawValue, "a full table of subscribers evicts none of them")
        #expect(world.telemetry.counters[.clientsRefused] == 3)
        #expect(world.telemetry.counters[.clientsEvicted] == 0)
        #expect((fromA + fromB).allSatisfy { !$0.connection.isFinished })
    }

    @Test func aFullTableEvictsTheOldestIdleClientNeverASubscriber() {
        let world = TelemetryServerWorld()
        let subscribers = (0..<TelemetryServer.perSourceClients).map { _ in subscriber(world, Self.a) }
        var idle: [TelemetryPeer] = []
        for _ in 0..<TelemetryServer.perSourceClients {
            let peer = TelemetryPeer(world.connect(from: world.host(Self.b)))
            world.run(for: .milliseconds(50)) { peer.connection.state == .established }
            peer.send(TelemetryBytes.hello)
            idle.append(peer)
        }
        world.run(for: .seconds(2))
        #expect(world.telemetry.clientCount == TelemetryServer.maximumClients)
        let newcomer = subscriber(world, Self.c)
        world.run(for: .seconds(1))
        #expect(newcomer.gotHello)
        #expect(idle[0].errorCode == TelemetryProtocol.ErrorCode.busy.rawValue, "the oldest idle client made room")
        #expect(idle.dropFirst().allSatisfy { !$0.connection.isFinished })
        #expect(subscribers.allSatisfy { !$0.connection.isFinished })
        #expect(world.telemetry.counters[.clientsEvicted] == 1)
    }

    @Test func tokenGuessesAreLimitedCountedAndReported() throws {
        let world = TelemetryServerWorld()
        let watcher = subscriber(world, Self.b)
        let guesser = TelemetryPeer(world.connect(from: world.host(Self.a)))
        world.run(for: .milliseconds(50)) { guesser.connection.state == .established }
        // Subscribed (to a slow interval), so it may stay quiet between guesses.
        guesser.send(TelemetryBytes.hello + TelemetryBytes.subscribe(milliseconds: 60_000, events: false) + (0..<10).flatMap { TelemetryBytes.admin(id: UInt64($0), token: Array("guess-\($0)".utf8)) }
                     + TelemetryBytes.admin(id: 99, token: TelemetryServerWorld.token))
        world.run(for: .milliseconds(300))
        var results = Self.results(guesser)
        #expect(results.count == 11)
        #expect(results.prefix(5).allSatisfy { $0.contains("need the appliance's admin token") }, "5 a second are told wrong")
        #expect(results[5..<10].allSatisfy { $0.contains("rate-limited") && $0.contains("try again in 1 s") }, "then rate-limited")
        #expect(results.last?.contains("counters reset") == true,
                "the right token is served during the wait (the host's own admin shares the address): \(results.last ?? "")")
        var counters = world.telemetry.counters
        #expect(counters[.adminTokenFailures] == 5 && counters[.adminRateLimited] == 5)
        #expect(world.unauthorizedReports.count == 1, "one report per source every 10 s, not one per guess")
        // The wait passes; the right token works.
        world.run(for: .seconds(1))
        guesser.send(TelemetryBytes.admin(id: 100, token: TelemetryServerWorld.token))
        world.run(for: .milliseconds(300))
        results = Self.results(guesser)
        #expect(results.last?.contains("counters reset") == true, "\(results.last ?? "")")
        // Five more wrong ones: the next wait is longer.
        guesser.send((0..<6).flatMap { TelemetryBytes.admin(id: UInt64(200 + $0), token: Array("again-\($0)".utf8)) })
        world.run(for: .milliseconds(300))
        #expect(Self.results(guesser).last?.contains("try again in 2 s") == true, "\(Self.results(guesser).last ?? "")")
        // Ten seconds after the first report, the failures held back since are reported, without waiting for another.
        world.run(for: .seconds(10))
        #expect(world.unauthorizedReports.count == 2)
        let report = try #require(world.unauthorizedReports.last)
        #expect(report.source == Self.a && report.count == 15 && report.lastMinute == 16, "\(report)")
        guesser.send(TelemetryBytes.admin(id: 300, token: Array("late".utf8)))
        world.run(for: .milliseconds(300))
        #expect(world.unauthorizedReports.count == 2, "the next one waits its turn")
        // Subscribers saw it: a limit-hit event for unauthorized-admin carrying the source.
        var unauthorized: [(count: UInt64, source: [UInt8])] = []
        for (type, payload) in watcher.frames where type == TelemetryProtocol.MessageType.event.rawValue {
            var reader = TelemetryRequest.Reader(bytes: payload, position: 0, end: payload.count)
            _ = reader.varint()  // uptime
            guard reader.varint() == UInt64(TelemetryProtocol.EventKind.limitHit.rawValue),
                reader.varint() == UInt64(TelemetryProtocol.Limit.unauthorizedAdmin.rawValue), let count = reader.varint(),
                reader.position + 4 <= payload.count
            else { continue }
            unauthorized.append((count, Array(payload[reader.position..<(reader.position + 4)])))
        }
        #expect(unauthorized.map(\.count) == [1, 15])
        #expect(unauthorized.first?.source == [10, 0, 1, 2], "the source's address follows the count")
        counters = world.telemetry.counters
        // And /metrics counts them.
        let scraper = TelemetryPeer(world.connect(from: world.host(Self.c)))
        world.run(for: .milliseconds(50)) { scraper.connection.state == .established }
        scraper.send(TelemetryBytes.metricsRequest)
        world.run(for: .seconds(1)) { scraper.connection.isFinished }
        #expect(scraper.text.contains("skerry_telemetry_events_total{event=\"admin-token-failures\"} \(counters[.adminTokenFailures])"))
        #expect(scraper.text.contains("skerry_telemetry_events_total{event=\"admin-rate-limited\"} \(counters[.adminRateLimited])"))
    }

    @Test func evictedClientsThatNeverCloseAreResetAtTheCloseLimit() {
        let world = TelemetryServerWorld()
        let host = world.host(Self.a)
        var evicted: [TelemetryPeer] = []
        for _ in 0..<5 {
            // One source's share of idle stream clients, the first never reading nor closing.
            let peers = (0..<TelemetryServer.perSourceClients).map { _ in TelemetryPeer(world.connect(from: host)) }
            peers[0].reads = false
            world.run(for: .milliseconds(100)) { peers.allSatisfy { $0.connection.state == .established } }
            for peer in peers { peer.send(TelemetryBytes.hello) }
            world.run(for: .milliseconds(1100))
            // One more from the same source closes the oldest to make room.
            let newcomer = TelemetryPeer(world.connect(from: host))
            world.run(for: .milliseconds(100)) { newcomer.connection.state == .established }
            newcomer.send(TelemetryBytes.hello)
            world.run(for: .milliseconds(200))
            #expect(newcomer.gotHello)
            for peer in peers.dropFirst() + [newcomer] { peer.connection.close() }
            world.run(for: .milliseconds(500))
            evicted.append(peers[0])
        }
        #expect(world.telemetry.counters[.clientsEvicted] == 5)
        #expect(world.telemetry.clientCount == 0)
        #expect(world.server.stack.tcp.connectionCount > 0, "the evicted clients' connections are still closing")
        world.run(for: TelemetryServer.closeLimit + .seconds(1))
        #expect(world.server.stack.tcp.connectionCount == 0, "closed to make room, then reset at the close limit")
        #expect(evicted.allSatisfy { $0.wasReset })
    }

    @Test func hostileHTTPClientsAreBounded() {
        let world = TelemetryServerWorld()
        let host = world.host(Self.a)
        func open() -> TelemetryPeer {
            let peer = TelemetryPeer(world.connect(from: host))
            world.run(for: .milliseconds(50)) { peer.connection.state == .established }
            return peer
        }
        // A request that never ends: closed at the request deadline.
        let unfinished = open()
        unfinished.send(Array("GET /metrics HTTP/1.1\r\nHost: x\r\n".utf8))
        world.run(for: .seconds(4))
        #expect(!unfinished.connection.isFinished)
        world.run(for: .seconds(2))
        #expect(unfinished.wasReset && unfinished.text.isEmpty)
        // Endless header bytes: answered 400 once past 4 KiB, the rest unread.
        let flood = open()
        flood.send([UInt8](repeating: 0x41, count: 12_000))
        world.run(for: .seconds(1))
        #expect(flood.text.hasPrefix("HTTP/1.1 400"), "\(flood.text.prefix(40))")
        // A client that reads nothing and never closes: its TCP takes the
        // response, ours closes, and the close not answered is reset.
        let deaf = open()
        deaf.reads = false
        deaf.send(TelemetryBytes.metricsRequest)
        world.run(for: .seconds(9))
        #expect(!deaf.connection.isFinished)
        world.run(for: .seconds(2))
        #expect(deaf.wasReset)
        #expect(world.telemetry.counters[.deadlinesMissed] == 1, "the unfinished request")
        #expect(world.telemetry.clientCount == 0)
    }

    @Test func aSubscriberWithALongIntervalIsNotTakenForStalled() {
        let world = TelemetryServerWorld()
        let peer = TelemetryPeer(world.connect(from: world.host(Self.a)))
        world.run(for: .milliseconds(50)) { peer.connection.state == .established }
        peer.send(TelemetryBytes.hello + TelemetryBytes.subscribe(milliseconds: 60_000, events: false))
        world.run(for: .seconds(130))
        #expect(!peer.connection.isFinished)
        #expect(peer.frames.filter { $0.0 == TelemetryProtocol.MessageType.snapshot.rawValue }.count == 3)
        #expect(world.telemetry.counters[.stalls] == 0)
    }

}

extension HeapBaseline {
/// The telemetry server's clients return their memory.
@Suite struct TelemetryServerHeapTests {
    @Test func aClientThatNeverReadsWhileSendingAdminFramesIsResetAndItsMemoryReturns() {
        let world = TelemetryServerWorld()
        let host = world.host(TelemetryServerTests.a)
        let frames = (0..<1000).flatMap { TelemetryBytes.admin(id: UInt64($0), token: Array("wrong-token-\($0 % 10)".utf8)) }
        var rounds: UInt64 = 0
        // Three at once, each trying to send 30 MB and reading nothing.
        func round() {
            rounds += 1
            let peers = (0..<3).map { _ in TelemetryPeer(world.connect(from: host)) }
            for peer in peers { peer.reads = false }
            world.run(for: .milliseconds(50)) { peers.allSatisfy { $0.connection.state == .established } }
            for peer in peers { peer.send(TelemetryBytes.hello) }
            var totals = [0, 0, 0]
            var offsets = [0, 0, 0]
            let end = world.now + .seconds(60)
            while peers.contains(where: { !$0.connection.isFinished }) && world.now < end {
                for (index, peer) in peers.enumerated() where totals[index] < 30_000_000 && !peer.connection.isFinished {
                    let written = frames[offsets[index]...].withUnsafeBytes { peer.connection.write($0) }
                    totals[index] += written
                    offsets[index] = (offsets[index] + written) % frames.count
                }
                world.run(for: .milliseconds(20))
            }
            #expect(peers.allSatisfy { $0.wasReset }, "the server resets them")
            #expect(totals.allSatisfy { $0 < 1_000_000 }, "their input stopped being read once answers backed up: \(totals)")
            #expect(world.telemetry.counters[.stalls] == 3 * rounds)
            #expect(world.telemetry.clientCount == 0)
            world.run(for: .seconds(1))
        }
        let growth = heapGrowth(allowance: 64 * 1024, round)
        #expect(growth <= 64 * 1024, "heap grew by \(growth) bytes over 3 hostile clients")
        #expect(world.telemetry.counters[.adminRateLimited] > 0, "the token limiter engaged")
    }

    @Test func theHeapReturnsAfterManyClientsOfEveryKind() {
        let world = TelemetryServerWorld()
        let host = world.host(TelemetryServerTests.a)
        func round() {
            let scrape = TelemetryPeer(world.connect(from: host))
            let watch = TelemetryPeer(world.connect(from: host))
            let admin = TelemetryPeer(world.connect(from: host))
            world.run(for: .milliseconds(100)) { [scrape, watch, admin].allSatisfy { $0.connection.state == .established } }
            scrape.send(TelemetryBytes.metricsRequest)
            watch.send(TelemetryBytes.hello + TelemetryBytes.subscribe(milliseconds: 100))
            admin.send(TelemetryBytes.hello + TelemetryBytes.admin(id: 1, token: TelemetryServerWorld.token))
            world.run(for: .milliseconds(500)) {
                scrape.connection.atEndOfStream && watch.frames.count >= 3 && TelemetryServerTests.results(admin).count == 1
            }
            watch.connection.close()
            admin.connection.close()
            scrape.connection.close()
            world.run(for: .seconds(1)) { [scrape, watch, admin].allSatisfy { $0.connection.isFinished } }
        }
        func rounds() {
            for _ in 0..<50 { round() }
            world.run(for: .seconds(40))  // TIME-WAIT ends
        }
        let growth = heapGrowth(allowance: 64 * 1024, rounds)
        #expect(growth <= 64 * 1024, "heap grew by \(growth) bytes over 150 clients")
        #expect(world.telemetry.clientCount == 0)
        #expect(world.telemetry.counters[.clientsAccepted] % 150 == 0 && world.telemetry.counters[.clientsRefused] == 0)
        #expect(world.server.stack.tcp.connectionCount == 0 && world.server.stack.tcp.timeWaitCount == 0)
    }
}
}

@Suite struct TokenFailureLimiterTests {
    @Test func waitsGrowAndTheTableStaysFixed() {
        var limiter = TokenFailureLimiter()
        let source = IPv4Address(10, 0, 1, 2)
        var now = Instant(nanoseconds: 1_000_000_000)
        var waits: [UInt64] = []
        for _ in 0..<8 {
            while limiter.wait(for: source, now: now) == nil { _ = limiter.fail(source, .checked, now: now) }
            waits.append(limiter.wait(for: source, now: now)!.milliseconds)
            now = now + limiter.wait(for: source, now: now)!
        }
        #expect(waits == [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000])
        now = now + .seconds(61)
        for _ in 0..<5 { _ = limiter.fail(source, .checked, now: now) }
        #expect(limiter.wait(for: source, now: now)?.milliseconds == 1000, "a quiet minute starts over")
        for index in 0..<100 { _ = limiter.fail(IPv4Address(192, 168, 0, UInt8(index)), .checked, now: now) }
        #expect(limiter.entries.count == TokenFailureLimiter.sources)
        #expect(limiter.wait(for: IPv4Address(192, 168, 0, 99), now: now) == nil, "4 failures: no wait yet")
    }

    @Test func aWaitingSourceKeepsItsPenaltyWhenOthersRotateAndLosesItAfterAQuietMinute() {
        var limiter = TokenFailureLimiter()
        let source = IPv4Address(10, 0, 1, 2)
        var now = Instant(nanoseconds: 1_000_000_000)
        for _ in 0..<6 {  // waits of 1, 2, ... 32 s; the next is 60 s
            while limiter.wait(for: source, now: now) == nil { _ = limiter.fail(source, .checked, now: now) }
            now = now + limiter.wait(for: source, now: now)!
        }
        for _ in 0..<5 { _ = limiter.fail(source, .checked, now: now) }
        #expect(limiter.wait(for: source, now: now)?.milliseconds == 60_000)
        // 40 other sources, one failure each, a second apart: the waiting source is not the one replaced.
        for index in 0..<40 {
            now = now + .seconds(1)
            _ = limiter.fail(IPv4Address(192, 168, 1, UInt8(index)), .checked, now: now)
        }
        #expect(limiter.wait(for: source, now: now)?.milliseconds == 20_000)
        // Refused requests during the wait do not keep the penalty alive.
        for _ in 0..<19 {
            now = now + .seconds(1)
            _ = limiter.fail(source, .checkedWhileWaiting, now: now)
        }
        now = now + .seconds(1) + TokenFailureLimiter.forgetAfter
        #expect(limiter.wait(for: source, now: now) == nil)
        for _ in 0..<5 { _ = limiter.fail(source, .checked, now: now) }
        #expect(limiter.wait(for: source, now: now)?.milliseconds == 1000, "a quiet minute after the wait starts over")
    }
}

@Suite struct AdminTokenFailureTests {
    static let token = Array("a-long-enough-admin-token".utf8)

    @Test func theRightTokenIsServedWhileItsSourceWaitsAndAWrongOneLooksUnchecked() {
        let actions = AdminActions(token: Self.token, balancer: nil)
        let source = IPv4Address(10, 0, 1, 2)
        let now = Instant(nanoseconds: 1_000_000_000)
        for index in 0..<TokenFailureLimiter.perSecond {
            _ = actions.check(Array("guess-\(index)".utf8), from: source, now: now)
        }
        let wrong = actions.check(Array("guess-x".utf8), from: source, now: now)
        let missing = actions.check(nil, from: source, now: now)
        #expect(wrong == missing, "a wrong token while waiting is answered as no token is")
        #expect(wrong == .rateLimited(wait: .seconds(1), report: nil))
        #expect(actions.check(Self.token, from: source, now: now) == .allowed)
    }

    @Test func rotatingSourcesGetAtMostTheGlobalBudgetOfChecksASecond() {
        let actions = AdminActions(token: Self.token, balancer: nil)
        var now = Instant(nanoseconds: 1_000_000_000)
        var checkedPerSecond = [Int](repeating: 0, count: 3)
        var rightTokenRefused = 0
        for step in 0..<300 {  // 10 ms apart, 3 s; each request from the next of 40 addresses
            let source = IPv4Address(10, 9, 0, UInt8(step % 40))
            if case .unauthorized = actions.check(Array("guess-\(step)".utf8), from: source, now: now) {
                checkedPerSecond[step / 100] += 1
            }
            if step % 100 == 99, actions.check(Self.token, from: IPv4Address(10, 9, 1, 1), now: now) != .allowed {
                rightTokenRefused += 1
            }
            now = now + .milliseconds(10)
        }
        #expect(checkedPerSecond.allSatisfy { $0 > 0 && $0 <= TokenFailureLimiter.globalPerSecond }, "\(checkedPerSecond)")
        #expect(rightTokenRefused == 3, "past the budget no token is looked at, so guessing on learns nothing")
        now = now + .seconds(1)
        #expect(actions.check(Self.token, from: IPv4Address(10, 9, 0, 0), now: now) == .allowed, "the budget renews each second")
    }
}
