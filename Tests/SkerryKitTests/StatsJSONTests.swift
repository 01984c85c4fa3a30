import Foundation
import KernelCore
@testable import SkerryKit
import Testing

/// `skerry stats --json`'s document: every value under its name.
@Suite struct StatsJSONTests {
    static func model() -> TelemetryModel {
        var schema = Telemetry.Schema()
        schema.nics = InterfaceRole.allCases.map { Telemetry.Schema.NIC(role: "\($0.name)", model: "virtio", address: "10.0.\($0.rawValue + 1).15") }
        schema.deviceCounters = CounterNames(DeviceCounter.allCases.map { "\($0.name)" })
        // A counter from a newer appliance has no key here: it is left out, not guessed at.
        schema.balancerCounters = CounterNames(BalancerCounter.allCases.map { "\($0.name)" } + ["from-the-future"])
        schema.hasBalancer = true
        schema.services = [Telemetry.Schema.Service(name: "web", port: 80, algorithm: "round-robin", maximumConnections: 0, backends: [
            Telemetry.Schema.Backend(name: "web1", address: "10.0.3.2", port: 8081, weight: 1, maximumConnections: 0),
            Telemetry.Schema.Backend(name: "web2", address: "10.0.3.2", port: 8082, weight: 3, maximumConnections: 50),
        ])]
        schema.hasFirewall = true
        schema.rules = [Telemetry.Schema.Rule(name: "block-ssh", action: .drop, log: true, limited: false),
                        Telemetry.Schema.Rule(name: "web", action: .accept, log: false, limited: true)]
        schema.policies = PolicyKey.allCases.map { $0 == .inboundPublic ? .drop : .accept }

        var snapshot = Telemetry.Snapshot()
        snapshot.sequence = 7
        snapshot.nics = schema.nics.map { _ in Telemetry.NICValues() }
        snapshot.nics[1].linkUp = true
        snapshot.nics[1].counters[.rxPackets] = 12
        var balancer = LoadBalancer.Counters()
        balancer[BalancerCounter.allCases[0]] = 5
        snapshot.balancer = balancer
        snapshot.services = [Telemetry.TrafficValues()]
        var web1 = Telemetry.BackendValues()
        web1.up = true
        web1.traffic[.totalConnections] = 40
        var web2 = Telemetry.BackendValues()
        web2.administrative = .draining
        web2.checkLatencyMicroseconds = 950
        snapshot.backends = [web1, web2]
        var firewall = Telemetry.FirewallValues()
        firewall.policies = PolicyKey.allCases.map { Telemetry.PolicyValues(packets: UInt64($0.index), bytes: 60 * UInt64($0.index)) }
        firewall.rules = [1: Telemetry.RuleValues(packets: 9, bytes: 540, rateLimited: 2, lastHitAgeMilliseconds: 300)]
        snapshot.firewall = firewall

        var model = TelemetryModel()
        model.apply(.hello(Telemetry.Hello(version: 1, appliance: "web", uptimeMilliseconds: 1, adminEnabled: true)))
        model.apply(.schema(schema))
        model.apply(.snapshot(snapshot))
        return model
    }

    static func document() throws -> [String: Any] {
        let json = StatsDocument(model(), address: "127.0.0.1:9180").json
        return try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], "\(json)")
    }

    @Test func backendsAreKeyedServiceSlashBackend() throws {
        let backends = try #require(try Self.document()["backends"] as? [String: [String: Any]])
        #expect(Set(backends.keys) == ["web/web1", "web/web2"])
        #expect(backends["web/web1"]?["state"] as? String == "\(BackendHealth.Status.up.name)")
        #expect(backends["web/web2"]?["state"] as? String == "\(BackendHealth.Status.down.name)")
        #expect(backends["web/web2"]?["administrative"] as? String == "\(LoadBalancer.AdministrativeState.draining.label)")
        #expect(backends["web/web2"]?["weight"] as? Int == 0 && backends["web/web2"]?["maximumConnections"] as? Int == 50)
        #expect(backends["web/web2"]?["checkLatencyMicroseconds"] as? Int == 950)
        #expect(backends["web/web1"]?["checkLatencyMicroseconds"] == nil, "no check yet: absent, not zero")
        #expect((backends["web/web1"]?["traffic"] as? [String: Int])?["\(TrafficStatistic.totalConnections.name)"] == 40)
    }

    @Test func countersRulesAndPoliciesAreKeyedByName() throws {
        let document = try Self.document()
        #expect(document["appliance"] as? String == "web" && document["sequence"] as? Int == 7)
        let balancer = try #require((document["counters"] as? [String: [String: Int]])?["balancer"])
        #expect(Set(balancer.keys) == Set(BalancerCounter.allCases.map { "\($0.name)" }), "the unknown name is left out")
        #expect(balancer["\(BalancerCounter.allCases[0].name)"] == 5)
        let rules = try #require(document["rules"] as? [String: [String: Any]])
        #expect(rules["block-ssh"]?["packets"] as? Int == 0 && rules["block-ssh"]?["lastHitAgeMilliseconds"] == nil)
        #expect(rules["web"]?["packets"] as? Int == 9 && rules["web"]?["rateLimited"] as? Int == 2 && rules["web"]?["limited"] as? Bool == true)
        #expect(rules["block-ssh"]?["action"] as? String == "drop")
        let policies = try #require(document["policies"] as? [String: [String: Any]])
        #expect(Set(policies.keys) == ["in/admin", "in/public", "in/private", "out/admin", "out/public", "out/private"])
        #expect(policies["in/public"]?["action"] as? String == "drop" && policies["in/public"]?["packets"] as? Int == 1)
        #expect(policies["out/private"]?["bytes"] as? Int == 300)
        let nics = try #require(document["nics"] as? [String: [String: Any]])
        #expect(nics["public"]?["link"] as? String == "up" && nics["admin"]?["link"] as? String == "down")
        #expect((nics["public"]?["counters"] as? [String: Int])?["\(DeviceCounter.rxPackets.name)"] == 12)
        #expect((document["raw"] as? [String: Any])?["schema"] != nil)
    }

    @Test func beforeAnySnapshotOnlyTheAddressAndRawRemain() throws {
        var model = TelemetryModel()
        model.apply(.hello(Telemetry.Hello(version: 1, appliance: "web", uptimeMilliseconds: 1, adminEnabled: false)))
        let json = StatsDocument(model, address: "127.0.0.1:1").json
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(document["address"] as? String == "127.0.0.1:1")
        #expect((document["backends"] as? [String: Any])?.isEmpty == true)
        #expect(document["sequence"] == nil)
    }
}
