import Foundation
import KernelCore
@testable import SkerryKit
import Testing

/// Smoke conditions and `skerry stats --json` on the failover state: the
/// redispatch counters by their core names, and the check's reason.
@Suite struct TelemetryConditionFailoverTests {
    static func model() -> TelemetryModel {
        var schema = Telemetry.Schema()
        schema.hasBalancer = true
        schema.services = [Telemetry.Schema.Service(name: "web", port: 80, algorithm: "round-robin", maximumConnections: 0, backends: [
            Telemetry.Schema.Backend(name: "web1", address: "10.0.3.2", port: 8081, weight: 1, maximumConnections: 0),
            Telemetry.Schema.Backend(name: "web2", address: "10.0.3.2", port: 8082, weight: 1, maximumConnections: 0, backup: true),
        ], retries: 2, connectTimeoutMilliseconds: 1000, slowStartMilliseconds: 10_000, check: "http GET /health expect 200")]
        var snapshot = Telemetry.Snapshot()
        var service = Telemetry.TrafficValues()
        service[.redispatched] = 6
        snapshot.services = [service]
        var web1 = Telemetry.BackendValues()
        web1.up = true
        web1.checkOutcome = .passed
        web1.statusCause = .check
        web1.slowStartPercent = 30
        var web2 = Telemetry.BackendValues()
        web2.checkOutcome = .badStatus
        web2.checkStatusCode = 503
        web2.statusCause = .traffic
        web2.traffic[.redispatched] = 4
        web2.traffic[.connectRefused] = 5
        web2.traffic[.connectTimeouts] = 1
        snapshot.backends = [web1, web2]
        var model = TelemetryModel()
        model.apply(.schema(schema))
        model.apply(.snapshot(snapshot))
        return model
    }

    func holds(_ text: String) throws -> Bool { try TelemetryCondition(parsing: text).holds(in: Self.model()) }

    @Test func theRedispatchCountersAreConditions() throws {
        #expect(try holds(#"backends["web/web2"].redispatched == 4"#))
        #expect(try holds(#"backends["web/web2"].connect-refused >= 5"#))
        #expect(try holds(#"backends["web/web2"].connect-timeouts == 1"#))
        #expect(try !holds(#"backends["web/web1"].redispatched > 0"#))
        #expect(try holds(#"services["web"].redispatched == 6"#))
        #expect(try holds(#"services["web"].connect-refused == 0"#))
    }

    @Test func theCheckReasonIsACondition() throws {
        #expect(try holds(#"backends["web/web2"].check == "bad status 503""#))
        #expect(try holds(#"backends["web/web2"].check != "bad status 500""#))
        #expect(try holds(#"backends["web/web1"].check == ok"#))
        #expect(try !holds(#"backends["web/web1"].check == refused"#))
        #expect(try TelemetryCondition(parsing: #"backends["web/web1"].check == "malformed response""#).value == "malformed response")
        #expect(throws: SmokeError.self) { try TelemetryCondition(parsing: #"backends["web/web1"].check == broken"#) }
        #expect(throws: SmokeError.self) { try TelemetryCondition(parsing: #"backends["web/web1"].check >= ok"#) }
        #expect(throws: SmokeError.self) { try TelemetryCondition(parsing: #"backends["web/web1"].check == "bad status x""#) }
        #expect(throws: SmokeError.self) { try TelemetryCondition(parsing: #"services["web"].check == ok"#) }
    }

    @Test func statsJSONHasTheFailoverState() throws {
        let json = StatsDocument(Self.model(), address: "127.0.0.1:9180").json
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let backends = try #require(document["backends"] as? [String: [String: Any]])
        let web2 = try #require(backends["web/web2"])
        #expect(web2["check"] as? String == "bad status 503")
        #expect(web2["statusCause"] as? String == "traffic")
        #expect(web2["backup"] as? Bool == true)
        #expect(web2["slowStartPercent"] == nil)
        let traffic = try #require(web2["traffic"] as? [String: UInt64])
        #expect(traffic["redispatched"] == 4 && traffic["connect-refused"] == 5 && traffic["connect-timeouts"] == 1)
        #expect(backends["web/web1"]?["slowStartPercent"] as? Int == 30)
        #expect(backends["web/web1"]?["check"] as? String == "ok")
        let services = try #require(document["services"] as? [String: [String: Any]])
        #expect(services["web"]?["check"] as? String == "http GET /health expect 200")
        #expect(services["web"]?["retries"] as? Int == 2)
        #expect((services["web"]?["traffic"] as? [String: UInt64])?["redispatched"] == 6)
    }
}

extension TelemetryConditionFailoverTests {
    /// A suite writes the failover conditions as the other `wait:` steps.
    @Test func aSuiteWaitsOnTheCheckReasonAndRedispatches() throws {
        let suite = try SmokeParser.parse("""
            suite: failover
            appliance: ..
            steps:
              - wait: backends["web/web2"].check == "bad status 503"
              - wait: backends["web/web2"].redispatched >= 4
              - wait: services["web"].redispatched == 6
            """, file: SmokeParserTests.sample)
        var conditions: [TelemetryCondition] = []
        for step in suite.steps { if case .wait(let condition) = step.action { conditions.append(condition) } }
        #expect(conditions.count == 3)
        #expect(conditions.first?.field == "check" && conditions.first?.value == "bad status 503")
        #expect(conditions.allSatisfy { $0.holds(in: Self.model()) })
    }
}
