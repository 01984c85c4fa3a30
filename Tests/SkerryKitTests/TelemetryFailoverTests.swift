import Foundation
@testable import KernelCore
import SkerryKit
import Testing

/// Issue 18's state in the telemetry stream: version 3 carries the traffic
/// statistics by name, the failover settings, each backend's check reason,
/// what moved it and its slow start, and the cause of a status change;
/// a version 2 client still gets version 2's bytes.
@Suite struct TelemetryFailoverTests {
    /// A balancer with the failover settings set, on a synthetic appliance's stack.
    final class Appliance {
        let synthetic = SyntheticAppliance(services: 1, backends: 1, rules: 0, seed: 18)
        let balancer: LoadBalancer
        var now = Instant.zero + .seconds(100)
        let stream: TelemetryStream

        init() {
            let health = HealthCheckConfiguration(kind: .http(HTTPHealthCheck(path: "/health", expectedStatus: 200...200)))
            let web = ServiceConfiguration(
                name: "web", port: 80, algorithm: .roundRobin,
                backends: [
                    BackendConfiguration(name: "web1", address: IPv4Address(10, 0, 3, 2), port: 8081),
                    BackendConfiguration(name: "web2", address: IPv4Address(10, 0, 3, 2), port: 8082),
                    BackendConfiguration(name: "spare", address: IPv4Address(10, 0, 3, 2), port: 8083, backup: true),
                ],
                health: health, retries: 3, connectTimeout: .milliseconds(1500), slowStart: .seconds(10))
            let tcp = ServiceConfiguration(name: "db", port: 5432, algorithm: .leastConnections,
                                           backends: [BackendConfiguration(name: "db1", address: IPv4Address(10, 0, 3, 3), port: 5432)])
            balancer = LoadBalancer(services: [web, tcp], publicAddress: IPv4Address(10, 0, 2, 15),
                                    privateAddress: IPv4Address(10, 0, 3, 15), connectionCapacity: 1024)
            let actions = AdminActions(token: [], balancer: balancer)
            var source: () -> MetricsSource = { fatalError() }
            stream = TelemetryStream(applianceName: "failover", actions: actions) { source() }
            source = { [unowned self] in
                var state = synthetic.source()
                state.now = now
                state.uptime = now.since(.zero)
                state.balancer = balancer
                state.firewall = nil
                return state
            }
            balancer.onEvent = { [unowned self] event in
                stream.publish(TelemetryEvent(event, in: balancer), uptime: now.since(.zero))
            }
            for service in balancer.services {
                for backend in service.backends { check(service, backend, passes: 2) }
            }
        }

        func check(_ service: LoadBalancer.Service, _ backend: LoadBalancer.Backend, passes: Int = 0, fails: Int = 0) {
            for _ in 0..<passes { balancer.recordCheck(service: service, backend: backend, outcome: .passed, latency: .milliseconds(1), now: now) }
            for _ in 0..<fails { balancer.recordCheck(service: service, backend: backend, outcome: .refused, latency: nil, now: now) }
        }

        var web: LoadBalancer.Service { balancer.services[0] }
    }

    /// A subscriber speaking `versions`.
    final class Subscriber {
        let session: TelemetrySession
        let appliance: Appliance
        var decoder = TelemetryDecoder()
        var model = TelemetryModel()
        var events: [Telemetry.Event] = []

        init(_ appliance: Appliance, versions: ClosedRange<UInt8>) throws {
            self.appliance = appliance
            session = appliance.stream.open(peer: IPv4Address(10, 0, 1, 2), now: appliance.now)
            let hello = TelemetryDecoder.clientHello(versions: versions)
                + TelemetryDecoder.subscribeRequest(intervalMilliseconds: 1000, events: true)
            hello.withUnsafeBytes { appliance.stream.receive($0, from: session, now: appliance.now) }
            try read()
        }

