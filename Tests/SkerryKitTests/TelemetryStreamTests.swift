import Foundation
import KernelCore
import SkerryKit
import Testing

/// The kernel's stream encoder (`TelemetryStream`) against the host's
/// decoder and model, on synthetic appliances with real counters.
@Suite struct TelemetryStreamTests {
    static let token = Array("a-long-enough-admin-token".utf8)

    /// A client of `stream`: what it sends goes in, what the stream answers comes out decoded.
    final class Client {
        let stream: TelemetryStream
        let session: TelemetrySession
        let appliance: SyntheticAppliance
        var decoder = TelemetryDecoder()
        var model = TelemetryModel()

        init(_ stream: TelemetryStream, _ appliance: SyntheticAppliance) {
            self.stream = stream
            self.appliance = appliance
            session = stream.open(peer: IPv4Address(10, 0, 1, 2), now: appliance.now)
        }

        func send(_ bytes: [UInt8]) {
            bytes.withUnsafeBytes { stream.receive($0, from: session, now: appliance.now) }
        }

        /// Everything the stream has for the client, decoded.
        func read() throws -> [Telemetry.Message] {
            var bytes: [UInt8] = []
            session.send({ bytes.append(contentsOf: $0); return $0.count }, now: appliance.now)
            decoder.append(bytes)
            var messages: [Telemetry.Message] = []
            while let message = try decoder.next() {
                model.apply(message)
                messages.append(message)
            }
            return messages
        }
    }

    func makeStream(_ appliance: SyntheticAppliance, token: [UInt8] = token) -> TelemetryStream {
        let actions = AdminActions(token: token, balancer: appliance.balancer) { appliance.firewall?.resetCounters() }
        let stream = TelemetryStream(applianceName: "synthetic", actions: actions) { appliance.source() }
        // As the kernel does: the balancer's events go to subscribers.
        let balancer = appliance.balancer
        balancer.onEvent = { [unowned stream] event in stream.publish(TelemetryEvent(event, in: balancer), uptime: appliance.now.since(.zero)) }
        return stream
    }

    /// The decoded model agrees with the kernel's own objects, value for value.
    func expectModelMatches(_ model: TelemetryModel, _ appliance: SyntheticAppliance) throws {
        let snapshot = try #require(model.snapshot)
        let schema = try #require(model.schema)
        let balancer = appliance.balancer
        #expect(schema.services.map(\.name) == balancer.services.map { "\($0.configuration.name)" })
        let backends = balancer.services.flatMap(\.backends)
        #expect(snapshot.backends.count == backends.count)
        for (decoded, backend) in zip(snapshot.backends, backends) {
            #expect(decoded.up == (backend.health.status == .up))
            #expect(decoded.weight == UInt64(backend.weight))
            #expect(decoded.administrative == backend.administrative)
            for key in TrafficStatistic.allCases {
                #expect(decoded.traffic[key] == backend.statistics[key], "\(key.name)")
            }
            #expect(decoded.checkFailures == backend.health.checkFailures)
            #expect(decoded.checkLatencyMicroseconds == backend.health.lastLatency.map { $0.nanoseconds / 1000 })
        }
        for (decoded, service) in zip(snapshot.services, balancer.services) {
            #expect(decoded[.totalConnections] == service.statistics[.totalConnections])
            #expect(decoded[.packetsToBackend] == service.statistics[.packetsToBackend])
        }
        #expect(snapshot.connectionTable?.entries == UInt64(balancer.tracker.count))
        #expect(snapshot.stackCounters == appliance.stack.counters)
        #expect(schema.stackCounters.names.first == "frames-received" && schema.tcpCounters.names.count == TCPCounters.count)
        if let firewall = appliance.firewall {
            let rules = try #require(snapshot.firewall?.rules)
            #expect(rules.count == firewall.rules.count)
            for index in firewall.rules.indices {
                #expect(rules[index]?.packets == firewall.ruleCounters[index].packets, "rule \(index)")
                #expect(rules[index]?.bytes == firewall.ruleCounters[index].bytes, "rule \(index)")
                #expect(rules[index]?.rateLimited == firewall.ruleCounters[index].rateLimited, "rule \(index)")
                #expect((rules[index]?.lastHitAgeMilliseconds == nil) == (firewall.ruleCounters[index].lastHit == nil), "rule \(index)")
            }
            #expect(schema.rules.map(\.name) == firewall.rules.indices.map { "rule-\($0)" })
            #expect(snapshot.firewall?.policies[1].packets == firewall.policyCounters[1].packets)
        } else {
            #expect(snapshot.firewall == nil && !schema.hasFirewall)
        }
    }

