import Foundation
import SkerryConsole
import SkerryKit
import Testing

/// The dashboard as a new operator meets it: the console's paging, what the
/// footer and title bar promise at 80×24, attach mode without a token, a VM
/// that has shut down, sorting, filtering and the forwarded ports.
@Suite struct OperatorExperienceTests {
    /// The rows between the tabs and the footer of an 80×24 frame with no banner.
    static func body(_ screen: Screen) -> ArraySlice<String> { screen.lines[2..<(screen.height - 1)] }

    // MARK: Console

    @Test func homeShowsAFullPageFromTheFirstLine() {
        let dashboard = Dashboard()
        let input = DashboardFixtures.normal(dashboard: dashboard)
        dashboard.observe(input, height: 24)
        _ = dashboard.handle(.character("5"), input)
        _ = dashboard.handle(.home, input)
        let body = Self.body(dashboard.render(input, width: 80, height: 24))
        #expect(body.first?.contains("console line 1") == true, "the first line at the top: \(body.first ?? "")")
        #expect(body.allSatisfy { !$0.isEmpty }, "a full page, no blank rows:\n\(body.joined(separator: "\n"))")
        #expect(body.contains { $0.contains("lines below; End returns") })
        _ = dashboard.handle(.up, input)
        #expect(Self.body(dashboard.render(input, width: 80, height: 24)).first?.contains("console line 1") == true, "Up at the top stays")
        _ = dashboard.handle(.down, input)
        #expect(Self.body(dashboard.render(input, width: 80, height: 24)).first?.contains("console line 2") == true, "Down scrolls at once")
    }

    @Test func sendingALineWhileScrolledBackJumpsToTheBottom() {
        let dashboard = Dashboard()
        let input = DashboardFixtures.normal(dashboard: dashboard)
        dashboard.observe(input, height: 24)
        _ = dashboard.handle(.character("5"), input)
        _ = dashboard.handle(.pageUp, input)
        _ = dashboard.handle(.pageUp, input)
        #expect(dashboard.state.consoleOffset == 2 * dashboard.pageRows(input) && dashboard.state.consoleOffset > 0)
        _ = dashboard.handle(.character("i"), input)
        for character in "status" { _ = dashboard.handle(.character(character), input) }
        #expect(dashboard.handle(.enter, input) == [.console("status")])
        #expect(dashboard.state.consoleOffset == 0)
        let body = Self.body(dashboard.render(input, width: 80, height: 24))
        #expect(body.last == " " + input.console.last!, "the newest line, where the reply comes, shows")
    }

    @Test func iInAnotherViewSwitchesToTheConsoleOrSaysWhy() {
        let dashboard = Dashboard()
        var input = DashboardFixtures.normal(dashboard: dashboard)
        _ = dashboard.handle(.character("2"), input)
        _ = dashboard.handle(.character("i"), input)
        #expect(dashboard.state.view == .console && dashboard.state.mode == .consoleInput)
        #expect(dashboard.render(input, width: 80, height: 24).lines.last?.hasPrefix(" kernel> _") == true)
        _ = dashboard.handle(.escape, input)
        input.consoleWritable = false
        _ = dashboard.handle(.character("3"), input)
        _ = dashboard.handle(.character("i"), input)
        #expect(dashboard.state.view == .firewall && dashboard.state.mode == .normal)
        #expect(dashboard.render(input, width: 80, height: 24).lines.last == " no console to type into (attach with --console unix:PATH)")
    }

    // MARK: 80×24

    /// Every footer in every view and mode of access holds whole hints only, each one a key that acts there.
    @Test func theFooterAdvertisesWholeHintsOnly() {
        for access in ["normal", "read-only", "no token", "attached"] {
            for view in DashboardView.allCases {
                for width in [80, 120] {
                    let dashboard = Dashboard()
                    var input = DashboardFixtures.normal(dashboard: dashboard)
                    input.readOnly = access == "read-only"
                    input.hasToken = access != "no token"
                    if access == "attached" {
                        input.vm = nil
                        input.consoleWritable = false
                    }
                    dashboard.state.view = view
                    let footer = dashboard.render(input, width: width, height: width == 80 ? 24 : 40).lines.last ?? ""
                    #expect(!footer.contains("…"), "\(access) \(view.title) at \(width): \(footer)")
                    let offered = KeyBinding.hints(dashboard.state, input).map(\.text)
                    for hint in footer.dropFirst().components(separatedBy: "  ") {
                        #expect(offered.contains(hint), "\(access) \(view.title) at \(width) shows \"\(hint)\", which does not act there")
                    }
                }
            }
        }
        let dashboard = Dashboard()
        let input = DashboardFixtures.normal(dashboard: dashboard)
        dashboard.state.view = .backends
        let footer = dashboard.render(input, width: 80, height: 24).lines.last ?? ""
        for hint in ["q quit", "? help", "/ filter", "d drain", "e enable", "x disable", "r restart"] {
            #expect(footer.contains(hint), "the Backends footer at 80×24 lacks \(hint): \(footer)")
        }
    }

