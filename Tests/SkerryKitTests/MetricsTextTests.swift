import Foundation
import KernelCore
import Testing
@testable import SkerryKit

@Suite struct MetricsTextTests {
    @Test func readsFamiliesSamplesLabelsAndEscapes() throws {
        let metrics = try MetricsText(parsing: """
            # HELP skerry_backend_up 1 if healthy.
            # TYPE skerry_backend_up gauge
            skerry_backend_up{service="web",backend="web1"} 1
            skerry_backend_up{service="web",backend="we\\"b2"} 0
            # TYPE skerry_uptime_seconds gauge
            skerry_uptime_seconds 12.500

            """)
        #expect(metrics.families["skerry_backend_up"] == MetricsText.Family(name: "skerry_backend_up", type: "gauge", help: "1 if healthy."))
        #expect(metrics.value("skerry_backend_up", ["backend": "web1"]) == 1)
        #expect(metrics.value("skerry_backend_up", ["backend": "we\"b2"]) == 0)
        #expect(metrics.value("skerry_uptime_seconds") == 12.5)
        #expect(metrics.samples.count == 3)
    }

    @Test func reportsTheLineItCannotRead() {
        #expect(throws: MetricsText.ParseError.self) { try MetricsText(parsing: "ok 1\nbroken{a=\"x\" 2\n") }
        do {
            _ = try MetricsText(parsing: "ok 1\nno_value{a=\"x\"}\n")
        } catch {
            #expect(error.line == 2 && error.reason == "no numeric value")
        }
    }

    @Test func survivesGarbage() {
        var random = SeededRandom(seed: 5)
        let alphabet = Array("ab_{}=\",\\ 1.5\n#TYPE")
        for _ in 0..<3_000 {
            let text = String((0..<Int.random(in: 0...80, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
            _ = try? MetricsText(parsing: text)
        }
    }
}