    @Test(arguments: 1...12)
    func randomAppliancesRoundTrip(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        let appliance = SyntheticAppliance(services: Int(1 + random.next() % 8), backends: Int(1 + random.next() % 64),
                                           rules: seed % 4 == 0 ? 0 : Int(random.next() % 400), seed: seed)
        appliance.exercise(connections: Int(random.next() % 300), packets: Int(random.next() % 3000))
        appliance.administer()
        let stream = makeStream(appliance)
        let client = Client(stream, appliance)
        client.send(TelemetryDecoder.clientHello)
        let hello = try client.read()
        #expect(hello == [.hello(Telemetry.Hello(version: 3, appliance: "synthetic", uptimeMilliseconds: appliance.now.nanoseconds / 1_000_000, adminEnabled: true))])
        client.send(TelemetryDecoder.subscribeRequest(intervalMilliseconds: 1000, events: true))
        var messages = try client.read()
        #expect(messages.count == 2)
        guard case .snapshot(let first) = messages.last else { Issue.record("no snapshot: \(messages)"); return }
        #expect(first.allRules && first.sequence == 1)
        try expectModelMatches(client.model, appliance)
        // Later snapshots carry only the rules hit since; merged, the model still matches.
        for round in 0..<3 {
            let previous = appliance.now
            appliance.exercise(connections: Int(random.next() % 100), packets: Int(random.next() % 500))
            if round == 1 { appliance.administer() }
            stream.tick(now: appliance.now)
            messages = try client.read().filter { if case .snapshot = $0 { return true } else { return false } }
            #expect(messages.count == 1)
            if case .snapshot(let later) = messages.first, let firewall = appliance.firewall {
                #expect(!later.allRules && later.sequence == UInt64(round + 2))
                // Hits at the previous snapshot's instant are sent again: a hit in the same tick is never missed.
                let hit = firewall.ruleCounters.filter { ($0.lastHit ?? .zero) >= previous }.count
                #expect(later.firewall?.rules.count == hit, "only the rules hit since the last snapshot")
            }
            try expectModelMatches(client.model, appliance)
        }
        #expect(client.model.rates != nil)
    }

    @Test func ratesAreWorkedOutOnTheClient() throws {
        let appliance = SyntheticAppliance(services: 1, backends: 3, rules: 10, seed: 7)
        let stream = makeStream(appliance)
        let client = Client(stream, appliance)
        client.send(TelemetryDecoder.clientHello + TelemetryDecoder.subscribeRequest(intervalMilliseconds: 500, events: false))
        _ = try client.read()
        let before = appliance.balancer.services[0].statistics[.totalConnections]
        let packetsBefore = appliance.firewall!.ruleCounters[3].packets
        appliance.exercise(milliseconds: 2000, connections: 50, packets: 400)
        stream.tick(now: appliance.now)
        _ = try client.read()
        let rates = try #require(client.model.rates)
        let opened = appliance.balancer.services[0].statistics[.totalConnections] - before
        #expect(opened > 0)
        #expect(abs(rates.serviceConnections[0] - Double(opened) / 2) < 0.001)
        #expect(abs(rates.rulePackets[3] - Double(appliance.firewall!.ruleCounters[3].packets - packetsBefore) / 2) < 0.001)
        #expect(rates.loopLoad > 0 && rates.loopLoad < 1)
    }

