import Foundation
import KernelCore
import Testing
@testable import SkerryKit

/// The failover settings of a service — retries, connect timeout, slow
/// start, HTTP and passive health, backups — from the file to the kernel's
/// configuration, and every mistake in them reported where it is.
@Suite struct ApplianceFailoverTests {
    /// A service with every failover setting away from its default.
    static let failover = """
        appliance web
        service web {
            port 80
            retries 1
            connect-timeout 250ms
            slow-start 10s
            health-check http HEAD /healthz?full=1 expect 200-299 interval 2s timeout 500ms rise 3 fall 4
            error-limit 5
            on-error fail-check
            timeout syn 5s
            backend web1 10.0.3.2:8081 weight 2
            backend web2 10.0.3.2:8082 backup max-connections 9
        }
        service plain {
            port 81
            backend p1 10.0.3.2:9001
        }
        """

    /// A service with `settings` at line 4 and two backends (or `backends`).
    static func service(_ settings: String, backends: String = "    backend web1 10.0.3.2:8081\n    backend web2 10.0.3.2:8082\n") -> String {
        "appliance web\nservice web {\n    port 80\n\(settings)\(backends)}\n"
    }

    @Test func everySettingIsRead() throws {
        let description = try ApplianceParser.parse(file: "a.conf", text: Self.failover)
        let service = try #require(description.services.first)
        #expect(service.retries == 1 && service.connectTimeout == .milliseconds(250) && service.slowStart == .seconds(10))
        #expect(service.httpCheck == ApplianceDescription.HTTPCheck(method: "HEAD", path: "/healthz?full=1", expectedStatus: 200...299))
        #expect(service.healthInterval == .seconds(2) && service.healthTimeout == .milliseconds(500) && service.rise == 3 && service.fall == 4)
        #expect(service.errorLimit == 5 && service.onError == .failCheck)
        #expect(service.backends.map(\.backup) == [false, true] && service.backends[1].maximumConnections == 9)
    }

    /// What the file leaves out is the kernel's own default.
    @Test func leftOutSettingsTakeTheKernelsDefaults() throws {
        let plain = try #require(try ApplianceParser.parse(file: "a.conf", text: Self.failover).services.last)
        let kernel = ServiceConfiguration(name: "x", port: 1, algorithm: .roundRobin, backends: [])
        #expect(plain.retries == kernel.retries && plain.retries == 2)
        #expect(plain.connectTimeout == kernel.connectTimeout && plain.connectTimeout == .seconds(1))
        #expect(plain.slowStart == kernel.slowStart && plain.slowStart == .zero)
        #expect(plain.errorLimit == kernel.health.errorLimit && plain.errorLimit == 3)
        #expect(plain.onError == kernel.health.onError && plain.onError == .markDown)
        #expect(plain.httpCheck == nil && plain.backends.first?.backup == false)
        let http = try ApplianceParser.parse(file: "a.conf", text: Self.service("    health-check http GET /\n"))
        #expect(http.services.first?.httpCheck?.expectedStatus == 200...399)
        #expect(http.services.first?.httpCheck?.expectedStatus == HTTPHealthCheck().expectedStatus)
    }