    @Test func theFilterHintIsWholeAt120Columns() {
        for view in [DashboardView.backends, .firewall] {
            let dashboard = Dashboard()
            let input = DashboardFixtures.normal(dashboard: dashboard)
            dashboard.state.view = view
            _ = dashboard.handle(.character("/"), input)
            for character in "s1/b0" { _ = dashboard.handle(.character(character), input) }
            _ = dashboard.handle(.enter, input)
            let footer = dashboard.render(input, width: 120, height: 40).lines.last ?? ""
            #expect(footer.hasSuffix("filter: s1/b0 (Esc clears)"), "\(view.title): \(footer)")
        }
    }

    @Test func theEventLoopLoadFitsAt80Columns() throws {
        let dashboard = Dashboard()
        let input = DashboardFixtures.normal(dashboard: dashboard)
        let lines = dashboard.render(input, width: 80, height: 24).lines
        let loop = try #require(lines.first { $0.hasPrefix(" Event loop") })
        let load = try #require(input.model.rates?.loopLoad)
        #expect(loop.hasSuffix(String(format: " %.1f%% busy", load * 100)), "\(loop)")
        #expect(!lines.contains { $0.contains("…") && $0.contains("Heap") })
    }

    // MARK: Attach mode

    @Test func withoutATokenActionsSaySoBeforeAsking() {
        let dashboard = Dashboard()
        var input = DashboardFixtures.normal(dashboard: dashboard)
        input.vm = nil
        input.hasToken = false
        _ = dashboard.handle(.character("2"), input)
        for key in ["d", "e", "x"] {
            #expect(dashboard.handle(.character(Character(key)), input).isEmpty)
            #expect(dashboard.state.mode == .normal, "\(key) asks nothing")
            #expect(dashboard.state.message == "no admin token: pass --token or set SKERRY_ADMIN_TOKEN", "\(key)")
        }
        _ = dashboard.handle(.down, input)
        let lines = dashboard.render(input, width: 80, height: 24).lines
        #expect(lines[0].contains("<no token>"), "the title bar says so: \(lines[0])")
        for hint in ["d drain", "e enable", "x disable", "r restart"] { #expect(!lines[23].contains(hint), "\(lines[23])") }
        input.hasToken = true
        _ = dashboard.handle(.character("d"), input)
        guard case .confirm = dashboard.state.mode else {
            Issue.record("with a token, d asks")
            return
        }
    }

    @Test func readOnlyShowsInTheTitleBar() {
        let dashboard = Dashboard()
        var input = DashboardFixtures.normal(dashboard: dashboard)
        #expect(!dashboard.render(input, width: 80, height: 24).lines[0].contains("<"))
        input.readOnly = true
        input.hasToken = false
        let title = dashboard.render(input, width: 80, height: 24).lines[0]
        #expect(title.hasSuffix("<read-only>  live 127.0.0.1:9180"), "\(title)")
    }

    // MARK: After the VM shut down

    static func shutDown(_ dashboard: Dashboard) -> DashboardInput {
        var input = DashboardFixtures.stale(dashboard: dashboard)
        input.telemetry.retryAt = nil
        input.telemetry.error = "127.0.0.1:9180 closed the stream"
        input.telemetry.ended = "the VM shut down; the stream ended"
        input.vm?.state = .exited("clean-shutdown: the kernel shut down cleanly")
        input.console += ["skerry: shutdown"]
        return input
    }

    @Test func afterAShutdownNothingPromisesAReconnect() {
        let dashboard = Dashboard()
        let input = Self.shutDown(dashboard)
        let lines = dashboard.render(input, width: 80, height: 24).lines
        #expect(lines[3] == " STALE: data 12s old - the VM shut down; the stream ended", "\(lines[3])")
        #expect(!lines.contains { $0.contains("reconnecting") })
        var live = DashboardFixtures.stale(dashboard: Dashboard())
        live.telemetry.ended = nil
        #expect(dashboard.render(live, width: 80, height: 24).lines[2].contains("reconnecting in 4s"), "a lost stream still reconnects")
    }

    @Test func afterAShutdownNICRatesStopAndLinksShowDown() throws {
        let dashboard = Dashboard()
        let input = Self.shutDown(dashboard)
        let lines = dashboard.render(input, width: 120, height: 40).lines
        for role in ["admin", "public", "private"] {
            let row = try #require(lines.first { $0.hasPrefix(" \(role) ") })
            let cells = row.split(separator: " ")
            #expect(cells[3] == "DOWN" && cells[4] == "-" && cells[5] == "-", "\(row)")
        }
        #expect(lines.contains { $0.hasPrefix(" Event loop") && $0.hasSuffix(" -") })
        let running = DashboardFixtures.normal(dashboard: Dashboard())
        let before = Dashboard().render(running, width: 120, height: 40).lines.first { $0.hasPrefix(" admin ") } ?? ""
        #expect(before.contains(" up ") && before.contains("/s"), "a running VM's NICs are up with rates: \(before)")
    }

    // MARK: Sorting and filtering

    /// The header row's title that carries a sort arrow, with the arrow.
    static func marked(_ line: String) -> [String] {
        line.split(separator: " ").map(String.init).filter { $0.hasSuffix("▲") || $0.hasSuffix("▼") }
    }

    @Test func theSortColumnIsMarkedInEveryHeader() {
        let expected: [BackendSort: [String]] = [.name: ["SERVICE/BACKEND▲"], .state: ["STATE▲", "ADMIN▲"], .active: ["ACT▼"],
                                                 .total: ["TOTAL▼"], .rate: ["NEW/s▼"], .bytes: ["IN▼", "OUT▼"]]
        for (width, height) in [(80, 24), (120, 40)] {
            let dashboard = Dashboard()
            let input = DashboardFixtures.normal(dashboard: dashboard)
            dashboard.state.view = .backends
            for sort in BackendSort.allCases {
                dashboard.state.backendSort = sort
                dashboard.state.reversed[.backends] = false
                #expect(Self.marked(dashboard.render(input, width: width, height: height).lines[2]) == expected[sort], "\(sort) at \(width)")
                dashboard.state.reversed[.backends] = true
                let flipped = expected[sort]!.map { String($0.dropLast()) + ($0.hasSuffix("▲") ? "▼" : "▲") }
                #expect(Self.marked(dashboard.render(input, width: width, height: height).lines[2]) == flipped, "\(sort) reversed at \(width)")
            }
            let rules: [RuleSort: String] = [.order: "#▲", .hits: "PACKETS▼", .name: "RULE▲", .rate: "PKT/s▼", .bytes: "BYTES▼", .lastHit: "HIT▲"]
            dashboard.state.view = .firewall
            for sort in RuleSort.allCases {
                dashboard.state.ruleSort = sort
                #expect(Self.marked(dashboard.render(input, width: width, height: height).lines[3]) == [rules[sort]!], "\(sort) at \(width)")
            }
        }
    }

    @Test func theFirewallListsRulesInRuleOrderFirst() {
        let dashboard = Dashboard()
        let input = DashboardFixtures.normal(dashboard: dashboard)
        _ = dashboard.handle(.character("3"), input)
        let lines = dashboard.render(input, width: 80, height: 24).lines
        #expect(lines[4].hasPrefix("    1 rule-0 ") && lines[5].hasPrefix("    2 rule-1 "), "\(lines[4])\n\(lines[5])")
        #expect(lines[23].contains("s sort:rule order"))
    }

    @Test func theFilterAppliesAsItIsTyped() {
        let dashboard = Dashboard()
        let input = DashboardFixtures.normal(dashboard: dashboard)
        _ = dashboard.handle(.character("2"), input)
        _ = dashboard.handle(.character("/"), input)
        _ = dashboard.handle(.character("s"), input)
        _ = dashboard.handle(.character("1"), input)
        #expect(dashboard.state.mode == .filtering)
        #expect(dashboard.backendRows(input).map(\.label) == ["s1/b01", "s1/b03", "s1/b05"])
        #expect(!dashboard.render(input, width: 80, height: 24).lines.contains { $0.hasPrefix(" s0/") })
        _ = dashboard.handle(.backspace, input)
        #expect(dashboard.backendRows(input).count == 6, "\"s\" matches every backend")
        _ = dashboard.handle(.character("0"), input)
        _ = dashboard.handle(.escape, input)
        #expect(dashboard.backendRows(input).count == 6, "Esc drops the filter")
    }

    // MARK: Ports

    @Test func theOverviewShowsTheForwardedPorts() throws {
        let dashboard = Dashboard()
        var input = DashboardFixtures.normal(dashboard: dashboard)
        input.vm?.ports = [HostPort(kind: .telemetry, role: "admin", transport: "tcp", guestPort: 9100, hostPort: 40001),
                           HostPort(kind: .guest, role: "public", transport: "tcp", guestPort: 80, hostPort: 40002),
                           HostPort(kind: .guest, role: "public", transport: "udp", guestPort: 7, hostPort: 40003)]
        let lines = dashboard.render(input, width: 80, height: 24).lines
        let row = try #require(lines.firstIndex { $0.hasPrefix(" Ports") })
        #expect(lines[row] == " Ports       telemetry 127.0.0.1:40001  s0 127.0.0.1:40002", "whole entries: \(lines[row])")
        #expect(lines[row + 1] == "             public udp 7 127.0.0.1:40003", "the rest on the next line: \(lines[row + 1])")
    }
}