        func read() throws {
            var bytes: [UInt8] = []
            session.send({ bytes.append(contentsOf: $0); return $0.count }, now: appliance.now)
            decoder.append(bytes)
            while let message = try decoder.next() {
                model.apply(message)
                if case .event(let event) = message { events.append(event) }
            }
        }

        func snapshot() throws {
            appliance.now = appliance.now + .seconds(1)
            appliance.stream.tick(now: appliance.now)
            try read()
        }
    }

    func set(_ key: TrafficStatistic, _ value: UInt64, in statistics: inout LoadBalancer.Statistics) {
        switch key {
        case .activeConnections: statistics.activeConnections = Int(value)
        case .maximumConnectionsSeen: statistics.maximumConnectionsSeen = Int(value)
        case .totalConnections: statistics.totalConnections = value
        case .refusedConnections: statistics.refusedConnections = value
        case .failedConnects: statistics.failedConnects = value
        case .redispatched: statistics.redispatched = value
        case .connectRefused: statistics.connectRefused = value
        case .connectTimeouts: statistics.connectTimeouts = value
        case .connectionRate: statistics.connectionRate = value
        case .packetsToBackend: statistics.packetsToBackend = value
        case .bytesToBackend: statistics.bytesToBackend = value
        case .packetsToClient: statistics.packetsToClient = value
        case .bytesToClient: statistics.bytesToClient = value
        }
    }

    /// Distinct values in every statistic, so a field read from the wrong place shows.
    func fillStatistics(_ appliance: Appliance) {
        for (serviceIndex, service) in appliance.balancer.services.enumerated() {
            for (index, key) in TrafficStatistic.allCases.enumerated() {
                set(key, UInt64(1000 * (serviceIndex + 1) + index), in: &service.statistics)
            }
            for (backendIndex, backend) in service.backends.enumerated() {
                for (index, key) in TrafficStatistic.allCases.enumerated() {
                    set(key, UInt64(100 * (backendIndex + 1) + 10 * serviceIndex + index), in: &backend.statistics)
                }
            }
        }
    }