    /// file → description → generated Swift: each value is in the source.
    @Test func everyValueReachesTheGeneratedSource() throws {
        let source = ApplianceCodegen.source(for: try ApplianceParser.parse(file: "a.conf", text: Self.failover))
        let expected = [
            #"kind: .http(HTTPHealthCheck(method: "HEAD", path: "/healthz?full=1", expectedStatus: 200...299)),"#,
            "interval: Interval(nanoseconds: 2000000000), timeout: Interval(nanoseconds: 500000000), rise: 3, fall: 4,",
            "errorLimit: 5, onError: .failCheck),",
            "retries: 1, connectTimeout: Interval(nanoseconds: 250000000), slowStart: Interval(nanoseconds: 10000000000)),",
            #"BackendConfiguration(name: "web1", address: IPv4Address(10, 0, 3, 2), port: 8081, weight: 2, maximumConnections: 0, backup: false),"#,
            #"BackendConfiguration(name: "web2", address: IPv4Address(10, 0, 3, 2), port: 8082, weight: 1, maximumConnections: 9, backup: true),"#,
            // The second service, all defaults.
            "kind: .tcp,",
            "errorLimit: 3, onError: .markDown),",
            "retries: 2, connectTimeout: Interval(nanoseconds: 1000000000), slowStart: Interval(nanoseconds: 0)),",
            "syn: Interval(nanoseconds: 5000000000),",
        ]
        for line in expected { #expect(source.contains(line), "\(line)\n\(source)") }
    }

    /// The generated configuration compiles against the portable core, and the
    /// kernel's types hold what the file says (both passive actions, both kinds).
    @Test func theGeneratedConfigurationCompilesAndHoldsTheFile() throws {
        let description = try ApplianceParser.parse(file: "a.conf", text: Self.failover)
        let driver = """
            for service in ApplianceConfiguration.services {
                let health = service.health
                var kind = "tcp"
                if case .http(let http) = health.kind {
                    kind = "http \\(http.method) \\(http.path) \\(http.expectedStatus.lowerBound)-\\(http.expectedStatus.upperBound)"
                }
                print("\\(service.name) \\(service.retries) \\(service.connectTimeout.nanoseconds) \\(service.slowStart.nanoseconds) \\(kind) \\(health.errorLimit) \\(health.onError.name) \\(service.timeouts.syn.nanoseconds)")
                for backend in service.backends { print("\\(service.name)/\\(backend.name) \\(backend.weight) \\(backend.maximumConnections) \\(backend.backup)") }
            }
            """
        var expected: [String] = []
        for service in description.services {
            let kind = service.httpCheck.map { "http \($0.method) \($0.path) \($0.expectedStatus.lowerBound)-\($0.expectedStatus.upperBound)" } ?? "tcp"
            expected.append("\(service.name) \(service.retries) \(service.connectTimeout.nanoseconds) \(service.slowStart.nanoseconds) \(kind) "
                + "\(service.errorLimit) \(service.onError.name) \(service.timeouts.syn.nanoseconds)")
            for backend in service.backends {
                expected.append("\(service.name)/\(backend.name) \(backend.weight) \(backend.maximumConnections) \(backend.backup)")
            }
        }
        #expect(expected.contains("web 1 250000000 10000000000 http HEAD /healthz?full=1 200-299 5 fail-check 5000000000"))
        #expect(expected.contains("plain 2 1000000000 0 tcp 3 mark-down 10000000000"))
        let directory = try TemporaryDirectory(prefix: "skerry-appliance-codegen")
        defer { directory.remove() }
        let build = try ClassifierBatchBuild(layout: try #require(ProjectLayout.find()), toolchain: try Toolchain.locate(),
                                             in: URL(fileURLWithPath: directory.path))
        let program = ClassifierBatchBuild.Program(
            sources: [("ApplianceConfiguration.swift", ApplianceCodegen.source(for: description)), ("main.swift", driver)], trace: "")
        let run = try #require(try build.run([program]).first)
        #expect(run.termination == .exited(0), "\(run.output)")
        #expect(run.output.split(separator: "\n").map(String.init) == expected)
    }

    /// Each mistake at its line and column, with the caret under it and a
    /// suggestion for a misspelled word.
    @Test(arguments: [
        ("    retires 1\n", 4, 5, "unknown service setting 'retires'; did you mean 'retries'?"),
        ("    retries 17\n", 4, 13, "'17' is not a number from 0 to 16"),
        ("    retries -1\n", 4, 13, "'-1' is not a number from 0 to 16"),
        ("    retries 99999999999999999999999999999999\n", 4, 13, "'99999999999999999999999999999999' is not a number from 0 to 16"),
        ("    retries\n", 4, 13, "expected a number"),
        ("    conect-timeout 1s\n", 4, 5, "unknown service setting 'conect-timeout'; did you mean 'connect-timeout'?"),
        ("    connect-timeout 5ms\n", 4, 21, "'5ms' is not a duration from 10ms to 1m, like 500ms or 2s"),
        ("    connect-timeout 61s\n", 4, 21, "'61s' is not a duration from 10ms to 1m, like 500ms or 2s"),
        ("    connect-timeout 0\n", 4, 21, "'0' is not a duration from 10ms to 1m"),
        ("    connect-timeout 18446744073709551ms\n", 4, 21, "'18446744073709551ms' is not a duration from 10ms to 1m"),
        // Numbers whose product with the unit overflows 64 bits are no duration, not a crash.
        ("    health-check interval 18446744073709551ms\n", 4, 27, "'18446744073709551ms' is not a duration like 500ms"),
        ("    timeout syn 307445734561825861m\n", 4, 17, "'307445734561825861m' is not a duration like 500ms"),
        ("    slow-strat 10s\n", 4, 5, "unknown service setting 'slow-strat'; did you mean 'slow-start'?"),
        ("    slow-start 61m\n", 4, 16, "'61m' is not a duration from 0 to 60m"),
        ("    slow-start soon\n", 4, 16, "'soon' is not a duration from 0 to 60m"),
        ("    error-limt 3\n", 4, 5, "unknown service setting 'error-limt'; did you mean 'error-limit'?"),
        ("    error-limit 1001\n", 4, 17, "'1001' is not a number from 0 to 1000"),
        ("    on-eror mark-down\n", 4, 5, "unknown service setting 'on-eror'; did you mean 'on-error'?"),
        ("    on-error mark-dwon\n", 4, 14, "unknown on-error action 'mark-dwon'; did you mean 'mark-down'?"),
        ("    on-error reboot\n", 4, 14, "unknown on-error action 'reboot' (expected mark-down or fail-check)"),
        ("    on-error\n", 4, 14, "expected what a backend's connect failures do (mark-down or fail-check)"),
        ("    health-check htp GET /\n", 4, 18, "unknown health-check setting 'htp'; did you mean 'http'?"),
        ("    health-check http GTE /\n", 4, 23, "unknown HTTP method 'GTE'; did you mean 'GET'?"),
        ("    health-check http POST /\n", 4, 23, "unknown HTTP method 'POST' (expected GET or HEAD)"),
        ("    health-check http\n", 4, 23, "expected an HTTP method (GET or HEAD)"),
        ("    health-check http GET\n", 4, 27, "expected the path to request, like /health"),
        ("    health-check http GET health\n", 4, 27, "'health' is not a path: it starts with '/' and has only printable ASCII, without spaces or quotes"),
        ("    health-check http GET /it's\n", 4, 27, "'/it's' is not a path"),
        ("    health-check http GET \"/a b\"\n", 4, 27, "'/a b' is not a path"),
        ("    health-check http GET /caf\u{e9}\n", 4, 27, "'/caf\u{e9}' is not a path"),
        ("    health-check http GET / expect 600\n", 4, 36, "'600' is not an HTTP status from 100 to 599 or a range of them like 200-399"),
        ("    health-check http GET / expect 99\n", 4, 36, "'99' is not an HTTP status from 100 to 599"),
        ("    health-check http GET / expect 2xx\n", 4, 36, "'2xx' is not an HTTP status from 100 to 599"),
        ("    health-check http GET / expect 200-\n", 4, 36, "'200-' is not an HTTP status from 100 to 599"),
        ("    health-check http GET / expect 200-300-400\n", 4, 36, "'200-300-400' is not an HTTP status from 100 to 599"),
        ("    health-check http GET / expect 299-200\n", 4, 36, "'299-200' is not a status range: 299 is above 200"),
        ("    health-check http GET / expect\n", 4, 36, "expected a status like 200 or a range like 200-399"),
        ("    health-check http GET / expct 200\n", 4, 29, "unknown health-check setting 'expct'; did you mean 'expect'?"),
        ("    health-check expect 200\n", 4, 18, "'expect' is for an HTTP check: health-check http METHOD PATH expect STATUS"),
        ("    health-check tcp interval 1s expect 200\n", 4, 34, "'expect' is for an HTTP check"),
        ("    health-check tcp\n    health-check http GET /\n", 5, 18, "service 'web' has both tcp and http health checks; choose one"),
        ("", 4, 32, "unknown backend setting 'backpu'; did you mean 'backup'?"),
    ])
    func reportsEachProblemWhereItIs(settings: String, line: Int, column: Int, message: String) {
        let text = settings.isEmpty
            ? Self.service("", backends: "    backend web1 10.0.3.2:8081 backpu\n    backend web2 10.0.3.2:8082\n")
            : Self.service(settings)
        #expect { try ApplianceParser.parse(file: "Samples/x/appliance.conf", text: text) } throws: { error in
            guard let errors = error as? ConfigErrors, let first = errors.diagnostics.first(where: { $0.message.contains(message) }) else {
                Issue.record("no '\(message)' in \(error)")
                return false
            }
            let rendered = first.description
            #expect(first.location.line == line && first.location.column == column, "\(rendered)")
            #expect(rendered.hasPrefix("Samples/x/appliance.conf:\(line):\(column): error: \(message)"), "\(rendered)")
            // A value missing at the end of the line has its caret just past the line's last character.
            let caret = min(column - 1, first.sourceLine.count)
            #expect(rendered.hasSuffix("\n    " + String(repeating: " ", count: caret) + "^"), "\(rendered)")
            return true
        }
    }

