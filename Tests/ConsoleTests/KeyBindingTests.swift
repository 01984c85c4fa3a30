import Foundation
import SkerryConsole
import SkerryKit
import Testing

/// The keymap is one table: help, the docs and the read-only checks follow it.
@Suite struct KeyBindingTests {
    /// docs/dashboard.md's Keys table, as (key, does, views, read-only) with the backticks taken out.
    static func documentedKeys() throws -> [[String]] {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/dashboard.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        let section = try #require(text.components(separatedBy: "\n## Keys\n").dropFirst().first).components(separatedBy: "\n## ")[0]
        return section.split(separator: "\n").filter { $0.hasPrefix("|") }.dropFirst(2).map { line in
            line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "`", with: "") }
        }
    }

    /// A live input, made once: the dashboards below start fresh on it.
    static let live = DashboardFixtures.normal(dashboard: Dashboard())

    /// A binding as the docs' row gives it.
    static func row(_ binding: KeyBinding) -> [String] {
        let views = binding.views.count == DashboardView.allCases.count
            ? "all" : DashboardView.allCases.filter(binding.views.contains).map(\.title).joined(separator: ", ")
        return [binding.label, binding.summary, views, binding.readOnly ? "yes" : "no"]
    }

    @Test func docsListEveryKeyAndNoOther() throws {
        let documented = try Self.documentedKeys()
        let table = KeyBinding.table.map(Self.row)
        #expect(documented.count == table.count, "docs/dashboard.md has \(documented.count) keys, the table \(table.count)")
        for row in table { #expect(documented.contains(row), "docs/dashboard.md lacks \(row)") }
        for row in documented { #expect(table.contains(row), "docs/dashboard.md lists \(row), which the table lacks") }
    }

    @Test func helpShowsEveryKey() {
        for (width, height) in [(80, 24), (120, 40)] {
            let dashboard = Dashboard()
            let input = DashboardFixtures.empty()
            _ = dashboard.handle(.character("?"), input)
            let lines = dashboard.render(input, width: width, height: height).lines
            for binding in KeyBinding.table {
                let shown = lines.first { $0.contains(" " + binding.label + "  ") }
                #expect(shown?.contains(binding.summary) == true, "help at \(width)x\(height) lacks \(binding.label): \(binding.summary)")
            }
        }
    }

    @Test func everyKeyIsBoundOnceAndEveryViewHasADigit() {
        let keys = KeyBinding.table.flatMap { $0.keys.map(\.key) }
        for key in keys { #expect(keys.filter { $0 == key }.count == 1, "\(key.name) is bound more than once") }
        for view in DashboardView.allCases {
            #expect(KeyBinding.lookup(.character(Character("\(view.rawValue + 1)")))?.action == .showView(view))
        }
        #expect(KeyBinding.table.first { $0.keys.contains { $0.key == .tab } }?.label == "Tab, Shift-Tab, 1-5")
    }

    /// Every key read-only mode refuses is refused, with a message, in every view it applies to; the rest act.
    @Test func readOnlyFollowsTheTable() {
        for binding in KeyBinding.table {
            for (key, action) in binding.keys {
                for view in binding.views.sorted(by: { $0.rawValue < $1.rawValue }) {
                    let dashboard = Dashboard()
                    var input = Self.live
                    input.readOnly = true
                    dashboard.state.view = view
                    let before = dashboard.state
                    let commands = dashboard.handle(key, input)
                    if binding.readOnly {
                        #expect(dashboard.state.message?.hasPrefix("read-only") != true, "\(key.name) in \(view.title)")
                    } else {
                        #expect(commands.isEmpty && dashboard.state.mode == .normal, "\(key.name) (\(action)) acted in \(view.title)")
                        #expect(dashboard.state.message == "read-only: actions are off", "\(key.name) in \(view.title)")
                        #expect(dashboard.state.view == before.view && dashboard.state.selection == before.selection)
                    }
                }
            }
        }
    }

    /// Dangerous keys only ask; `y` then returns the command.
    @Test func dangerousKeysAskFirst() {
        for binding in KeyBinding.table where binding.dangerous {
            for (key, _) in binding.keys {
                let dashboard = Dashboard()
                let input = Self.live
                dashboard.state.view = binding.views.contains(.backends) ? .backends : binding.views.first!
                #expect(dashboard.handle(key, input).isEmpty, "\(key.name) acted without asking")
                guard case .confirm = dashboard.state.mode else {
                    Issue.record("\(key.name) did not ask")
                    continue
                }
                #expect(dashboard.handle(.character("y"), input).count == 1, "\(key.name): y goes ahead")
            }
        }
    }

    /// The footer names the keys that act in the view, and no key that does not.
    @Test func footerHintsFollowTheTable() {
        let dashboard = Dashboard()
        var input = DashboardFixtures.normal(dashboard: dashboard)
        dashboard.state.view = .backends
        #expect(dashboard.render(input, width: 120, height: 40).lines.last?.contains("d drain  e enable  x disable  r restart") == true)
        input.readOnly = true
        let frame = dashboard.render(input, width: 120, height: 40).lines
        let footer = frame.last ?? ""
        #expect(!footer.contains("d drain") && !footer.contains("r restart"), "\(footer)")
        #expect(frame[0].contains("<read-only>") && !footer.contains("read-only"), "read-only shows in the title bar: \(frame[0])")
        dashboard.state.view = .console
        input.consoleWritable = false
        #expect(dashboard.render(input, width: 120, height: 40).lines.last?.contains("i type") == false)
    }
}