    @Test func adminActionsNeedTheTokenAndArePushedAsEvents() throws {
        let appliance = SyntheticAppliance(services: 1, backends: 3, rules: 0, seed: 3)
        let stream = makeStream(appliance)
        var logged: [String] = []
        stream.actions.onAction = { action, peer, channel in
            if case .state(let state, _, let backend) = action { logged.append("\(backend.configuration.name) \(state.name) \(channel)") }
        }
        let watcher = Client(stream, appliance)
        watcher.send(TelemetryDecoder.clientHello + TelemetryDecoder.subscribeRequest(intervalMilliseconds: 60_000, events: true))
        _ = try watcher.read()
        let admin = Client(stream, appliance)
        admin.send(TelemetryDecoder.clientHello)
        _ = try admin.read()
        func ask(_ token: String, _ action: Telemetry.AdminAction, _ backend: String = "b01", weight: UInt64 = 0) throws -> Telemetry.AdminResult? {
            admin.send(TelemetryDecoder.adminRequest(id: 9, token: token, action: action, service: "s0", backend: backend, weight: weight))
            guard case .result(let result) = try admin.read().last else { return nil }
            return result
        }
        #expect(try ask("wrong-token-wrong-token", .drain)?.code == .unauthorized)
        #expect(try ask("", .drain)?.code == .unauthorized)
        let backend = appliance.balancer.services[0].backends[1]
        #expect(backend.administrative == .enabled, "nothing changed without the token")
        let drained = try ask("a-long-enough-admin-token", .drain)
        #expect(drained == Telemetry.AdminResult(request: 9, code: .ok, message: "s0/b01 is draining"))
        #expect(backend.administrative == .draining)
        #expect(logged == ["b01 DRAIN stream"])
        #expect(try ask("a-long-enough-admin-token", .weight, weight: 1001)?.code == .badRequest)
        #expect(try ask("a-long-enough-admin-token", .weight, weight: 7)?.message == "s0/b01 weight 7")
        #expect(backend.weight == 7)
        #expect(try ask("a-long-enough-admin-token", .disable, "nobody")?.code == .notFound)
        // The watcher saw the drain and the weight change as they happened.
        let events = try watcher.read().compactMap { if case .event(let event) = $0 { return event.kind } else { return nil } }
        #expect(events.contains(.administrative(service: 0, backend: 1, state: .draining)))
        #expect(events.contains(.weight(service: 0, backend: 1, weight: 7)))

        let closed = makeStream(appliance, token: [])
        let refused = Client(closed, appliance)
        refused.send(TelemetryDecoder.clientHello + TelemetryDecoder.adminRequest(id: 1, token: "x", action: .enable, service: "s0", backend: "b01"))
        let answers = try refused.read()
        #expect(answers.first == .hello(Telemetry.Hello(version: 3, appliance: "synthetic", uptimeMilliseconds: 1000, adminEnabled: false)))
        guard case .result(let result) = answers.last else { Issue.record("no result"); return }
        #expect(result.code == .actionsOff && result.message.contains("no admin token"))
        #expect(backend.administrative == .draining)
    }

    @Test func failedTokensAreLimitedAndReportedToSubscribersWithTheirSource() throws {
        let appliance = SyntheticAppliance(services: 1, backends: 2, rules: 3, seed: 8)
        let stream = makeStream(appliance)
        let watcher = Client(stream, appliance)
        watcher.send(TelemetryDecoder.clientHello + TelemetryDecoder.subscribeRequest(intervalMilliseconds: 1000, events: true))
        _ = try watcher.read()
        let guesser = Client(stream, appliance)
        guesser.send(TelemetryDecoder.clientHello + (1...7).flatMap {
            TelemetryDecoder.adminRequest(id: UInt64($0), token: "guess-\($0)", action: .drain, service: "s0", backend: "b00")
        })
        let results = try guesser.read().compactMap { message -> Telemetry.AdminResult? in
            if case .result(let result) = message { return result } else { return nil }
        }
        #expect(results.count == 7 && results.allSatisfy { $0.code == .unauthorized })
        #expect(results.suffix(2).allSatisfy { $0.message.hasPrefix("rate-limited: too many wrong admin tokens from 10.0.1.2") })
        #expect(stream.counters[.adminTokenFailures] == 5 && stream.counters[.adminRateLimited] == 2)
        let events = try watcher.read().compactMap { message -> Telemetry.Event? in
            if case .event(let event) = message { return event } else { return nil }
        }
        #expect(events.map(\.kind) == [.limitHit(limit: "unauthorized-admin", count: 1, source: "10.0.1.2", lastMinute: 1)],
                "one report, not one per guess")
        let line = try #require(events.first.map { watcher.model.describe($0) })
        #expect(line.hasSuffix("unauthorized admin action from 10.0.1.2 (1 in the last minute)"), "\(line)")
    }

    @Test func wrongVersionsAndGarbageEndTheStreamWithAnError() throws {
        let appliance = SyntheticAppliance(services: 1, backends: 1, rules: 0, seed: 1)
        let stream = makeStream(appliance)
        let cases: [([UInt8], Int)] = [
            ([0x53, 0x4B, 0x54, 0x50, 4, 5], 1),  // versions 4-5 only
            ([0x53, 0x4B, 0x54, 0x50, 1, 1], 1),  // version 1 only
            (Array("GET / HTTP/1.1\r\n".utf8), 2),  // not a hello
            (TelemetryDecoder.clientHello + [0x10, 0, 0, 0x10, 0], 3),  // a 4 KiB request frame
            (TelemetryDecoder.clientHello + [0x03, 0, 0, 0, 0], 4),  // a snapshot from the client
            (TelemetryDecoder.clientHello + [0x11, 0, 0, 0, 2, 0x80, 0x80], 2),  // a varint that never ends
        ]
        for (input, code) in cases {
            let client = Client(stream, appliance)
            client.send(input)
            #expect(client.session.state == .closing)
            #expect(throws: TelemetryStreamError.self) { _ = try client.read() }
            do {
                _ = try client.read()
            } catch let error as TelemetryStreamError {
                guard case .refused(let received, _) = error else { Issue.record("\(error)"); continue }
                #expect(received == code, "\(input)")
            }
        }
    }

    @Test func aClientThatStopsReadingIsSkippedThenDropped() throws {
        let appliance = SyntheticAppliance(services: 2, backends: 64, rules: 3000, seed: 5)
        appliance.exercise(connections: 200, packets: 20_000)
        let stream = makeStream(appliance)
        let client = Client(stream, appliance)
        client.send(TelemetryDecoder.clientHello + TelemetryDecoder.subscribeRequest(intervalMilliseconds: 100, events: false))
        let pending = client.session.pendingCount
        #expect(pending > 0 && pending < TelemetryStream.maximumPending)
        for _ in 0..<5 {
            appliance.exercise(milliseconds: 200, connections: 0, packets: 0)
            stream.tick(now: appliance.now)
        }
        #expect(client.session.skippedSnapshots == 5 && client.session.pendingCount == pending, "nothing piles up")
        #expect(client.session.state == .open)
        appliance.exercise(milliseconds: 11_000, connections: 0, packets: 0)
        stream.tick(now: appliance.now)
        #expect(client.session.state == .dropped)
        #expect(stream.droppedClients == 1)
    }
}