    /// Durations where the settings' ranges start and end: zero turns slow start off.
    @Test func theRangesEndsAreValid() throws {
        let low = try ApplianceParser.parse(file: "a", text: Self.service("    retries 0\n    connect-timeout 10ms\n    slow-start 0\n    error-limit 0\n"))
        let lowService = try #require(low.services.first)
        #expect(lowService.retries == 0 && lowService.connectTimeout == .milliseconds(10) && lowService.slowStart == .zero && lowService.errorLimit == 0)
        let high = try ApplianceParser.parse(
            file: "a", text: Self.service("    timeout syn 60m\n    connect-timeout 60s\n    slow-start 60m\n    error-limit 1000\n    health-check http GET / expect 599\n",
                                          backends: (1...17).map { "    backend b\($0) 10.0.3.2:\($0)\n" }.joined() + "    retries 16\n"))
        let highService = try #require(high.services.first)
        #expect(highService.retries == 16 && highService.connectTimeout == .seconds(60) && highService.slowStart == .seconds(3600))
        #expect(highService.errorLimit == 1000 && highService.httpCheck?.expectedStatus == 599...599)
        #expect(try ApplianceParser.parse(file: "a", text: Self.service("    slow-start 0s\n")).services.first?.slowStart == .zero)
        #expect(try ApplianceParser.parse(file: "a", text: Self.service("    health-check tcp\n")).services.first?.httpCheck == nil)
        #expect(try ApplianceParser.parse(file: "a", text: Self.service("    health-check http GET /x\n    health-check interval 3s\n"))
            .services.first?.httpCheck?.path == "/x")
    }

    /// The path goes into the request line as written, up to 200 characters; a 10,000-character one is refused without being quoted.
    @Test func theHTTPPathIsBounded() throws {
        let longest = "/" + String(repeating: "a", count: ApplianceParser.longestHTTPPath - 1)
        let accepted = try ApplianceParser.parse(file: "a", text: Self.service("    health-check http GET \(longest)\n"))
        #expect(accepted.services.first?.httpCheck?.path == longest)
        #expect(ApplianceCodegen.source(for: accepted).contains("path: \"\(longest)\""))
        let hostile = "/" + String(repeating: "a", count: 10_000)
        #expect { try ApplianceParser.parse(file: "a", text: Self.service("    health-check http GET \(longest)a\n")) } throws: { error in
            "\(error)".contains("a:4:27: error: the health-check path is longer than 200 characters")
        }
        #expect { try ApplianceParser.parse(file: "a", text: Self.service("    health-check http GET \(hostile)\n")) } throws: { error in
            let text = "\(error)"
            return text.contains("a:4:27: error: the health-check path is longer than 200 characters") && text.count < 600
        }
    }

    /// The tried-backend mask holds 64: the 65th backend is an error, said once however many follow, at linear cost.
    @Test func aServiceHasAtMost64Backends() throws {
        func backends(_ count: Int) -> String {
            (1...count).map { "    backend b\($0) 10.0.\(3 + $0 / 60_000).2:\($0 % 60_000 + 1)\n" }.joined()
        }
        let full = try ApplianceParser.parse(file: "a", text: Self.service("", backends: backends(64)))
        #expect(full.services.first?.backends.count == 64 && ApplianceDescription.maximumBackends == 64)
        #expect { try ApplianceParser.parse(file: "a", text: Self.service("", backends: backends(65))) } throws: { error in
            let diagnostics = (error as? ConfigErrors)?.diagnostics ?? []
            return diagnostics.map(\.description) == ["""
                a:68:5: error: service 'web' has more than 64 backends: the balancer marks the backends a connection has tried in a 64-bit mask
                        backend b65 10.0.3.2:66
                        ^
                """]
        }
        let start = Date()
        let (description, problems) = ApplianceParser.check(file: "a", text: Self.service("", backends: backends(20_000)))
        #expect(problems.map(\.location.line) == [68] && description.services.first?.backends.count == 64)
        #expect(Date().timeIntervalSince(start) < 10, "a pool past the limit is read no further")
    }

    /// Valid settings that cannot do what they say: a warning at the setting to change, and the build goes on.
    @Test(arguments: [
        (ApplianceFailoverTests.service("    retries 3\n"), 4, 13,
         "service 'web': retries 3 is more than its other backends (1); a connection tries each backend at most once"),
        (ApplianceFailoverTests.service("    connect-timeout 10s\n"), 4, 21,
         "service 'web': connect-timeout 10s is not below the syn timeout 10s (the default); a silent backend's flow expires before it is redispatched"),
        (ApplianceFailoverTests.service("    timeout syn 1s\n"), 4, 13,
         "service 'web': connect-timeout 1s is not below the syn timeout 1s; a silent backend's flow expires before it is redispatched"),
        (ApplianceFailoverTests.service("", backends: "    backend web1 10.0.3.2:8081 backup\n    backend web2 10.0.3.2:8082 weight 2 backup\n"), 2, 9,
         "every backend of service 'web' is a backup; without a primary, 'backup' changes nothing"),
    ])
    func warnsAtTheSettingToChange(text: String, line: Int, column: Int, message: String) throws {
        let description = try ApplianceParser.parse(file: "a.conf", text: text)
        #expect(description.services.count == 1)
        let check = try ApplianceCheck.run(file: "a.conf", text: text)
        #expect(check.warnings.count == 1)
        let warning = try #require(check.warnings.first)
        #expect(warning.severity == .warning && warning.message == message)
        #expect(warning.location.line == line && warning.location.column == column)
        #expect(warning.description.hasPrefix("a.conf:\(line):\(column): warning: \(message)\n"))
        #expect(warning.description.hasSuffix("\n    " + String(repeating: " ", count: column - 1) + "^"))
    }

    /// Settings within their bounds warn about nothing.
    @Test func consistentSettingsHaveNoWarnings() throws {
        #expect(try ApplianceCheck.run(file: "a.conf", text: Self.failover).warnings.isEmpty)
        let oneBackup = Self.service("    retries 1\n    connect-timeout 3s\n    timeout syn 7s\n",
                                     backends: "    backend web1 10.0.3.2:8081\n    backend web2 10.0.3.2:8082 backup\n")
        #expect(try ApplianceCheck.run(file: "a.conf", text: oneBackup).warnings.isEmpty)
        // A single backend with the default retries: nothing written, nothing to warn about.
        #expect(try ApplianceCheck.run(file: "a.conf", text: Self.service("", backends: "    backend web1 10.0.3.2:8081\n")).warnings.isEmpty)
    }

    /// A warning beside an error is reported with it, in file order.
    @Test func warningsComeWithErrors() {
        let text = Self.service("    retries 5\n    algorithm nope\n")
        #expect { try ApplianceCheck.run(file: "a.conf", text: text) } throws: { error in
            let diagnostics = (error as? ConfigErrors)?.diagnostics ?? []
            return diagnostics.map { "\($0.location) \($0.severity)" } == ["a.conf:4:13 warning", "a.conf:5:15 error"]
        }
    }
}
