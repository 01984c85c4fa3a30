import Foundation
import KernelCore
import Testing
@testable import SkerryKit

@Suite struct ApplianceParserTests {
    static let valid = """
        appliance web
        nic public address 10.0.2.15/24 gateway 10.0.2.2
        service web {
            port 80
            algorithm weighted-least-connections
            max-connections 500
            health-check interval 2s timeout 250ms rise 3 fall 4
            timeout established 90s
            timeout syn 3s
            backend web1 10.0.3.2:8081 weight 5 max-connections 10
            backend web2 10.0.3.2:8082
        }
        """

    @Test func readsAValidFile() throws {
        let description = try ApplianceParser.parse(file: "a.conf", text: Self.valid)
        #expect(description.name == "web")
        let service = try #require(description.services.first)
        #expect(service.port == 80 && service.algorithm == .weightedLeastConnections && service.maximumConnections == 500)
        #expect(service.healthInterval == .seconds(2) && service.healthTimeout == .milliseconds(250) && service.rise == 3 && service.fall == 4)
        #expect(service.backends.map(\.name) == ["web1", "web2"])
        #expect(service.timeouts.established == .seconds(90) && service.timeouts.syn == .seconds(3) && service.timeouts.fin == .seconds(30))
        #expect(service.backends[0] == ApplianceDescription.Backend(name: "web1", address: IPv4Address(10, 0, 3, 2), port: 8081, weight: 5, maximumConnections: 10))
        #expect(description.interfaces[InterfaceRole.public.rawValue].gateway == IPv4Address(10, 0, 2, 2))
    }

    @Test func adminSettingsReachTheGeneratedConfiguration() throws {
        let description = try ApplianceParser.parse(file: "a.conf", text: Self.valid + "\nadmin {\n    telemetry-port 9200\n    token \"0123456789abcdef\"\n}\n")
        #expect(description.telemetryPort == 9200 && description.adminToken == "0123456789abcdef")
        let source = ApplianceCodegen.source(for: description)
        #expect(source.contains("static let telemetryPort: UInt16 = 9200"))
        #expect(source.contains("static let adminToken: StaticString = \"0123456789abcdef\""))
        let defaults = try ApplianceParser.parse(file: "a.conf", text: Self.valid)
        #expect(defaults.telemetryPort == 9100 && defaults.adminToken == nil)
        #expect(ApplianceCodegen.source(for: defaults).contains("static let adminToken: StaticString = \"\""))
    }

    @Test func theFirewallRuleFileIsFoundBesideTheApplianceFile() throws {
        let sample = try #require(ProjectLayout.find()).root.appendingPathComponent("Samples/web/appliance.conf").path
        let description = try ApplianceParser.load(sample)
        let rules = try #require(description.firewallRules)
        #expect(rules.hasSuffix("/Samples/web/firewall.rules") && FileManager.default.fileExists(atPath: rules))
        #expect(try ApplianceParser.parse(file: "a.conf", text: Self.valid).firewallRules == nil)
    }

