import Foundation
@testable import SkerryKit
import Testing

/// Smoke scripts are checked before anything boots, every problem at its file:line:col.
@Suite struct SmokeParserTests {
    static let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Samples/web/smoke/suite.yaml").path

    func diagnostics(_ text: String) -> [String] {
        do {
            _ = try SmokeParser.parse(text, file: Self.sample)
            return []
        } catch {
            guard case .invalid(let list) = error else { return ["\(error)"] }
            return list.map { "\($0.line):\($0.column): \($0.message)" }
        }
    }

    @Test func aGoodSuiteReadsAsWritten() throws {
        let suite = try SmokeParser.parse("""
            suite: sample
            appliance: ..
            nic-model: vmxnet3
            backends: [{name: web1, port: 8081}]
            fail-on: [PANIC]
            steps:
              - expect-console: "skerry: ready"
                timeout: 5
              - {name: ask, send: backends}
              - http: {path: /x, status: 404}
              - wait: rules["block-ssh"].packets >= 1
              - admin: weight web/web1 7
              - stop-backend: web1
              - load: {seconds: 2, rate: 5, failures: 1}
              - shutdown
            """, file: Self.sample)
        #expect(suite.name == "sample" && suite.nicModel == .vmxnet3 && suite.failOn == ["PANIC"])
        #expect(suite.appliance.hasSuffix("Samples/web"))
        #expect(suite.steps.count == 8)
        #expect(suite.steps[0].timeout == 5 && suite.steps[0].line == 7 && suite.steps[1].name == "ask")
        guard case .admin(let action, let service, let backend, let weight) = suite.steps[4].action else { Issue.record("admin"); return }
        #expect(action == .weight && service == "web" && backend == "web1" && weight == 7)
        guard case .shutdown(let outcome) = suite.steps[7].action else { Issue.record("shutdown"); return }
        #expect(outcome == .cleanShutdown)
    }

    /// A load in the background runs beside the next steps; finish-load judges it, and served-by waits for a backend.
    @Test func aBackgroundLoadIsFinishedByItsPort() throws {
        let suite = try SmokeParser.parse("""
            suite: failover
            appliance: ..
            backends: [{name: web2, port: 8082}]
            steps:
              - load: {seconds: 20, rate: 10, background: true}
              - stop-backend: web2
              - finish-load: 80
              - served-by: web2
              - served-by: {backend: web3, port: 8080}
            """, file: Self.sample)
        guard case .load(80, 20, 10, 0, true) = suite.steps[0].action else { Issue.record("\(suite.steps[0].action)"); return }
        #expect(suite.steps[0].timeout == 30, "a background load's own step passes at once")
        guard case .finishLoad(80) = suite.steps[2].action else { Issue.record("\(suite.steps[2].action)"); return }
        #expect(suite.steps[2].timeout == 50, "finish-load waits as long as the load runs, plus slack")
        guard case .servedBy(80, "web2") = suite.steps[3].action, case .servedBy(8080, "web3") = suite.steps[4].action else {
            Issue.record("\(suite.steps[3].action) \(suite.steps[4].action)")
            return
        }
        #expect(suite.steps[3].name == "served-by web2 on 80")

        let found = diagnostics("""
            suite: unbalanced
            appliance: ..
            steps:
              - finish-load: 80
              - load: {seconds: 5, rate: 1, background: yes please}
              - load: {seconds: 5, rate: 1, background: true}
              - load: {seconds: 5, rate: 1, background: true}
              - load: {seconds: 5, rate: 1, port: 81, background: true}
              - served-by: {port: 80}
            """)
        for expected in [
            "4:18: no background load on port 80 to finish", "5:45: background is true or false",
            "7:11: a background load on port 80 is already running", "6:11: the background load on port 80 is never judged",
            "8:11: the background load on port 81 is never judged", "9:16: served-by names a backend",
        ] {
            #expect(found.contains { $0.hasPrefix(expected) }, "missing \(expected) in:\n\(found.joined(separator: "\n"))")
        }
    }

