import Foundation
import KernelCore
import SkerryConsole
import SkerryKit
import Testing

/// What a new operator reads off the frames: PgUp and PgDn turn a page of the view on screen, the Console view
/// says what it waits for, the Connections view shows every counter `conns` prints, whole, the Overview marks the
/// ports it leaves out, and the footer follows a restart through to the new VM's ready line.
@Suite struct PagingAndNotesTests {
    static func body(_ screen: Screen) -> ArraySlice<String> { screen.lines[2..<(screen.height - 1)] }

    // MARK: Paging

    /// PgUp scrolls the console by its height less one line: the line at the top before is at the bottom after.
    @Test(arguments: [(80, 24), (120, 40)])
    func pageUpTurnsTheConsoleByAPage(size: (width: Int, height: Int)) {
        let dashboard = Dashboard()
        var input = DashboardFixtures.normal(dashboard: dashboard)
        input.console = (1...200).map { "numbered line \($0)" }
        dashboard.observe(input, height: size.height)
        _ = dashboard.handle(.character("5"), input)
        let before = Self.body(dashboard.render(input, width: size.width, height: size.height))
        let visible = before.count
        #expect(before.last == " numbered line 200")
        _ = dashboard.handle(.pageUp, input)
        #expect(dashboard.state.consoleOffset == visible - 1, "a page is the \(visible) rows shown, less one")
        let after = Self.body(dashboard.render(input, width: size.width, height: size.height))
        let topBefore = before.first.map { String($0.dropFirst()) } ?? "?"
        #expect(after.last?.hasPrefix(" " + topBefore + " ") == true, "the old top line, \(topBefore), ends the new page:\n\(after.joined(separator: "\n"))")
        #expect(after.first == " numbered line \(200 - 2 * visible + 2)")
        _ = dashboard.handle(.pageDown, input)
        #expect(dashboard.state.consoleOffset == 0)
        #expect(Self.body(dashboard.render(input, width: size.width, height: size.height)) == before)
    }

    /// PgDn in a list moves the selection and the rows shown by the rows on screen less one: the last row of one page
    /// tops the next, selected.
    @Test(arguments: [DashboardView.backends, .firewall])
    func pageDownTurnsAListByAPage(view: DashboardView) {
        let dashboard = Dashboard()
        let (model, now) = DashboardFixtures.live(backends: 50, rules: 60, snapshots: 3, dashboard: dashboard)
        let input = DashboardInput(model: model, telemetry: TelemetryStatus(address: "127.0.0.1:9180", connected: true), now: now)
        dashboard.observe(input, height: 24)
        dashboard.state.view = view
        let top = view == .firewall ? 4 : 3
        let first = dashboard.render(input, width: 80, height: 24).lines
        // The list fills the rows from its first to the footer.
        let rows = 23 - top
        #expect(!first[top].isEmpty && !first[22].isEmpty, "\(first.joined(separator: "\n"))")
        _ = dashboard.handle(.pageDown, input)
        #expect(dashboard.state.selection[view] == rows - 1)
        let second = dashboard.render(input, width: 80, height: 24)
        #expect(second.lines[top] == first[top + rows - 1], "the previous page's last row tops the next one")
        #expect(second.annotatedLines[top].contains(":selected"), "and it is selected: \(second.annotatedLines[top])")
        _ = dashboard.handle(.pageDown, input)
        #expect(dashboard.state.selection[view] == 2 * (rows - 1))
        _ = dashboard.handle(.pageUp, input)
        _ = dashboard.handle(.pageUp, input)
        #expect(dashboard.state.selection[view] == 0)
        #expect(dashboard.render(input, width: 80, height: 24).lines == first)
    }

    // MARK: Console note

    @Test func anAttachedConsoleWithNothingYetSaysItIsWaiting() {
        let dashboard = Dashboard()
        dashboard.state.view = .console
        var input = DashboardFixtures.normal(dashboard: dashboard)
        input.console = []
        input.vm = nil
        func text() -> String { dashboard.render(input, width: 80, height: 24).lines.joined(separator: "\n") }
        input.consoleWritable = true
        #expect(text().contains("waiting for console output (i to type a command)"), "\(text())")
        #expect(!text().contains("no serial console"))
        input.consoleWritable = false
        #expect(text().contains("no serial console (attach with --console unix:PATH)"), "\(text())")
        input.vm = DashboardFixtures.vm
        #expect(text().contains("no console output yet"), "\(text())")
    }

    // MARK: Connections

    /// Each counter the serial `conns` prints, conntrack's and the balancer's, shows as a whole `name value` pair.
    @Test(arguments: [(80, 24), (120, 40)])
    func connectionsShowEveryCounterWhole(size: (width: Int, height: Int)) {
        let dashboard = Dashboard()
        let input = DashboardFixtures.normal(dashboard: dashboard)
        dashboard.state.view = .connections
        let lines = dashboard.render(input, width: size.width, height: size.height).lines
        let snapshot = input.model.snapshot!
        var pairs: [String] = []
        snapshot.connectionTable?.counters.forEach { key, value in pairs.append("\(key.name) \(Format.count(value))") }
        snapshot.balancer?.forEach { key, value in pairs.append("\(key.name) \(Format.count(value))") }
        #expect(pairs.count == ConntrackCounter.allCases.count + BalancerCounter.allCases.count)
        for pair in pairs {
            #expect(lines.contains { $0.contains("  \(pair)  ") || $0.hasSuffix("  \(pair)") || $0.contains(" \(pair)  ") }, "\(pair) at \(size)")
        }
        #expect(lines.contains { $0.hasPrefix(" Conntrack   created ") } && lines.contains { $0.hasPrefix(" Balancer    invalid ") })
        #expect(!lines[2..<(lines.count - 1)].contains { $0.contains("…") }, "nothing is cut:\n\(lines.joined(separator: "\n"))")
        #expect(lines.contains { $0.contains("half-open 0 of ") })
        for service in input.model.schema!.services {
            #expect(lines.contains { $0.hasPrefix(" \(service.name) ") }, "every service's row shows: \(service.name) at \(size)")
        }
    }

