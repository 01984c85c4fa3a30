import Foundation
import SkerryConsole
import SkerryKit
import Testing

/// The keys, as an operator presses them.
@Suite struct DashboardKeyTests {
    @Test func viewsSwitchWithTabShiftTabAndDigits() {
        let dashboard = Dashboard()
        let input = DashboardFixtures.empty()
        #expect(dashboard.state.view == .overview)
        _ = dashboard.handle(.tab, input)
        #expect(dashboard.state.view == .backends)
        _ = dashboard.handle(.backTab, input)
        _ = dashboard.handle(.backTab, input)
        #expect(dashboard.state.view == .console, "Shift-Tab wraps around")
        _ = dashboard.handle(.character("3"), input)
        #expect(dashboard.state.view == .firewall)
        #expect(dashboard.handle(.character("q"), input) == [.quit])
    }

    @Test func helpOpensAndAnyKeyClosesIt() {
        let dashboard = Dashboard()
        let input = DashboardFixtures.empty()
        _ = dashboard.handle(.character("?"), input)
        #expect(dashboard.state.mode == .help)
        #expect(dashboard.render(input, width: 80, height: 24).lines.contains { $0.contains("drain, enable, disable the backend") })
        _ = dashboard.handle(.character(" "), input)
        #expect(dashboard.state.mode == .normal)
    }

    @Test func drainingAsksFirstAndOnlyYesActs() throws {
        let dashboard = Dashboard()
        let input = DashboardFixtures.normal(dashboard: dashboard)
        _ = dashboard.handle(.character("2"), input)
        _ = dashboard.handle(.down, input)
        let selected = dashboard.backendRows(input)[1]
        #expect(dashboard.handle(.character("d"), input).isEmpty, "d only asks")
        #expect(dashboard.render(input, width: 80, height: 24).lines.contains { $0.contains("Drain \(selected.label)?") })
        #expect(dashboard.handle(.character("n"), input).isEmpty, "no means no")
        #expect(dashboard.state.message == "cancelled")
        _ = dashboard.handle(.character("x"), input)
        let commands = dashboard.handle(.character("y"), input)
        #expect(commands == [.admin(AdminRequest(action: .disable, service: selected.service, backend: selected.name))])
        var readOnly = input
        readOnly.readOnly = true
        #expect(dashboard.handle(.character("e"), readOnly).isEmpty && dashboard.state.mode == .normal)
        #expect(dashboard.state.message?.contains("read-only") == true)
        _ = dashboard.handle(.character("1"), input)
        _ = dashboard.handle(.character("d"), input)
        #expect(dashboard.state.mode == .normal, "actions need a backend selected in the Backends view")
    }

    @Test func sortCyclesAndReverses() {
        let dashboard = Dashboard()
        let input = DashboardFixtures.normal(dashboard: dashboard)
        _ = dashboard.handle(.character("2"), input)
        #expect(dashboard.backendRows(input).map(\.label) == dashboard.backendRows(input).map(\.label).sorted())
        _ = dashboard.handle(.character("s"), input)  // state
        _ = dashboard.handle(.character("s"), input)  // active
        #expect(dashboard.state.backendSort == .active)
        let active = dashboard.backendRows(input).map(\.values.traffic[.activeConnections])
        #expect(active == active.sorted(by: >))
        _ = dashboard.handle(.character("S"), input)
        #expect(dashboard.backendRows(input).map(\.values.traffic[.activeConnections]) == active.reversed())
        _ = dashboard.handle(.character("3"), input)
        let order = dashboard.ruleRows(input).compactMap(\.number)
        #expect(order == Array(0..<40), "rules show in rule order (first match wins) by default")
        #expect(dashboard.state.ruleSort == .order)
        _ = dashboard.handle(.character("s"), input)
        let hits = dashboard.ruleRows(input).filter { !$0.isPolicy }.map(\.packets)
        #expect(hits == hits.sorted(by: >), "then by hits")
        #expect(dashboard.ruleRows(input).suffix(6).allSatisfy { $0.isPolicy }, "the default policies come last")
    }

    @Test func filterNarrowsAndEscapeClears() {
        let dashboard = Dashboard()
        let input = DashboardFixtures.normal(dashboard: dashboard)
        _ = dashboard.handle(.character("2"), input)
        _ = dashboard.handle(.character("/"), input)
        for character in "s1/" { _ = dashboard.handle(.character(character), input) }
        #expect(dashboard.render(input, width: 80, height: 24).lines.last?.contains("filter: s1/_") == true)
        _ = dashboard.handle(.enter, input)
        #expect(dashboard.backendRows(input).allSatisfy { $0.service == "s1" } && dashboard.backendRows(input).count == 3)
        _ = dashboard.handle(.escape, input)
        #expect(dashboard.backendRows(input).count == 6)
    }

    @Test func consoleScrollsSearchesAndSendsLines() {
        let dashboard = Dashboard()
        var input = DashboardFixtures.normal(dashboard: dashboard)
        _ = dashboard.handle(.character("5"), input)
        _ = dashboard.handle(.character("/"), input)
        for character in "line 7" { _ = dashboard.handle(.character(character), input) }
        _ = dashboard.handle(.enter, input)
        let frame = dashboard.render(input, width: 80, height: 24).lines
        #expect(frame.contains { $0.contains("console line 7") }, "the search scrolls to the match")
        _ = dashboard.handle(.end, input)
        #expect(dashboard.state.consoleOffset == 0)
        _ = dashboard.handle(.character("i"), input)
        for character in "backends" { _ = dashboard.handle(.character(character), input) }
        #expect(dashboard.handle(.enter, input) == [.console("backends")])
        input.consoleWritable = false
        _ = dashboard.handle(.character("i"), input)
        #expect(dashboard.state.mode == .normal && dashboard.state.message?.contains("no console") == true)
    }

    @Test func restartAsksFirstAndNeedsAVMOfOurOwn() {
        let dashboard = Dashboard()
        var input = DashboardFixtures.empty()
        _ = dashboard.handle(.character("r"), input)
        #expect(dashboard.handle(.character("y"), input) == [.restartVM])
        input.vm?.restartable = false
        _ = dashboard.handle(.character("r"), input)
        #expect(dashboard.state.mode == .normal && dashboard.state.message?.contains("cannot restart") == true)
    }

    @Test func coloursCarryMeaning() {
        let dashboard = Dashboard()
        let input = DashboardFixtures.normal(dashboard: dashboard)
        _ = dashboard.handle(.character("2"), input)
        let screen = dashboard.render(input, width: 120, height: 40)
        let row = screen.lines.firstIndex { $0.contains("DRAIN") }!
        let line = screen.lines[row]
        let column = line.distance(from: line.startIndex, to: line.range(of: "DRAIN")!.lowerBound)
        #expect(screen[column, row].style.role == .draining)
        let up = line.distance(from: line.startIndex, to: line.range(of: " UP ")!.lowerBound) + 1
        #expect(screen[up, row].style.role == .up)
        let stale = dashboard.render(DashboardFixtures.stale(dashboard: Dashboard()), width: 80, height: 24)
        #expect(stale[1, 2].style.role == .stale && stale.lines[2].hasPrefix(" STALE: data 12s old"))
    }
}