    /// Each mistake is reported at its own line and column with a caret.
    @Test(arguments: [
        ("appliance web\nservice web {\n    port 99999\n    backend b 10.0.3.2:1\n}\n", 3, 10, "'99999' is not a number from 1 to 65535"),
        ("appliance web\nservice web {\n    port 80\n    algorithm random\n    backend b 10.0.3.2:1\n}\n", 4, 15, "unknown algorithm 'random'"),
        ("appliance web\nservice web {\n    port 80\n    backend b 192.168.1.1:80\n}\n", 4, 15, "backend 192.168.1.1 is not on the private network"),
        ("appliance web\nservice web {\n    port 80\n    backend b 10.0.3.2\n}\n", 4, 15, "'10.0.3.2' is not ADDRESS:PORT"),
        ("appliance web\nservice web {\n    port 80\n    health-check interval 2 \n    backend b 10.0.3.2:1\n}\n", 4, 27, "'2' is not a duration"),
        ("appliance web\nservice web {\n    port 80\n    weight 3\n    backend b 10.0.3.2:1\n}\n", 4, 5, "unknown service setting 'weight'"),
        ("appliance web\nnic dmz address 10.0.9.1/24\nservice web {\n    port 80\n    backend b 10.0.3.2:1\n}\n", 2, 5, "unknown NIC role 'dmz'"),
        ("appliance web\nservice web {\n    backend b 10.0.3.2:1\n}\n", 2, 9, "service 'web' needs a 'port'"),
        ("appliance web\nservice web {\n    port 80\n}\n", 2, 9, "service 'web' has no 'backend'"),
        ("appliance web\nservice web {\n    port 80\n    backend b 10.0.3.2:1 extra\n}\n", 4, 26, "unknown backend setting 'extra'"),
        ("service web {\n    port 80\n    backend b 10.0.3.2:1\n}\n", 1, 1, "missing 'appliance NAME'"),
        ("appliance 9lives\nservice web {\n    port 80\n    backend b 10.0.3.2:1\n}\n", 1, 11, "'9lives' is not a name"),
        ("appliance web\nlistener x\n", 2, 1, "expected 'appliance', 'nic', 'service', 'firewall' or 'admin', found 'listener'"),
        ("appliance web\nadmin {\n    telemetry-port 7\n}\nservice web {\n    port 80\n    backend b 10.0.3.2:1\n}\n", 3, 20,
         "port 7 is the admin NIC's echo service"),
        ("appliance web\nadmin {\n    token short\n}\nservice web {\n    port 80\n    backend b 10.0.3.2:1\n}\n", 3, 11,
         "the admin token needs at least 16 printable characters"),
        ("appliance web\nadmin {\n    password x\n}\nservice web {\n    port 80\n    backend b 10.0.3.2:1\n}\n", 3, 5,
         "unknown admin setting 'password'"),
        ("appliance web\nfirewall missing.rules\nservice web {\n    port 80\n    backend b 10.0.3.2:1\n}\n", 2, 10,
         "cannot read the rule file 'missing.rules'"),
        ("appliance web\nfirewall\nservice web {\n    port 80\n    backend b 10.0.3.2:1\n}\n", 2, 10, "expected the path of a rule file"),
        ("appliance web\nservice web {\n    port 80\n    timeout idle 5s\n    backend b 10.0.3.2:1\n}\n", 4, 13, "unknown flow state 'idle'"),
        ("appliance web\nservice web {\n    port 80\n    backend b 10.0.3.2:1\n", 2, 13, "this '{' is never closed"),
        ("appliance \"web\nservice x {\n}\n", 1, 11, "unterminated string"),
        // Semantic checks point at the token to change.
        ("appliance web\nservice web {\n    port 80\n    health-check interval 2s timeout 3s\n    backend b 10.0.3.2:1\n}\n", 4, 30,
         "service 'web': the health-check timeout 3s must be shorter than its interval 2s"),
        ("appliance web\nservice web {\n    port 80\n    health-check interval 500ms\n    backend b 10.0.3.2:1\n}\n", 4, 18,
         "service 'web': the health-check timeout 1s (the default) must be shorter than its interval 500ms"),
        ("appliance web\nservice web {\n    port 80\n    health-check timeout 2s\n    health-check interval 1s\n    backend b 10.0.3.2:1\n}\n", 4, 18,
         "service 'web': the health-check timeout 2s must be shorter than its interval 1s"),
        ("appliance w\nservice a {\n port 80\n backend b 10.0.3.2:1\n}\nservice b {\n port 80\n backend b 10.0.3.2:1\n}\n", 7, 7,
         "services 'a' and 'b' both use port 80"),
        ("appliance web\nnic public address 10.0.2.15/24 gateway 10.0.9.1\nservice web {\n    port 80\n    backend b 10.0.3.2:1\n}\n", 2, 41,
         "the public gateway is outside its network 10.0.2.0/24"),
        ("appliance web\nfirewall /\nservice web {\n    port 80\n    backend b 10.0.3.2:1\n}\n", 2, 10,
         "cannot read the rule file '/': it is a directory (looked for /)"),
        ("appliance web\nfirewall missing.rules\nservice web {\n    port 80\n    backend b 10.0.3.2:1\n}\n", 2, 10,
         "cannot read the rule file 'missing.rules': no such file"),
        // "Did you mean" wherever a fixed word is expected.
        ("appliance web\nservice web {\n    port 80\n    algorithm least-connection\n    backend b 10.0.3.2:1\n}\n", 4, 15,
         "unknown algorithm 'least-connection'; did you mean 'least-connections'?"),
        ("appliance web\nnic publc address 10.0.2.15/24\nservice web {\n    port 80\n    backend b 10.0.3.2:1\n}\n", 2, 5,
         "unknown NIC role 'publc'; did you mean 'public'?"),
        ("appliance web\nservce web {\n", 2, 1,
         "expected 'appliance', 'nic', 'service', 'firewall' or 'admin', found 'servce'; did you mean 'service'?"),
        ("appliance web\nservice web {\n    prot 80\n    backend b 10.0.3.2:1\n}\n", 3, 5, "unknown service setting 'prot'; did you mean 'port'?"),
        ("appliance web\nservice web {\n    port 80\n    health-check intervall 1s\n    backend b 10.0.3.2:1\n}\n", 4, 18,
         "unknown health-check setting 'intervall'; did you mean 'interval'?"),
        ("appliance web\nservice web {\n    port 80\n    timeout establshed 5s\n    backend b 10.0.3.2:1\n}\n", 4, 13,
         "unknown flow state 'establshed'; did you mean 'established'?"),
        ("appliance web\nservice web {\n    port 80\n    backend b 10.0.3.2:1 wieght 2\n}\n", 4, 26,
         "unknown backend setting 'wieght'; did you mean 'weight'?"),
        ("appliance web\nnic public adress 10.0.2.15/24\nservice web {\n    port 80\n    backend b 10.0.3.2:1\n}\n", 2, 12,
         "unknown NIC setting 'adress'; did you mean 'address'?"),
        ("appliance web\nadmin {\n    tokn \"0123456789abcdef\"\n}\nservice web {\n    port 80\n    backend b 10.0.3.2:1\n}\n", 3, 5,
         "unknown admin setting 'tokn'; did you mean 'token'?"),
    ])
    func reportsEachProblemWhereItIs(text: String, line: Int, column: Int, message: String) {
        #expect { try ApplianceParser.parse(file: "Samples/x/appliance.conf", text: text) } throws: { error in
            guard let errors = error as? ConfigErrors, let first = errors.diagnostics.first(where: { $0.message.contains(message) }) else {
                return false
            }
            let rendered = first.description
            return first.location.line == line && first.location.column == column
                && rendered.hasPrefix("Samples/x/appliance.conf:\(line):\(column): error: \(message)")
                && rendered.hasSuffix(String(repeating: " ", count: column - 1) + "^")
        }
    }

    @Test func reportsEveryProblemNotJustTheFirst() {
        let text = "appliance web\nservice web {\n    port 0\n    algorithm nope\n    backend b 1.2.3.4:5\n}\n"
        #expect { try ApplianceParser.parse(file: "f", text: text) } throws: { error in
            (error as? ConfigErrors)?.diagnostics.count == 3
        }
    }

    /// A backend is checked against the private network the file states, wherever it states it.
    @Test func theNICMayComeAfterTheServices() throws {
        let text = "appliance web\nservice web {\n    port 80\n    backend b 10.0.9.2:1\n}\nnic private address 10.0.9.15/24 gateway 10.0.9.2\n"
        #expect(try ApplianceParser.parse(file: "f", text: text).services.first?.backends.first?.address == IPv4Address(10, 0, 9, 2))
    }

    @Test func twoServicesCannotShareAPort() {
        let text = "appliance w\nservice a {\n port 80\n backend b 10.0.3.2:1\n}\nservice b {\n port 80\n backend b 10.0.3.2:1\n}\n"
        #expect { try ApplianceParser.parse(file: "f", text: text) } throws: { error in
            "\(error)".contains("services 'a' and 'b' both use port 80")
        }
    }

    @Test func theGeneratedSourceCarriesTheConfiguration() throws {
        let source = ApplianceCodegen.source(for: try ApplianceParser.parse(file: "a.conf", text: Self.valid))
        #expect(source.contains("static let name: StaticString = \"web\""))
        #expect(source.contains("name: \"web\", port: 80, algorithm: .weightedLeastConnections"))
        #expect(source.contains("BackendConfiguration(name: \"web1\", address: IPv4Address(10, 0, 3, 2), port: 8081, weight: 5, maximumConnections: 10, backup: false),"))
        #expect(source.contains("rise: 3, fall: 4,"))
        #expect(source.contains("established: Interval(nanoseconds: 90000000000)"))
        #expect(ApplianceCodegen.standalone.contains("static let services: [ServiceConfiguration] = [\n    ]"))
    }

    @Test func theBundledSampleIsValid() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Samples/web/appliance.conf").path
        let description = try ApplianceParser.load(path)
        #expect(description.name == "web" && description.services.first?.backends.count == 3)
    }
}
