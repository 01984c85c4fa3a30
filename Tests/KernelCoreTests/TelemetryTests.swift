import Foundation
import Testing
@testable import KernelCore

private func request(_ text: String) -> HTTPRequest.Parse { HTTPRequest.parse(Array(text.utf8)) }

private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

@Suite struct HTTPRequestTests {
    @Test func readsTheRequestLine() {
        #expect(request("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                == .complete(HTTPRequest(method: Array("GET".utf8), path: Array("/metrics".utf8))))
        #expect(request("POST /x HTTP/1.0\nauthorization: Bearer abc123\n\n")
                == .complete(HTTPRequest(method: Array("POST".utf8), path: Array("/x".utf8))))
    }

    @Test func waitsForTheEndOfTheHeadersAndRefusesWhatIsNotHTTP() {
        #expect(request("GET /metrics HTTP/1.1\r\nHost: x\r\n") == .incomplete)
        #expect(request("") == .incomplete)
        #expect(request("HELLO\r\n\r\n") == .invalid)
        #expect(request("GET metrics HTTP/1.1\r\n\r\n") == .invalid, "paths start with a slash")
        #expect(request("GET / SMTP/1.1\r\n\r\n") == .invalid)
        #expect(HTTPRequest.parse(Array(repeating: 0x41, count: HTTPRequest.maximumLength + 1)) == .invalid)
    }

    @Test func survivesGarbage() {
        var generator = SplitMix(state: 99)
        for _ in 0..<5_000 {
            let length = Int(generator.next() % 200)
            let alphabet: [UInt8] = Array("GET /\r\n :BearerHTP1.".utf8) + [0, 0xFF]
            let bytes = (0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
            _ = HTTPRequest.parse(bytes)
        }
    }
}

@Suite struct MetricsHTTPTests {
    static let token = Array("a-long-enough-admin-token".utf8)

    func respond(_ service: MetricsHTTP, _ text: String) -> (status: Int, body: String) {
        guard case .complete(let parsed) = request(text) else { return (0, "unparsed") }
        let response = String(decoding: service.respond(to: parsed), as: UTF8.self)
        let status = Int(response.split(separator: " ")[1]) ?? 0
        let body = response.components(separatedBy: "\r\n\r\n").last ?? ""
        return (status, body)
    }

    @Test func servesMetricsToAnyoneAndNothingElse() {
        let service = MetricsHTTP { Array("skerry_up 1\n".utf8) }
        let reply = respond(service, "GET /metrics HTTP/1.1\r\n\r\n")
        #expect(reply.status == 200 && reply.body == "skerry_up 1\n")
        #expect(respond(service, "POST /metrics HTTP/1.1\r\n\r\n").status == 405)
        #expect(respond(service, "GET /nothing HTTP/1.1\r\n\r\n").status == 404)
        #expect(respond(service, "POST /admin/drain/web/web2 HTTP/1.1\r\n\r\n").status == 404, "admin actions are not HTTP")
        #expect(respond(service, "GET / HTTP/1.1\r\n\r\n").body.contains("telemetry stream"))
    }

    @Test func resetCountersZeroesTotalsAndKeepsOpenConnections() throws {
        let fixture = BalancerFixture()
        _ = try #require(try fixture.handshake(port: 40000))
        let backend = try #require(fixture.balancer.services[0].backends.first { $0.statistics.totalConnections == 1 })
        var resets = 0
        let actions = AdminActions(token: Self.token, balancer: fixture.balancer) { resets += 1 }
        var reported: [TelemetryProtocol.Channel] = []
        actions.onAction = { _, _, channel in reported.append(channel) }
        #expect(actions.authorize(Self.token) == nil)
        #expect(actions.authorize(Array("a-long-enough-admin-tokeX".utf8)) == .unauthorized)
        #expect(actions.authorize(nil) == .unauthorized)
        #expect(AdminActions(token: [], balancer: nil).authorize(Self.token) == .actionsOff)
        actions.perform(.resetCounters, peer: IPv4Address(10, 0, 1, 2), channel: .stream)
        #expect(resets == 1 && reported == [.stream])
        #expect(backend.statistics.totalConnections == 0 && backend.statistics.packetsToBackend == 0)
        #expect(backend.statistics.activeConnections == 1, "the open connection is still counted")
        #expect(fixture.balancer.services[0].statistics.activeConnections == 1)
    }
}

@Suite struct MetricsTests {
    @Test func labelValuesAreEscaped() {
        var metrics = PrometheusText()
        metrics.family("x_total", .counter, "Help.")
        let value: StaticString = "a\"b\\c\nd"
        metrics.sample("x_total", .init("rule", value), 7)
        #expect(text(metrics.bytes) == "# HELP x_total Help.\n# TYPE x_total counter\nx_total{rule=\"a\\\"b\\\\c\\nd\"} 7\n")
    }

    /// Every sample belongs to a family announced with HELP and TYPE; counters end in _total.
    @Test func theApplianceExpositionIsWellFormed() throws {
        let fixture = BalancerFixture()
        let firewall = Firewall(rules: [FirewallRuleDescriptor(action: .drop)], policies: []) { $0.destinationPort == 22 ? 0 : -1 }
        let names: StaticString = "block-ssh"
        var source = MetricsSource(
            now: fixture.now, uptime: .milliseconds(1_500), heapUsed: 10, heapFree: 20, heapPeak: 15, stack: fixture.fixture.stack,
            firewall: firewall
        ) { _ in UnsafeBufferPointer(start: names.utf8Start, count: names.utf8CodeUnitCount) }
        source.balancer = fixture.balancer
        let lines = text(ApplianceMetrics.write(source).bytes).split(separator: "\n").map(String.init)
        var types: [String: String] = [:]
        var helped = Set<String>()
        var samples = 0
        for line in lines {
            let words = line.split(separator: " ", maxSplits: 3).map(String.init)
            if line.hasPrefix("# HELP ") {
                helped.insert(words[2])
            } else if line.hasPrefix("# TYPE ") {
                types[words[2]] = words[3]
                #expect(helped.contains(words[2]), "TYPE before HELP: \(line)")
                #expect((words[3] == "counter") == words[2].hasSuffix("_total"), "\(line)")
            } else {
                samples += 1
                let name = String(line.prefix { $0 != "{" && $0 != " " })
                #expect(types[name] != nil, "sample without a family: \(line)")
                #expect(Double(line.split(separator: " ").last ?? "") != nil, "value: \(line)")
            }
        }
        #expect(samples > 100)
        #expect(lines.contains("skerry_uptime_seconds 1.500"))
        #expect(lines.contains("skerry_backend_up{service=\"web\",backend=\"web2\"} 1"))
        #expect(lines.contains("skerry_backend_admin_state{service=\"web\",backend=\"web1\",state=\"enabled\"} 1"))
        #expect(lines.contains("skerry_firewall_rule_packets_total{rule=\"block-ssh\",action=\"drop\"} 0"))
        #expect(lines.contains("skerry_firewall_policy_packets_total{direction=\"in\",interface=\"public\",action=\"accept\"} 0"))
        #expect(lines.contains("skerry_nic_link_up{nic=\"admin\",model=\"fake\"} 1"))
        #expect(lines.contains { $0.hasPrefix("skerry_stack_events_total{event=\"arp-replies-sent\"} ") })
    }
}
