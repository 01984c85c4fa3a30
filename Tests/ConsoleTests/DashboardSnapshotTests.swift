import Foundation
import SkerryConsole
import SkerryKit
import Testing

/// Frames compared with the files in Snapshots/. A missing file is written
/// (and the test fails, so a new frame is always looked at before it is
/// committed); SKERRY_RECORD_SNAPSHOTS=1 rewrites them all.
@Suite struct DashboardSnapshotTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")

    func expectSnapshot(_ screen: Screen, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let text = screen.lines.joined(separator: "\n") + "\n"
        let file = Self.directory.appendingPathComponent(name + ".txt")
        let record = ProcessInfo.processInfo.environment["SKERRY_RECORD_SNAPSHOTS"] == "1"
        guard !record, let expected = try? String(contentsOf: file, encoding: .utf8) else {
            try? text.write(to: file, atomically: true, encoding: .utf8)
            Issue.record("recorded \(file.lastPathComponent); review it and run again", sourceLocation: sourceLocation)
            return
        }
        if expected != text {
            let diff = zip(expected.split(separator: "\n", omittingEmptySubsequences: false), text.split(separator: "\n", omittingEmptySubsequences: false))
                .enumerated().filter { $0.element.0 != $0.element.1 }.prefix(5)
                .map { "line \($0.offset + 1):\n  expected: \($0.element.0)\n  rendered: \($0.element.1)" }.joined(separator: "\n")
            Issue.record("\(name) differs from its snapshot:\n\(diff)", sourceLocation: sourceLocation)
        }
    }

    static let sizes = [(80, 24), (120, 40)]

    @Test(arguments: DashboardView.allCases)
    func everyViewWithLiveData(view: DashboardView) {
        for (width, height) in Self.sizes {
            let dashboard = Dashboard()
            let input = DashboardFixtures.normal(dashboard: dashboard)
            dashboard.state.view = view
            expectSnapshot(dashboard.render(input, width: width, height: height), "\(view.title.lowercased())-normal-\(width)x\(height)")
        }
    }

    @Test(arguments: DashboardView.allCases)
    func emptyAndStale(view: DashboardView) {
        for (width, height) in Self.sizes {
            let empty = Dashboard()
            empty.state.view = view
            expectSnapshot(empty.render(DashboardFixtures.empty(), width: width, height: height),
                           "\(view.title.lowercased())-empty-\(width)x\(height)")
            let stale = Dashboard()
            let input = DashboardFixtures.stale(dashboard: stale)
            stale.state.view = view
            expectSnapshot(stale.render(input, width: width, height: height), "\(view.title.lowercased())-stale-\(width)x\(height)")
        }
    }

    /// The frames issue-prone paths lead to, at the smallest size: attached without a token, a VM that shut down,
    /// the console's first page, the forwarded ports, and the firewall sorted by hits.
    @Test func operatorFrames() {
        let attached = Dashboard()
        var input = DashboardFixtures.normal(dashboard: attached)
        input.vm = nil
        input.consoleWritable = false
        input.hasToken = false
        attached.state.view = .backends
        expectSnapshot(attached.render(input, width: 80, height: 24), "backends-attached-no-token-80x24")

        let shutDown = Dashboard()
        expectSnapshot(shutDown.render(OperatorExperienceTests.shutDown(shutDown), width: 80, height: 24), "overview-shutdown-80x24")

        let console = Dashboard()
        input = DashboardFixtures.normal(dashboard: console)
        console.observe(input, height: 24)
        _ = console.handle(.character("5"), input)
        _ = console.handle(.home, input)
        expectSnapshot(console.render(input, width: 80, height: 24), "console-home-80x24")

        let ports = Dashboard()
        input = DashboardFixtures.normal(dashboard: ports)
        input.vm?.ports = [HostPort(kind: .telemetry, role: "admin", transport: "tcp", guestPort: 9100, hostPort: 40001),
                           HostPort(kind: .guest, role: "public", transport: "tcp", guestPort: 80, hostPort: 40002),
                           HostPort(kind: .guest, role: "public", transport: "tcp", guestPort: 81, hostPort: 40003)]
        expectSnapshot(ports.render(input, width: 80, height: 24), "overview-ports-80x24")

        let hits = Dashboard()
        input = DashboardFixtures.normal(dashboard: hits)
        _ = hits.handle(.character("3"), input)
        _ = hits.handle(.character("s"), input)
        expectSnapshot(hits.render(input, width: 80, height: 24), "firewall-hits-80x24")
    }

    @Test func tooSmall() {
        let dashboard = Dashboard()
        let input = DashboardFixtures.normal(dashboard: dashboard)
        expectSnapshot(dashboard.render(input, width: 60, height: 20), "too-small-60x20")
        let narrow = dashboard.render(input, width: 79, height: 24)
        #expect(narrow.lines.contains { $0.contains("need 80×24, have 79×24") })
        let ascii = Dashboard(glyphs: .ascii).render(input, width: 40, height: 10)
        #expect(ascii.lines.contains { $0.contains("need 80x24, have 40x10") })
    }

    @Test func overlaysExitAndASCII() {
        let dashboard = Dashboard()
        var input = DashboardFixtures.normal(dashboard: dashboard)
        _ = dashboard.handle(.character("?"), input)
        expectSnapshot(dashboard.render(input, width: 80, height: 24), "help-80x24")
        _ = dashboard.handle(.character("x"), input)  // any key closes it
        _ = dashboard.handle(.character("2"), input)
        _ = dashboard.handle(.down, input)
        _ = dashboard.handle(.character("d"), input)
        expectSnapshot(dashboard.render(input, width: 80, height: 24), "confirm-80x24")
        _ = dashboard.handle(.character("n"), input)
        input.vm?.state = .exited("kernel-panic: PANIC: CPU exception 14 #PF (page fault)")
        input.console += ["PANIC: CPU exception 14 #PF (page fault)", "  fault address (cr2) 0x00000001dead0000", "skerry: shutdown panic"]
        _ = dashboard.handle(.character("1"), input)
        expectSnapshot(dashboard.render(input, width: 80, height: 24), "exited-80x24")
        let ascii = Dashboard(glyphs: .ascii)
        let asciiInput = DashboardFixtures.normal(dashboard: ascii)
        ascii.state.view = .backends
        let frame = ascii.render(asciiInput, width: 120, height: 40)
        expectSnapshot(frame, "backends-ascii-120x40")
        #expect(frame.cells.allSatisfy { $0.scalar.isASCII }, "ASCII mode draws only ASCII")
    }
}