/// The decoder on damaged streams: every prefix, flipped bits, random bytes.
@Suite struct TelemetryDecoderFuzzTests {
    static func validStream() -> [UInt8] {
        let appliance = SyntheticAppliance(services: 3, backends: 12, rules: 50, seed: 11)
        appliance.exercise(connections: 50, packets: 500)
        let actions = AdminActions(token: TelemetryStreamTests.token, balancer: appliance.balancer)
        let stream = TelemetryStream(applianceName: "fuzz", actions: actions) { appliance.source() }
        let session = stream.open(peer: IPv4Address(10, 0, 1, 2), now: appliance.now)
        let input = TelemetryDecoder.clientHello + TelemetryDecoder.subscribeRequest(intervalMilliseconds: 100, events: true)
            + TelemetryDecoder.adminRequest(id: 1, token: "a-long-enough-admin-token", action: .drain, service: "s0", backend: "b00")
        input.withUnsafeBytes { stream.receive($0, from: session, now: appliance.now) }
        var bytes: [UInt8] = []
        session.send({ bytes.append(contentsOf: $0); return $0.count }, now: appliance.now)
        appliance.exercise(milliseconds: 200, connections: 10, packets: 100)
        stream.tick(now: appliance.now)
        session.send({ bytes.append(contentsOf: $0); return $0.count }, now: appliance.now)
        return bytes
    }

    /// Decodes all of `bytes`; returns how many messages came out, or the error.
    static func decodeAll(_ bytes: [UInt8], chunk: Int = 1 << 30) -> (Int, TelemetryStreamError?) {
        var decoder = TelemetryDecoder()
        var count = 0
        var offset = 0
        do {
            while offset < bytes.count {
                decoder.append(bytes[offset..<min(bytes.count, offset + chunk)])
                offset += chunk
                while try decoder.next() != nil { count += 1 }
            }
        } catch {
            return (count, error)
        }
        return (count, nil)
    }

    @Test func everyPrefixDecodesWhatIsComplete() {
        let bytes = Self.validStream()
        let (total, error) = Self.decodeAll(bytes, chunk: 7)
        #expect(error == nil && total == 6, "hello, schema, snapshot, event, result, snapshot: \(total) \(String(describing: error))")
        for length in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 400)) {
            let (count, error) = Self.decodeAll(Array(bytes[0..<length]))
            #expect(error == nil && count < total, "prefix \(length)")
        }
    }

    @Test func damagedStreamsFailCleanly() {
        let bytes = Self.validStream()
        var random = SeededRandom(seed: 99)
        var failures = 0
        for round in 0..<3000 {
            var damaged = bytes
            switch round % 3 {
            case 0:
                for _ in 0..<(1 + random.next() % 4) { damaged[Int(random.next() % UInt64(damaged.count))] ^= UInt8(1 << (random.next() % 8)) }
            case 1:
                let at = Int(random.next() % UInt64(damaged.count))
                damaged.replaceSubrange(at..<min(damaged.count, at + 8), with: (0..<8).map { _ in UInt8(truncatingIfNeeded: random.next()) })
            default:
                damaged = (0..<Int(random.next() % 2000)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            }
            if Self.decodeAll(damaged).1 != nil { failures += 1 }
        }
        #expect(failures > 500, "damage is noticed, not silently accepted (\(failures))")
    }
}
