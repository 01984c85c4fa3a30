import Foundation
import SkerryConsole
import Testing

/// A dropped serial console connection is a banner, as stale telemetry is, and goes when the connection is back.
@Suite struct ConsoleLinkBannerTests {
    @Test func aLostConsoleIsABannerWithItsCountdown() {
        let dashboard = Dashboard()
        var input = DashboardFixtures.normal(dashboard: dashboard)
        input.consoleWritable = false
        input.consoleLost = ConsoleLinkLoss(address: "telnet:127.0.0.1:4555", reason: "the console closed the connection",
                                            retryAt: input.now.addingTimeInterval(4))
        let screen = dashboard.render(input, width: 120, height: 40)
        let row = screen.lines.firstIndex { $0.hasPrefix(" CONSOLE LOST") }
        #expect(row == 2, "the banner is under the tabs:\n\(screen.lines.joined(separator: "\n"))")
        #expect(screen.lines[row ?? 0].hasPrefix(" CONSOLE LOST: telnet:127.0.0.1:4555 - the console closed the connection; reconnecting in 4s"))
        #expect(screen[1, row ?? 0].style.role == .stale)
        input.consoleLost = nil
        input.consoleWritable = true
        #expect(!dashboard.render(input, width: 120, height: 40).lines.contains { $0.contains("CONSOLE LOST") })
    }
}
