import Foundation
import KernelCore
import Testing
@testable import SkerryKit

@Suite struct FirewallParserTests {
    static let example = """
        # Web appliance: HTTP(S) on the public NIC, SSH from the operators on
        # the admin NIC, everything else inbound dropped.
        set operators { 10.0.1.0/24, 192.168.50.7 }
        set web-ports { 80, 443, 8000-8080 }
        set blocked {
            203.0.113.0/24,     # documentation network
            198.51.100.1-198.51.100.20,
        }

        policy in on public drop
        policy in on admin drop
        policy out on { public, private } accept

        rule drop-blocked: drop in on public from $blocked log
        rule replies: accept in state established,related
        rule web: accept in on public proto tcp to port $web-ports state new limit 100/second burst 200
        rule ssh: accept in on admin proto tcp from $operators to port 22
        rule ping: accept in proto icmp icmp-type { echo-request, destination-unreachable } limit 30/minute
        rule no-telnet: reject in on { admin, private } proto tcp to port 23 log
        rule dns: accept out on private proto { tcp, udp } from !10.0.3.15 to port 53
        rule backends: accept out on private proto tcp to 10.0.3.0/24 port 8000-8099
        rule gre: drop proto 47

        """

    @Test func readsACompleteFile() throws {
        let ruleSet = try FirewallParser.parse(file: "fw.rules", text: Self.example)
        #expect(ruleSet.source == "fw.rules")
        #expect(ruleSet.warnings.isEmpty)
        #expect(ruleSet.policies == [
            FirewallPolicy(.inbound, .public, .drop), FirewallPolicy(.inbound, .admin, .drop),
            FirewallPolicy(.outbound, .public, .accept), FirewallPolicy(.outbound, .private, .accept),
        ])
        #expect(ruleSet.policy(.inbound, .private) == .accept)
        let rules = ruleSet.rules
        try #require(rules.count == 9)
        #expect(rules.map(\.name) == ["drop-blocked", "replies", "web", "ssh", "ping", "no-telnet", "dns", "backends", "gre"])
        #expect(rules.map(\.location.line) == Array(14...22))
        #expect(rules.allSatisfy { $0.location.column == 6 && $0.location.file == "fw.rules" })
        #expect(rules.map(\.action) == [.drop, .accept, .accept, .accept, .accept, .reject, .accept, .accept, .drop])
        #expect(rules.map(\.directions) == [[.inbound], [.inbound], [.inbound], [.inbound], [.inbound], [.inbound], [.outbound], [.outbound], [.inbound, .outbound]])
        #expect(rules.map(\.interfaces) == [[.public], InterfaceRole.allCases, [.public], [.admin], InterfaceRole.allCases, [.admin, .private], [.private], [.private], InterfaceRole.allCases])
        #expect(rules.map(\.log) == [true, false, false, false, false, true, false, false, false])
        #expect(rules.map(\.limit) == [
            nil, nil, FirewallRateLimit(packets: 100, per: .seconds(1), burst: 200), nil,
            FirewallRateLimit(packets: 30, per: .seconds(60), burst: 30), nil, nil, nil, nil,
        ])
        let tcp = ValueSet(values: [6])
        #expect(rules[0].matches == [.source: ValueSet([range("198.51.100.1", "198.51.100.20"), range("203.0.113.0", "203.0.113.255")])])
        #expect(rules[1].matches == [.state: ValueSet(values: [1, 2])])
        #expect(rules[2].matches == [
            .protocolNumber: tcp, .destinationPort: ValueSet([ValueRange(80), ValueRange(443), ValueRange(8000, 8080)]),
            .state: ValueSet(values: [0]),
        ])
        #expect(rules[3].matches == [
            .protocolNumber: tcp, .source: ValueSet([range("10.0.1.0", "10.0.1.255"), ValueRange(address("192.168.50.7"))]),
            .destinationPort: ValueSet(values: [22]),
        ])
        #expect(rules[4].matches == [.protocolNumber: ValueSet(values: [1]), .icmpType: ValueSet(values: [3, 8])])
        #expect(rules[5].matches == [.protocolNumber: tcp, .destinationPort: ValueSet(values: [23])])
        let resolver = address("10.0.3.15")
        #expect(rules[6].matches == [
            .protocolNumber: ValueSet(values: [6, 17]), .source: ValueSet([ValueRange(0, resolver - 1), ValueRange(resolver + 1, .max)]),
            .destinationPort: ValueSet(values: [53]),
        ])
        #expect(rules[7].matches == [
            .protocolNumber: tcp, .destination: ValueSet([range("10.0.3.0", "10.0.3.255")]), .destinationPort: ValueSet([ValueRange(8000, 8099)]),
        ])
        #expect(rules[8].matches == [.protocolNumber: ValueSet(values: [47])])
    }

    @Test func aRuleWithNoClausesMatchesEverythingAndUnstatedPoliciesAccept() throws {
        let ruleSet = try FirewallParser.parse(file: "f", text: "rule all: accept")
        let rule = try #require(ruleSet.rules.first)
        #expect(rule.directions == TrafficDirection.allCases && rule.interfaces == InterfaceRole.allCases)
        #expect(rule.matches.isEmpty && !rule.log && rule.limit == nil)
        #expect(ruleSet.policies.isEmpty && ruleSet.policy(.outbound, .admin) == .accept)
    }

    /// A clause that allows every value leaves its field out, like an absent clause.
    @Test func clausesThatAllowEverythingLeaveTheFieldOut() throws {
        let text = "rule a: accept on any from any port 53 to { any } proto { tcp, udp } state { new, established, related, invalid }"
        let rule = try #require(try FirewallParser.parse(file: "f", text: text).rules.first)
        #expect(rule.interfaces == InterfaceRole.allCases)
        #expect(rule.matches == [.protocolNumber: ValueSet(values: [6, 17]), .sourcePort: ValueSet(values: [53])])
    }

    @Test func setsMayBeNegatedMixedWithLiteralsAndUsedBeforeTheirDefinition() throws {
        let text = """
            rule a: drop in from !{ $lan, 192.168.0.0/16 } to 10.0.0.1-10.0.0.9
            rule b: accept proto udp from port !$high
            set lan { 10.0.0.0/8 }
            set high { 1024-65535 }
            """
        let rules = try FirewallParser.parse(file: "f", text: text).rules
        #expect(rules[0].matches == [
            .source: ValueSet([ValueRange(0, address("10.0.0.0") - 1), ValueRange(address("11.0.0.0"), address("192.168.0.0") - 1), ValueRange(address("192.169.0.0"), .max)]),
            .destination: ValueSet([range("10.0.0.1", "10.0.0.9")]),
        ])
        #expect(rules[1].matches == [.protocolNumber: ValueSet(values: [17]), .sourcePort: ValueSet([ValueRange(0, 1023)])])
    }

    @Test func listsSpanLinesAndLineEndsMayBeCRLF() throws {
        let text = "set ports {\r\n  22,  # ssh\r\n\r\n  80,\r\n}\r\nrule a: accept proto {\r\n tcp }\r\n to port $ports log\r\n"
        // The statement ends at the line end after the list, so 'to port' is a new, bad statement.
        #expect(throws: ConfigErrors.self) { try FirewallParser.parse(file: "f", text: text) }
        let fixed = text.replacingOccurrences(of: " tcp }\r\n to", with: " tcp } to")
        let rule = try #require(try FirewallParser.parse(file: "f", text: fixed).rules.first)
        #expect(rule.matches == [.protocolNumber: ValueSet(values: [6]), .destinationPort: ValueSet(values: [22, 80])] && rule.log)
    }

    @Test func statesAndRatesTakeEveryForm() throws {
        let text = """
            rule a: accept state { invalid } limit 5/hour burst 1
            rule b: accept state new,related limit 1/second
            """
        let rules = try FirewallParser.parse(file: "f", text: text).rules
        #expect(rules[0].matches == [.state: ValueSet(values: [3])] && rules[0].limit == FirewallRateLimit(packets: 5, per: .seconds(3600), burst: 1))
        #expect(rules[1].matches == [.state: ValueSet(values: [0, 2])] && rules[1].limit == FirewallRateLimit(packets: 1, per: .seconds(1), burst: 1))
    }

    // MARK: Errors

    /// Each mistake is one diagnostic, at the offending token, with a caret under it.
    @Test(arguments: [
        ("allow all\n", 1, 1, "expected 'set', 'policy' or 'rule', found 'allow'"),
        ("set s { 10.0.0.1 }\n}\nrule a: accept from $s\n", 2, 1, "expected 'set', 'policy' or 'rule', found '}'"),
        ("rule: accept\n", 1, 5, "expected a rule name after 'rule', found ':'"),
        ("rule a: accept proto $p\nset p { 6 }\n", 1, 22, "a protocol cannot be a set ('$p')"),
        ("rule a accept\n", 1, 8, "expected ':' after the rule name, found 'accept'"),
        ("rule a: allow\n", 1, 9, "expected an action (accept, drop or reject), found 'allow'"),
        ("rule a:\n", 1, 8, "expected an action (accept, drop or reject), found the end of the line"),
        ("rule a: accept proto tcp dport 22\n", 1, 26, "unknown clause 'dport' (expected in, out, on, proto, from, to, icmp-type, state, limit or log)"),
        ("rule a: accept proto tcp port 22\n", 1, 26, "'port' must follow 'from' or 'to', as in 'to port 22'"),
        ("rule a: accept log :\n", 1, 20, "expected in, out, on, proto, from, to, icmp-type, state, limit or log, found ':'"),
        ("rule 9a: accept\n", 1, 6, "'9a' is not a name (letters, digits, '-' and '_', starting with a letter, at most 48)"),
        ("rule aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: accept\n", 1, 6, "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' is not a name (letters, digits, '-' and '_', starting with a letter, at most 48)"),
        ("rule a: accept @\n", 1, 16, "unexpected character '@'"),
        ("rule a: accept from $\n", 1, 21, "expected a set name after '$'"),
        ("policy both on public drop\n", 1, 8, "expected 'in' or 'out' after 'policy', found 'both'"),
        ("policy in public drop\n", 1, 11, "expected 'on' after 'policy in', found 'public'"),
        ("policy in on public drop now\n", 1, 26, "unexpected 'now' at the end of the statement"),
        ("set admins { 10.0.1.0/24 }\nrule a: accept from $admin\n", 2, 21, "unknown set '$admin'; did you mean '$admins'?"),
        ("rule a: accept from { 10.0.0.1, $nothing }\n", 1, 33, "unknown set '$nothing'"),
        ("set web { 80, 443 }\nrule a: accept proto tcp from $web\n", 2, 31, "'$web' is a set of ports, not addresses"),
        ("set lan { 10.0.0.0/8 }\nrule a: accept proto tcp to port $lan\n", 2, 34, "'$lan' is a set of addresses, not ports"),
        ("set s { $t }\n", 1, 9, "a set cannot contain another set; list the elements of '$t' instead"),
        ("set s { ssh }\n", 1, 9, "'ssh' is not an address or a port"),
        ("rule a: accept from 10.0.0.256\n", 1, 21, "'10.0.0.256' is not an IPv4 address: 256 is more than 255"),
        ("rule a: accept from 10.0.0\n", 1, 21, "'10.0.0' is not an IPv4 address (like 10.0.1.2)"),
        ("rule a: accept from 10.0.x.1\n", 1, 21, "'10.0.x.1' is not an IPv4 address (like 10.0.1.2)"),
        ("rule a: accept to 10.0.0.0/33\n", 1, 19, "prefix /33 is more than 32"),
        ("rule a: accept to 10.0.0.0/x\n", 1, 19, "'10.0.0.0/x' has no prefix length after '/' (like 10.0.0.0/8)"),
        ("rule a: accept to 10.0.0.1/24\n", 1, 19, "10.0.0.1/24 has host bits set; the network is 10.0.0.0/24"),
        ("rule a: accept from 10.0.0.9-10.0.0.1\n", 1, 21, "range 10.0.0.9-10.0.0.1 is empty: 10.0.0.9 is greater than 10.0.0.1"),
        ("rule a: accept proto tcp to port 2000-1000\n", 1, 34, "range 2000-1000 is empty: 2000 is greater than 1000"),
        ("rule a: accept proto tcp to port 70000\n", 1, 34, "port 70000 is more than 65535"),
        ("rule a: accept proto udp from port http\n", 1, 36, "'http' is not a port (a number 0-65535)"),
        ("rule a: accept proto 300\n", 1, 22, "protocol 300 is more than 255"),
        ("rule a: accept proto gre\n", 1, 22, "unknown protocol 'gre' (expected tcp, udp, icmp or a number 0-255)"),
        ("rule a: accept proto tpc\n", 1, 22, "unknown protocol 'tpc'; did you mean 'tcp'? (or a number 0-255)"),
        ("rule a: accept proto icmp icmp-type echo-requset\n", 1, 37, "unknown ICMP type 'echo-requset'; did you mean 'echo-request'? (or a number 0-255)"),
        ("rule a: accept on publc\n", 1, 19, "unknown interface 'publc'; did you mean 'public'?"),
        ("rule a: accept state establised\n", 1, 22, "unknown state 'establised'; did you mean 'established'?"),
        ("rule a: acept\n", 1, 9, "expected an action (accept, drop or reject), found 'acept'; did you mean 'accept'?"),
        ("rule a: accept form 10.0.0.1\n", 1, 16, "unknown clause 'form'; did you mean 'from'?"),
        ("rule a: accept limit 5/secnd\n", 1, 24, "unknown unit 'secnd'; did you mean 'second'?"),
        ("rul a: accept\n", 1, 1, "expected 'set', 'policy' or 'rule', found 'rul'; did you mean 'rule'?"),
        ("policy inn on public drop\n", 1, 8, "expected 'in' or 'out' after 'policy', found 'inn'; did you mean 'in'?"),
        ("rule a: accept proto icmp icmp-type 256\n", 1, 37, "ICMP type 256 is more than 255"),
        ("rule a: accept proto icmp icmp-type ping\n", 1, 37, "unknown ICMP type 'ping' (expected echo-reply, destination-unreachable, source-quench, redirect, echo-request, router-advertisement, router-solicitation, time-exceeded, parameter-problem, timestamp-request, timestamp-reply or a number 0-255)"),
        ("rule a: accept to port 80\n", 1, 19, "'port' needs 'proto tcp', 'proto udp' or 'proto { tcp, udp }'"),
        ("rule a: accept proto { tcp, icmp } from port 1024-65535 to port 80\n", 1, 41, "'port' needs 'proto tcp', 'proto udp' or 'proto { tcp, udp }'"),
        ("rule a: accept icmp-type echo-request\n", 1, 16, "'icmp-type' needs 'proto icmp'"),
        ("rule a: accept icmp-type 8 proto { icmp, udp }\n", 1, 16, "'icmp-type' needs 'proto icmp'"),
        ("rule a: accept\nrule a: drop\n", 2, 6, "rule 'a' is already defined on line 1"),
        ("set s { 80 }\nset s { 443 }\nrule a: accept proto tcp to port $s\n", 2, 5, "set 's' is already defined on line 1"),
        ("policy in on public drop\npolicy in on public accept\n", 2, 14, "the policy for 'in' on public is already set on line 1"),
        ("policy out on admin drop\npolicy out on any accept\n", 2, 15, "the policy for 'out' on admin is already set on line 1"),
        ("rule a: accept proto tcp proto udp\n", 1, 26, "'proto' is given twice"),
        ("rule a: accept in out\n", 1, 19, "the direction is given twice; leave out 'in' and 'out' to match both directions"),
        ("set mixed { 10.0.0.1, 22 }\nrule a: accept to $mixed\n", 1, 23, "set 'mixed' mixes addresses and ports: '22' is a port, the elements before it are addresses"),
        ("set empty { }\n", 1, 11, "set 'empty' is empty"),
        ("set s\n", 1, 6, "expected '{' after the set name, found the end of the line"),
        ("rule a: accept proto {\n}\n", 1, 22, "this list is empty, so nothing can match it"),
        ("rule a: accept from !any\n", 1, 21, "'!' leaves no address to match, so the rule can never match"),
        ("rule a: accept proto udp to port !{ 0-1023, 1024-65535 }\n", 1, 34, "'!' leaves no port to match, so the rule can never match"),
        ("rule a: accept limit 0/second\n", 1, 22, "the limit must be from 1 to 1000000 packets, not 0"),
        ("rule a: accept limit 5/day\n", 1, 24, "unknown unit 'day' (expected second, minute or hour)"),
        ("rule a: accept limit fast\n", 1, 22, "'fast' is not a rate like 10/second"),
        ("rule a: accept limit 5/second burst 0\n", 1, 37, "the burst must be from 1 to 1000000 packets, not '0'"),
        ("rule a: accept limit 5/second burst\n", 1, 36, "expected a burst after 'burst', found the end of the line"),
        ("policy in\n", 1, 10, "expected 'on' after 'policy in', found the end of the line"),
        ("policy\n", 1, 7, "expected 'in' or 'out' after 'policy', found the end of the line"),
        ("rule a: accept limit\n", 1, 21, "expected a rate like 10/second after 'limit', found the end of the line"),
        ("set web { 80,\n  443\nrule a: accept proto tcp to port $web\n", 1, 9, "this '{' is never closed"),
        ("rule a: accept proto tcp to port { 80, 443\n", 1, 34, "this '{' is never closed"),
        ("rule a: accept from { 10.0.0.1 10.0.0.2 }\n", 1, 32, "expected ',' or '}' after '10.0.0.1', found '10.0.0.2'"),
        ("rule a: accept from { 10.0.0.1, ! }\n", 1, 33, "expected an address or '}', found '!'"),
        ("rule a: accept from\n", 1, 20, "expected an address or '{', found the end of the line"),
        ("rule a: accept on dmz\n", 1, 19, "unknown interface 'dmz' (expected admin, public, private or any)"),
        ("rule a: accept state syn\n", 1, 22, "unknown state 'syn' (expected new, established, related or invalid)"),
        ("rule a: accept state new,\n", 1, 26, "expected a connection state after ',', found the end of the line")
    ])
    func reportsEachErrorWhereItIs(text: String, line: Int, column: Int, message: String) {
        let found = diagnostics(text)
        #expect(found.count == 1, "\(found)")
        let diagnostic = found.first
        #expect(diagnostic?.message == message)
        #expect(diagnostic?.location.line == line && diagnostic?.location.column == column, "\(found)")
        #expect(diagnostic?.severity == .error)
        let rendered = diagnostic?.description ?? ""
        #expect(rendered.hasPrefix("fw.rules:\(line):\(column): error: \(message)\n"))
        #expect(rendered.hasSuffix("\n    " + String(repeating: " ", count: column - 1) + "^"))
    }

    @Test func rendersTheLineAndACaret() {
        let rendered = diagnostics("rule a: accept\nrule b: accept from $nothing\n").first?.description
        #expect(rendered == "fw.rules:2:21: error: unknown set '$nothing'\n    rule b: accept from $nothing\n                        ^")
    }

    /// Every problem is reported, in file order, and reading resumes at the next statement.
    @Test func reportsEveryErrorInFileOrder() {
        let text = """
            rule a: accept from $missing
            rule b: accept proto tcp to port 99999 from 1.2.3
            set s { 10.0.0.1,
            rule c: accept proto tcp to port $s
            rule d: allow
            policy in on public drop
            policy in on public drop
            rule c: accept to port 80 nonsense after the error
            """
        let found = diagnostics(text)
        #expect(found.map { [$0.location.line, $0.location.column] } == [[1, 21], [2, 34], [2, 45], [3, 7], [5, 9], [7, 14], [8, 6], [8, 27]])
        #expect(found.map(\.message) == [
            "unknown set '$missing'", "port 99999 is more than 65535", "'1.2.3' is not an IPv4 address (like 10.0.1.2)",
            "this '{' is never closed", "expected an action (accept, drop or reject), found 'allow'",
            "the policy for 'in' on public is already set on line 6", "rule 'c' is already defined on line 4",
            "unknown clause 'nonsense' (expected in, out, on, proto, from, to, icmp-type, state, limit or log)",
        ])
    }

    /// A statement cut short at its line end leaves the next line to be read on its own.
    @Test(arguments: ["policy", "policy in", "policy in on", "policy in on public", "rule", "rule a", "rule a:",
                      "rule a: accept limit", "rule a: accept limit 1/second burst", "rule a: accept from", "set s", "set s {"])
    func aStatementCutShortDoesNotSwallowTheNextLine(statement: String) {
        let found = diagnostics(statement + "\nrule b: accept to port 1\n")
        #expect(found.count == 2, "\(found)")
        #expect(found.last?.message == "'port' needs 'proto tcp', 'proto udp' or 'proto { tcp, udp }'")
    }

    @Test func loadReadsAFileOrSaysWhyItCannot() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("skerry-\(UUID().uuidString).rules").path
        try "rule a: drop\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try FirewallParser.load(path).rules.map(\.name) == ["a"])
        #expect(try FirewallParser.load(path).source == path)
        #expect { try FirewallParser.load(path + ".missing") } throws: { error in
            (error as? ConfigErrors)?.diagnostics.map(\.description) == ["\(path).missing:1:1: error: cannot read the file: no such file"]
        }
        #expect { try FirewallParser.load(FileManager.default.temporaryDirectory.path) } throws: { error in
            (error as? ConfigErrors)?.diagnostics.map(\.message) == ["cannot read the file: it is a directory"]
        }
    }

    // MARK: Warnings

    /// An error does not hide the warnings of the rest of the file; both come in file order.
    @Test func warningsShowBesideErrors() {
        let text = """
            rule web: accept in proto tcp
            rule http: accept in on public proto tcp to port 80
            rule bad: accept on publc
            policy out on private reject
            """
        #expect { try FirewallParser.parse(file: "fw.rules", text: text) } throws: { error in
            let diagnostics = (error as? ConfigErrors)?.diagnostics ?? []
            return diagnostics.map { "\($0.location.line):\($0.location.column) \($0.severity)" } == ["2:6 warning", "3:21 error", "4:23 warning"]
                && diagnostics[0].message.hasPrefix("rule 'http' can never match: rule 'web' (line 1)")
                && "\(error)".contains("fw.rules:3:21: error: unknown interface 'publc'; did you mean 'public'?\n    rule bad: accept on publc\n                        ^")
        }
    }

    /// Beside errors, a rule with a mistake is no evidence that another can never match (it lost a
    /// condition), and a set whose reference is misspelt or cut short is not called unused.
    @Test(arguments: [
        "rule web: accept in proto tcp to port 8o\nrule http: accept in on public proto tcp to port 80\n",
        "set ports { 80 }\nrule web: accept in proto tcp to port $port\n",
        "set ports { 80 }\nrule web: accept in proto tcp to port $ports limit\n",
    ])
    func aMistakeMakesNoFalseWarning(text: String) {
        #expect { try FirewallParser.parse(file: "fw.rules", text: text) } throws: { error in
            let diagnostics = (error as? ConfigErrors)?.diagnostics ?? []
            return !diagnostics.isEmpty && diagnostics.allSatisfy { $0.severity == .error }
        }
    }

    @Test func warnsOfARuleAnEarlierRuleShadows() throws {
        let text = "rule web: accept in proto tcp\nrule http: accept in on public proto tcp to port 80 log\n"
        let warnings = try FirewallParser.parse(file: "fw.rules", text: text).warnings
        #expect(warnings.count == 1)
        #expect(warnings.first?.severity == .warning)
        #expect(warnings.first?.description == """
            fw.rules:2:6: warning: rule 'http' can never match: rule 'web' (line 1) matches everything it matches
                rule http: accept in on public proto tcp to port 80 log
                     ^
            """)
    }

    /// Only a single earlier rule counts: two that together cover a later one are not reported.
    @Test func shadowingIsByASingleRule() throws {
        let text = "rule t: accept proto tcp\nrule u: accept proto udp\nrule both: drop proto { tcp, udp }\nrule other: drop in proto 1\n"
        #expect(try FirewallParser.parse(file: "f", text: text).warnings.isEmpty)
        let everything = try FirewallParser.parse(file: "f", text: "rule all: accept\nrule a: drop in\nrule b: drop proto 1\n")
        #expect(everything.warnings.map(\.message) == [
            "rule 'a' can never match: rule 'all' (line 1) matches everything it matches",
            "rule 'b' can never match: rule 'all' (line 1) matches everything it matches",
        ])
    }

    @Test func warnsOfASetNeverUsed() throws {
        let warnings = try FirewallParser.parse(file: "f", text: "set lan { 10.0.0.0/8 }\nset spare { 22 }\nrule a: accept from $lan\n").warnings
        #expect(warnings.map(\.message) == ["set 'spare' is never used"])
        #expect(warnings.map { [$0.location.line, $0.location.column] } == [[2, 5]])
    }

    @Test func warnsThatRejectActsAsDropOutbound() throws {
        let text = "policy out on admin reject\nrule a: reject out proto tcp\nrule b: reject proto udp\nrule c: reject in proto icmp\n"
        let warnings = try FirewallParser.parse(file: "f", text: text).warnings
        #expect(warnings.map(\.message) == Array(repeating: "reject on outbound traffic acts as drop", count: 2))
        #expect(warnings.map { [$0.location.line, $0.location.column] } == [[1, 21], [2, 9]])
    }

    @Test func errorsKeepTheirRendering() {
        let diagnostic = ConfigDiagnostic(location: ConfigLocation(file: "a", line: 1, column: 3), message: "m", sourceLine: "x y")
        #expect(diagnostic.severity == .error)
        #expect(diagnostic.description == "a:1:3: error: m\n    x y\n      ^")
    }

    // MARK: Garbage

    /// Random bytes, random sequences of the language's own words, and every
    /// prefix of a valid file: parsing returns or throws well-formed diagnostics.
    @Test func garbageNeverCrashes() {
        var random = SplitMix(seed: 0x5EED)
        for _ in 0..<400 {
            let bytes = (0..<random.next(below: 160)).map { _ in UInt8(truncatingIfNeeded: random.next(below: 256)) }
            checkSurvives(String(decoding: bytes, as: UTF8.self))
        }
        let words = [
            "rule", "set", "policy", "a", "b:", ":", "accept", "drop", "reject", "in", "out", "on", "any", "public", "{", "}",
            ",", "!", "$a", "$", "proto", "tcp", "udp", "icmp", "from", "to", "port", "22", "1-2", "10.0.0.1", "10.0.0.0/8",
            "1.2.3.4-1.2.3.3", "0.0.0.0/0", "99999999999", "icmp-type", "echo-request", "state", "new,established", "limit",
            "5/second", "0/hour", "burst", "3", "log", "\n", "\n", "#", "@",
        ]
        for _ in 0..<2000 {
            checkSurvives((0..<random.next(below: 40)).map { _ in words[random.next(below: words.count)] }.joined(separator: " "))
        }
        for end in Self.example.indices {
            checkSurvives(String(Self.example[..<end]))
        }
    }

    private func checkSurvives(_ text: String) {
        do {
            _ = try FirewallParser.parse(file: "g", text: text)
        } catch {
            let positions = error.diagnostics.map { [$0.location.line, $0.location.column] }
            #expect(!positions.isEmpty && positions.allSatisfy { $0[0] >= 1 && $0[1] >= 1 })
            #expect(positions == positions.sorted { ($0[0], $0[1]) < ($1[0], $1[1]) })
        }
    }

    // MARK: Helpers

    /// The errors `text` has (warnings beside them left out).
    private func diagnostics(_ text: String) -> [ConfigDiagnostic] {
        do {
            _ = try FirewallParser.parse(file: "fw.rules", text: text)
            return []
        } catch {
            return error.errors
        }
    }
}

private func address(_ text: String) -> UInt32 {
    IPv4Address(text: Array(text.utf8))!.value
}

private func range(_ lower: String, _ upper: String) -> ValueRange {
    ValueRange(address(lower), address(upper))
}

/// A small deterministic generator, so a failing input can be reproduced.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next(below bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((value ^ (value >> 31)) % UInt64(max(bound, 1)))
    }
}

extension FirewallParserTests {
    /// The example in docs/firewall.md is this suite's example, laid out for reading.
    @Test func theDocumentedExampleIsValid() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/firewall.md").path
        let document = try String(contentsOfFile: path, encoding: .utf8)
        let section = try #require(document.components(separatedBy: "## A complete example").last)
        let example = try #require(section.components(separatedBy: "```").dropFirst().first)
        let documented = try FirewallParser.parse(file: "firewall.md", text: example)
        let tested = try FirewallParser.parse(file: "f", text: Self.example)
        #expect(documented.warnings.isEmpty)
        #expect(documented.policies == tested.policies)
        #expect(documented.rules.map(\.name) == tested.rules.map(\.name))
        #expect(documented.rules.map(\.matches) == tested.rules.map(\.matches))
        #expect(documented.rules.map(\.limit) == tested.rules.map(\.limit))
    }
}