    // MARK: Ports

    /// More forwards than three lines hold: the last line says how many are left out.
    @Test func overviewMarksThePortsItLeavesOut() {
        let dashboard = Dashboard()
        var input = DashboardFixtures.normal(dashboard: dashboard)
        var ports = [HostPort(kind: .telemetry, role: "admin", transport: "tcp", guestPort: 9100, hostPort: 40001),
                     HostPort(kind: .guest, role: "public", transport: "tcp", guestPort: 80, hostPort: 40002),
                     HostPort(kind: .guest, role: "public", transport: "tcp", guestPort: 81, hostPort: 40003)]
        ports += ["echo", "discard", "chargen"].enumerated().map { index, name in
            HostPort(kind: .testService(name), role: "admin", transport: "tcp", guestPort: UInt16(7 + index), hostPort: UInt16(40004 + index))
        }
        ports += (0..<4).map { HostPort(kind: .guest, role: "public", transport: "udp", guestPort: UInt16(53 + $0), hostPort: UInt16(40010 + $0)) }
        input.vm?.ports = ports
        let lines = dashboard.render(input, width: 80, height: 24).lines
        let shown = lines[3..<6].joined(separator: "  ")
        let listed = ports.filter { shown.contains("127.0.0.1:\($0.hostPort)") }.count
        #expect(lines[5].hasSuffix("… \(ports.count - listed) more"), "the cut is marked with the count left out:\n\(lines[3..<6].joined(separator: "\n"))")
        #expect(listed >= 6 && listed < ports.count)
        #expect(lines[3..<6].allSatisfy { $0.count <= 80 })
        PagingAndNotesTests.snapshot(dashboard.render(input, width: 80, height: 24), "overview-many-ports-80x24")
    }

    @Test func wrapNeverSplitsAnItemAndMarksACut() {
        let items = ["alpha 1", "beta 22", "gamma 333", "delta 4444", "epsilon 5"]
        #expect(Glyphs.unicode.wrap(items, width: 20) == ["alpha 1  beta 22", "gamma 333", "delta 4444", "epsilon 5"])
        #expect(Glyphs.unicode.wrap(items, width: 21) == ["alpha 1  beta 22", "gamma 333  delta 4444", "epsilon 5"])
        #expect(Glyphs.unicode.wrap(items, width: 20, maximumLines: 2) == ["alpha 1  beta 22", "gamma 333  … 2 more"])
        #expect(Glyphs.ascii.wrap(items, width: 18, maximumLines: 1) == ["alpha 1  ~ 4 more"])
        #expect(Glyphs.unicode.wrap(["a-very-long-item-indeed"], width: 10) == ["a-very-lo…"])
    }

    // MARK: Restart

    @Test func theFooterFollowsARestartToTheNewVMsReadyLine() {
        let dashboard = Dashboard()
        var input = DashboardFixtures.normal(dashboard: dashboard)
        let firstStart = DashboardFixtures.epoch
        input.vm?.startedAt = firstStart
        func footer() -> String { dashboard.render(input, width: 80, height: 24).lines.last ?? "" }
        _ = dashboard.handle(.character("r"), input)
        #expect(dashboard.handle(.character("y"), input) == [.restartVM])
        #expect(footer() == " restarting the VM...")
        // The old VM stops, then a new one boots: still restarting.
        input.vm?.state = .exited("clean-shutdown: shutdown")
        dashboard.observe(input, height: 24)
        #expect(footer() == " restarting the VM...")
        input.vm = VMStatus(image: "Samples/web", accelerator: "tcg", state: .booting, startedAt: firstStart.addingTimeInterval(5))
        dashboard.observe(input, height: 24)
        #expect(footer() == " restarting the VM...")
        input.vm?.state = .running
        input.vm?.readyAfter = 0.274
        dashboard.observe(input, height: 24)
        #expect(footer() == " VM restarted; ready after 0.27 s")
        #expect(dashboard.state.pendingRestart == nil)
        _ = dashboard.handle(.character("2"), input)
        #expect(footer().contains("q quit"), "the next key brings the hints back: \(footer())")
    }

    @Test func aRestartedVMThatExitsSaysSo() {
        let dashboard = Dashboard()
        var input = DashboardFixtures.normal(dashboard: dashboard)
        input.vm?.startedAt = DashboardFixtures.epoch
        _ = dashboard.handle(.character("r"), input)
        _ = dashboard.handle(.character("y"), input)
        input.vm = VMStatus(image: "Samples/web", accelerator: "tcg", state: .exited("kernel-panic: PANIC: out of memory"),
                            startedAt: DashboardFixtures.epoch.addingTimeInterval(3))
        dashboard.observe(input, height: 24)
        #expect(dashboard.render(input, width: 80, height: 24).lines.last == " the restarted VM exited: kernel-panic: PANIC: out of memory")
    }

    static func snapshot(_ screen: Screen, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        DashboardSnapshotTests().expectSnapshot(screen, name, sourceLocation: sourceLocation)
    }
}