    @Test func everyProblemIsReportedAtItsPosition() {
        let found = diagnostics("""
            suite: broken
            appliance: nowhere
            memroy: 64
            backends: [{name: web1, port: 99999}]
            steps:
              - expect-console: "(unclosed"
              - wait: backends["web/web1"].color == red
              - wait: backends[web1].state == up
              - stop-backend: web9
              - send: status
                http: /
              - admin: drain web
              - shutdown: exploded
              - sleep: soon
              - nothing: 1
            """)
        let expected = [
            "2:12: no appliance or image at",
            "3:1: unknown key memroy in the suite (did you mean memory?)",
            "4:31: port must be a number from 1 to 65535, not 99999",
            "6:21: expect-console is not a valid regular expression",
            "7:11: wait: backends have .state",
            "8:11: wait: the name goes in quotes",
            "9:19: no backend web9",
            "11:5: a step does one thing: send and http are two steps",
            "12:12: drain needs SERVICE/BACKEND",
            "13:15: shutdown expects an outcome",
            "14:12: sleep (seconds) must be a number",
            "15:5: unknown key nothing in a step",
        ]
        for prefix in expected {
            let (position, text) = (prefix.split(separator: " ", maxSplits: 1).map(String.init)[0], String(prefix.split(separator: " ", maxSplits: 1)[1]))
            #expect(found.contains { $0.hasPrefix(position + " " + text) }, "missing \(prefix) in:\n\(found.joined(separator: "\n"))")
        }
        #expect(found.count >= expected.count)
    }

    @Test func yamlErrorsAndMissingPartsArePositioned() {
        #expect(diagnostics("suite: [unclosed\n").first?.hasPrefix("2:1: not YAML") == true, "\(diagnostics("suite: [unclosed\n"))")
        #expect(diagnostics("- a list\n").first?.contains("a smoke script is a mapping") == true)
        let missing = diagnostics("suite: x\n")
        #expect(missing.contains { $0.contains("needs an appliance") } && missing.contains { $0.contains("needs steps") })
    }

    /// A smoke diagnostic shows the script's line and a caret under the column, like the appliance's.
    @Test func diagnosticsShowTheLineAndACaret() {
        #expect { try SmokeParser.parse("suite: x\nappliance: ..\nsteps:\n  - {send: status, timout: 3}\n", file: "s.yaml") } throws: { error in
            "\(error)" == """
                s.yaml:4:20: error: unknown key timout in a step (did you mean timeout?); expected name, timeout, \(SmokeParser.actionKeys.joined(separator: ", "))
                      - {send: status, timout: 3}
                                       ^
                """
        }
    }

    /// Every fixed vocabulary of a script names the near word.
    @Test func didYouMeanForEveryFixedWord() {
        let found = diagnostics("""
            appliance: ..
            nic-model: virtoi
            accel: tgc
            steps:
              - admin: drian web/web1
              - shutdown: clean-shutdwn
            """)
        for expected in ["2:12: nic-model is virtio or vmxnet3, not virtoi (did you mean virtio?)",
                         "3:8: accel is auto, tcg or kvm, not tgc (did you mean tcg?)",
                         "5:12: admin is drain, disable, enable or weight SERVICE/BACKEND [N], or reset-counters (did you mean drain?)",
                         "6:15: shutdown expects an outcome: \(BootOutcome.allCases.map(\.rawValue).joined(separator: ", ")) (did you mean clean-shutdown?)"] {
            #expect(found.contains(expected), "missing \(expected) in:\n\(found.joined(separator: "\n"))")
        }
    }

    @Test func garbageNeverCrashes() {
        var random = SeededRandom(seed: 5)
        let alphabet = Array("suite: appliance steps - {}[]\"'\n\t:wait backends[\"x\"].state == up http port 80 #&*!|>")
        for _ in 0..<500 {
            let text = String((0..<Int(random.next() % 200)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
            _ = diagnostics(text)
        }
    }
}