    @Test func theApplianceAnswersWithTheHighestVersionBothSpeak() throws {
        let appliance = Appliance()
        for (versions, chosen) in [(UInt8(2)...2, 2), (2...3, 3), (3...3, 3), (3...9, 3), (1...2, 2)] {
            let subscriber = try Subscriber(appliance, versions: versions)
            #expect(subscriber.model.hello?.version == chosen, "\(versions)")
            #expect(subscriber.decoder.version == chosen)
            #expect(subscriber.model.snapshot != nil)
        }
        for versions in [UInt8(4)...5, 1...1] {
            let session = appliance.stream.open(peer: IPv4Address(10, 0, 1, 2), now: appliance.now)
            TelemetryDecoder.clientHello(versions: versions).withUnsafeBytes { appliance.stream.receive($0, from: session, now: appliance.now) }
            var bytes: [UInt8] = []
            session.send({ bytes.append(contentsOf: $0); return $0.count }, now: appliance.now)
            var decoder = TelemetryDecoder()
            decoder.append(bytes)
            #expect(throws: TelemetryStreamError.refused(code: 1, message: "this appliance speaks telemetry protocol versions 2 to 3")) {
                _ = try decoder.next()
            }
        }
    }

    @Test func versionThreeCarriesEveryStatisticByNameAndTheFailoverState() throws {
        let appliance = Appliance()
        let web2 = appliance.web.backends[1]
        // web2 goes down, then recovers at `recovered`: 4 s later it is 40% through its 10 s slow start.
        appliance.check(appliance.web, web2, fails: 3)
        appliance.now = appliance.now + .seconds(5)
        appliance.check(appliance.web, web2, passes: 2)
        fillStatistics(appliance)
        appliance.now = appliance.now + .seconds(3)
        let subscriber = try Subscriber(appliance, versions: 2...3)
        try subscriber.snapshot()  // one second later: 4 s into the ramp
        let schema = try #require(subscriber.model.schema)
        let snapshot = try #require(subscriber.model.snapshot)
        #expect(schema.trafficStatistics.names == TrafficStatistic.allCases.map { "\($0.name)" })
        #expect(schema.trafficStatistics.names.contains("redispatched"))
        let web = schema.services[0]
        #expect(web.check == "http GET /health expect 200")
        #expect(schema.services[1].check == "tcp")
        #expect(web.retries == 3 && web.connectTimeoutMilliseconds == 1500 && web.slowStartMilliseconds == 10_000)
        #expect(schema.services[1].retries == 2 && schema.services[1].slowStartMilliseconds == 0)
        #expect(web.backends.map(\.backup) == [false, false, true])
        let backends = appliance.balancer.services.flatMap(\.backends)
        for (decoded, backend) in zip(snapshot.backends, backends) {
            for key in TrafficStatistic.allCases { #expect(decoded.traffic[key] == backend.statistics[key], "\(key.name)") }
            #expect(decoded.checkFailures == backend.health.checkFailures)
            #expect(decoded.checkOutcome == backend.health.lastOutcome)
            #expect(decoded.statusCause == backend.health.lastChangeCause)
        }
        for (decoded, service) in zip(snapshot.services, appliance.balancer.services) {
            for key in TrafficStatistic.allCases { #expect(decoded[key] == service.statistics[key], "\(key.name)") }
        }
        let ramp = try #require(web2.slowStartPercent(over: .seconds(10), now: appliance.now))
        #expect((39...40).contains(ramp), "4 s into 10 s")
        #expect(snapshot.backends.map(\.slowStartPercent) == [nil, ramp, nil, nil])
        #expect(snapshot.backends[0].checkReason == "ok")
        // The ramp ends after 10 s.
        appliance.now = appliance.now + .seconds(5)
        try subscriber.snapshot()
        #expect(subscriber.model.snapshot?.backends[1].slowStartPercent == nil)
    }

    @Test func aVersionTwoClientGetsVersionTwosLayout() throws {
        let appliance = Appliance()
        fillStatistics(appliance)
        let subscriber = try Subscriber(appliance, versions: 2...2)
        let schema = try #require(subscriber.model.schema)
        let snapshot = try #require(subscriber.model.snapshot)
        // Version 2's traffic record: ten statistics, in its order, with no names on the wire.
        #expect(schema.trafficStatistics.names == ["active-connections", "most-connections", "total-connections",
                                                   "refused-connections", "failed-connects", "connection-rate",
                                                   "packets-to-backend", "bytes-to-backend", "packets-to-client", "bytes-to-client"])
        #expect(schema.services[0].check == nil && schema.services[0].retries == nil)
        #expect(schema.services[0].backends.map(\.backup) == [false, false, false])
        let backends = appliance.balancer.services.flatMap(\.backends)
        for (decoded, backend) in zip(snapshot.backends, backends) {
            for key in TrafficStatistic.allCases where key.inVersion2 {
                #expect(decoded.traffic[key] == backend.statistics[key], "\(key.name)")
            }
            #expect(decoded.traffic[.redispatched] == 0, "not in version 2")
            #expect(decoded.checkFailures == backend.health.checkFailures, "the fields after the traffic are where version 2 has them")
            #expect(decoded.checkOutcome == nil && decoded.statusCause == nil && decoded.slowStartPercent == nil)
        }
        // Nothing follows the backends but what version 2 has there: the snapshot ends with them (no firewall).
        #expect(snapshot.backends.count == backends.count)
    }

    @Test func statusEventsSayWhatMovedTheBackendAndWhy() throws {
        let appliance = Appliance()
        let current = try Subscriber(appliance, versions: 2...3)
        let old = try Subscriber(appliance, versions: 2...2)
        let web2 = appliance.web.backends[1]
        appliance.check(appliance.web, web2, fails: 3)
        appliance.check(appliance.web, web2, passes: 2)
        try current.read()
        try old.read()
        let statuses = current.events.filter { if case .backendStatus = $0.kind { true } else { false } }
        #expect(statuses.map(\.kind) == [
            .backendStatus(service: 0, backend: 1, up: false,
                           cause: BackendStatusCause(observation: .check, outcome: .refused, statusCode: 0, failures: 3)),
            .backendStatus(service: 0, backend: 1, up: true,
                           cause: BackendStatusCause(observation: .check, outcome: .passed, statusCode: 0, failures: 0)),
        ])
        #expect(statuses.map { current.model.describe($0) } == ["100.0 s web/web2 is DOWN after 3 failed checks (refused)", "100.0 s web/web2 is UP"])
        let oldStatuses = old.events.filter { if case .backendStatus = $0.kind { true } else { false } }
        #expect(oldStatuses.map(\.kind) == [.backendStatus(service: 0, backend: 1, up: false), .backendStatus(service: 0, backend: 1, up: true)])
        #expect(oldStatuses.map { old.model.describe($0) } == ["100.0 s web/web2 is DOWN", "100.0 s web/web2 is UP"])
    }

    @Test func aStatusChangeReadsTheSameOnTheConsoleAndTheHost() throws {
        func line(_ cause: BackendStatusCause, up: Bool) -> String {
            var text = ByteText()
            cause.writeChange(up: up, to: &text)
            return String(decoding: text.bytes, as: UTF8.self)
        }
        let refused = BackendStatusCause(observation: .check, outcome: .refused, statusCode: 0, failures: 3)
        #expect(line(refused, up: false) == " is DOWN after 3 failed checks (refused)")
        #expect(line(BackendStatusCause(observation: .check, outcome: .badStatus, statusCode: 503, failures: 2), up: false)
                == " is DOWN after 2 failed checks (bad status 503)")
        #expect(line(BackendStatusCause(observation: .check, outcome: .malformed, statusCode: 0, failures: 1), up: false)
                == " is DOWN after 1 failed check (malformed response)")
        #expect(line(BackendStatusCause(observation: .traffic, outcome: .passed, statusCode: 200, failures: 3), up: false)
                == " is DOWN: 3 connects failed in traffic")
        #expect(line(refused, up: true) == " is UP")
        // The host's event line is the console's, after the time.
        let appliance = Appliance()
        let subscriber = try Subscriber(appliance, versions: 3...3)
        let event = Telemetry.Event(uptimeMilliseconds: 2500, kind: .backendStatus(
            service: 0, backend: 1, up: false, cause: BackendStatusCause(observation: .check, outcome: .badStatus, statusCode: 503, failures: 3)))
        #expect(subscriber.model.describe(event) == "2.5 s web/web2 is DOWN after 3 failed checks (bad status 503)")
        // Every outcome has its reason.
        for outcome in HealthCheckOutcome.allCases {
            var values = Telemetry.BackendValues()
            values.checkOutcome = outcome
            values.checkStatusCode = 503
            #expect(values.checkReason == (outcome == .badStatus ? "bad status 503" : "\(outcome.name)"))
        }
    }

    @Test func aCheckOutcomeOrCauseFromANewerApplianceIsNotAnError() throws {
        // A version 3 status event with an observation and an outcome this client does not know.
        var out = TelemetryFrameWriter()
        out.begin(.event)
        out.varint(1200)
        out.varint(UInt64(TelemetryProtocol.EventKind.backendStatus.rawValue))
        out.varint(0)
        out.varint(1)
        out.flag(false)
        out.byte(200)
        out.byte(201)
        out.varint(0)
        out.varint(4)
        out.end()
        var decoder = TelemetryDecoder()
        var hello = TelemetryFrameWriter()
        TelemetryEncoder.hello(&hello, version: 3, applianceName: "newer", uptime: .seconds(1), adminEnabled: false)
        decoder.append(hello.bytes + out.bytes)
        _ = try decoder.next()
        #expect(try decoder.next() == .event(Telemetry.Event(uptimeMilliseconds: 1200, kind: .backendStatus(service: 0, backend: 1, up: false))))
    }
}

