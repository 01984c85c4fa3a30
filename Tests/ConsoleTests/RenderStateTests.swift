import Foundation
import SkerryConsole
import SkerryKit
import Testing

/// Drawing reads the dashboard's state and changes none of it: the
/// selection and scroll are kept by keys, new data and resizes.
@Suite struct RenderStateTests {
    @Test(arguments: DashboardView.allCases)
    func renderingTwiceGivesTheSameFrameAndLeavesTheState(view: DashboardView) {
        for (width, height) in [(80, 24), (120, 40)] {
            let dashboard = Dashboard()
            let input = DashboardFixtures.normal(dashboard: dashboard)
            dashboard.observe(input, height: height)
            _ = dashboard.handle(.character(Character("\(view.rawValue + 1)")), input)
            for _ in 0..<30 { _ = dashboard.handle(.down, input) }  // past the first screen of a long list
            let state = dashboard.state
            let first = dashboard.render(input, width: width, height: height)
            #expect(dashboard.state == state, "\(view.title) at \(width)x\(height): drawing changed the state")
            let second = dashboard.render(input, width: width, height: height)
            let same = first == second  // compared outside #expect, which would print every cell
            #expect(same, "\(view.title) at \(width)x\(height): a second drawing differs")
            #expect(dashboard.state == state)
        }
    }

    /// The list scrolls only as far as the selection needs, and keeps its place when the selection moves back.
    @Test func scrollFollowsTheSelectionAndStays() {
        let dashboard = Dashboard()
        let input = DashboardFixtures.normal(dashboard: dashboard)
        dashboard.observe(input, height: 24)
        _ = dashboard.handle(.character("3"), input)
        let rows = dashboard.ruleRows(input)
        let visible = 24 - 1 - 3 - 1  // tabs and title, summary line, column titles, footer
        _ = dashboard.handle(.end, input)
        #expect(dashboard.state.selection[.firewall] == rows.count - 1)
        #expect(dashboard.state.scroll[.firewall] == rows.count - visible)
        for _ in 0..<5 { _ = dashboard.handle(.up, input) }
        #expect(dashboard.state.scroll[.firewall] == rows.count - visible, "moving within the window does not scroll")
        let frame = dashboard.render(input, width: 80, height: 24).lines
        #expect(frame[4].contains(rows[rows.count - visible].name), "the first row shown is the scroll's: \(frame[4])")
        _ = dashboard.handle(.home, input)
        #expect(dashboard.state.scroll[.firewall] == 0 && dashboard.state.selection[.firewall] == 0)
        // A taller terminal shows every row: no scroll.
        dashboard.observe(input, height: 80)
        _ = dashboard.handle(.end, input)
        #expect(dashboard.state.scroll[.firewall, default: 0] == 0)
    }

    /// New data with fewer rows moves the selection onto the last one, so actions act on the row shown selected.
    @Test func fewerRowsMoveTheSelectionOntoARow() {
        let dashboard = Dashboard()
        let input = DashboardFixtures.normal(dashboard: dashboard)
        _ = dashboard.handle(.character("2"), input)
        _ = dashboard.handle(.end, input)
        #expect(dashboard.state.selection[.backends] == dashboard.backendRows(input).count - 1)
        var fewer = input
        (fewer.model, _) = DashboardFixtures.live(backends: 2, snapshots: 3)
        let rows = dashboard.backendRows(fewer)
        #expect(rows.count < dashboard.backendRows(input).count)
        dashboard.observe(fewer)
        #expect(dashboard.state.selection[.backends] == rows.count - 1)
        _ = dashboard.handle(.character("d"), fewer)
        guard case .confirm(.admin(let request), _) = dashboard.state.mode else {
            Issue.record("d did not ask about the selected backend")
            return
        }
        #expect(request.backend == rows[rows.count - 1].name)
    }
}

/// Text from the stream or the console cannot drive the terminal: controls
/// and bidi overrides take no cell, so what is drawn is what is shown.
@Suite struct ScreenTextTests {
    @Test func controlsAndBidiOverridesAreNotDrawn() {
        var screen = Screen(width: 20, height: 1)
        let written = screen.put("a\u{202E}b\u{1B}[2Jc\u{85}d\u{7F}e\tf\u{2066}g", x: 0, y: 0)
        #expect(screen.lines == ["ab[2Jcdefg"])
        #expect(written == 10)
    }
}
