import Foundation
import KernelCore
import SkerryConsole
import SkerryKit
import Testing

/// With --read-only, the console line reaches the kernel shell only with
/// commands that change nothing; everything else is refused on screen.
@Suite struct ReadOnlyConsoleTests {
    /// Types `line` at the console prompt and presses Enter; returns what the dashboard asks the host to do.
    func type(_ line: String, into dashboard: Dashboard, _ input: DashboardInput) -> [DashboardCommand] {
        _ = dashboard.handle(.character("i"), input)
        for character in line { _ = dashboard.handle(.character(character), input) }
        return dashboard.handle(.enter, input)
    }

    func readOnlyConsole() -> (Dashboard, DashboardInput) {
        let dashboard = Dashboard()
        var input = DashboardFixtures.normal(dashboard: dashboard)
        input.readOnly = true
        _ = dashboard.handle(.character("5"), input)
        return (dashboard, input)
    }

    @Test func changingCommandsAreRefusedWithAMessage() {
        let (dashboard, input) = readOnlyConsole()
        for line in ["drain web/web1", "enable web/web1", "disable web/web1", "weight web/web1 0", "shutdown"] {
            #expect(type(line, into: dashboard, input).isEmpty, "\(line) must not be sent")
            #expect(dashboard.state.mode == .normal)
            #expect(dashboard.state.messageIsError)
            let command = String(line.prefix { $0 != " " })
            #expect(dashboard.state.message?.hasPrefix("read-only: '\(command)' refused") == true, "\(dashboard.state.message ?? "no message")")
            let footer = dashboard.render(input, width: 120, height: 40).lines.last ?? ""
            #expect(footer.contains("read-only: '\(command)' refused; allowed: help status"), "\(footer)")
        }
    }

    @Test func reportingCommandsAreSent() {
        let (dashboard, input) = readOnlyConsole()
        for line in ShellCommandPolicy.readOnlyCommands + ["backends  ", ""] {
            #expect(type(line, into: dashboard, input) == [.console(line)])
            #expect(dashboard.state.message == nil)
        }
        _ = dashboard.handle(.character("i"), input)
        #expect(dashboard.render(input, width: 80, height: 24).lines.last?.contains("kernel (read-only)> _") == true)
    }

    /// Lines the kernel's line editor and word splitter would read as a changing command.
    @Test func linesTheKernelWouldReadAsAChangeAreRefused() {
        let (dashboard, input) = readOnlyConsole()
        for line in ["shutdown=1", "drain=x web/web1", "shut\u{e9}down", "status\u{1b}shutdown", "shut\u{7f}down",
                     "status\rshutdown", "status\nshutdown", "status\tx", "\u{15}shutdown", "SHUTDOWN", "help\u{8}\u{8}\u{8}\u{8}drain web/web1"] {
            #expect(ShellCommandPolicy.judge(line, readOnly: true) != .allowed, "\(line.debugDescription)")
        }
        #expect(type("shut\u{e9}down", into: dashboard, input).isEmpty)
        #expect(dashboard.state.message?.contains("not plain ASCII") == true)
    }

    @Test func withoutReadOnlyEveryLineIsSent() {
        let dashboard = Dashboard()
        let input = DashboardFixtures.normal(dashboard: dashboard)
        _ = dashboard.handle(.character("5"), input)
        #expect(type("shutdown", into: dashboard, input) == [.console("shutdown")])
        #expect(type("drain web/web1", into: dashboard, input) == [.console("drain web/web1")])
    }

    /// The allowed commands are the shell's reporting commands, and every command that changes state is refused.
    @Test func theAllowedCommandsAreTheShellsReportingCommands() {
        #expect(ShellCommandPolicy.readOnlyCommands == ["help", "status", "heap", "nics", "netstat", "tcp", "backends", "rules", "conns"])
        for command in ShellCommand.allCases where command.changesState {
            #expect(ShellCommandPolicy.judge("\(command.name)", readOnly: true) != .allowed, "\(command.name)")
            #expect(ShellCommandPolicy.judge("\(command.name)", readOnly: false) == .allowed)
        }
        #expect(Set(ShellCommand.allCases.filter(\.changesState).map(\.name.description)) == ["drain", "enable", "disable", "weight", "shutdown"])
    }
}
