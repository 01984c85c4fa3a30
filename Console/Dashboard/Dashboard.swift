import Foundation
import SkerryKit

/// The dashboard's logic: keys in, commands out, and frames drawn into a
/// `Screen` from a `DashboardInput`. No terminal here; the ncurses backend
/// (Console/Terminal) shows the frames and feeds the keys.
public final class Dashboard {
    public static let minimumWidth = 80
    public static let minimumHeight = 24

    public var state = DashboardState()
    public private(set) var history = History()
    public var glyphs: Glyphs

    public init(glyphs: Glyphs = .unicode) {
        self.glyphs = glyphs
    }

    /// Takes in a new input before drawing: history grows with each new snapshot.
    public func observe(_ input: DashboardInput) {
        history.record(input.model)
    }

    // MARK: Keys

    /// Applies `key`; returns what the host should do.
    public func handle(_ key: Key, _ input: DashboardInput) -> [DashboardCommand] {
        switch state.mode {
        case .help:
            state.mode = .normal
            return key == .character("q") ? [.quit] : []
        case .confirm(let command, _):
            state.mode = .normal
            if key == .character("y") || key == .character("Y") { return [command] }
            setMessage("cancelled")
            return []
        case .filtering:
            return edit(key) { text in
                if state.view == .console {
                    state.consoleSearch = text
                    jumpToSearch(input, from: state.consoleOffset)
                } else {
                    state.filter[state.view] = text
                    state.selection[state.view] = 0
                    state.scroll[state.view] = 0
                }
            }
        case .consoleInput:
            var commands: [DashboardCommand] = []
            let result = edit(key) { text in
                switch ShellCommandPolicy.judge(text, readOnly: input.readOnly) {
                case .allowed: commands.append(.console(text))
                case .refused(let reason): setMessage(reason, error: true)
                }
            }
            return result + commands
        case .normal:
            return normalKey(key, input)
        }
    }

    /// Line editing for the filter and console input; `done` gets the text on Enter.
    private func edit(_ key: Key, done: (String) -> Void) -> [DashboardCommand] {
        switch key {
        case .escape:
            if state.mode == .filtering {
                if state.view == .console { state.consoleSearch = "" } else { state.filter[state.view] = nil }
            }
            state.mode = .normal
            state.editing = ""
        case .enter:
            let text = state.editing
            state.mode = .normal
            state.editing = ""
            done(text)
        case .backspace:
            if !state.editing.isEmpty { state.editing.removeLast() }
        case .character(let character):
            if state.editing.count < 200 { state.editing.append(character) }
        default:
            break
        }
        return []
    }

    private func normalKey(_ key: Key, _ input: DashboardInput) -> [DashboardCommand] {
        state.message = nil
        switch key {
        case .character("q"): return [.quit]
        case .character("?"), .character("h"): state.mode = .help
        case .tab: switchView(by: 1)
        case .backTab: switchView(by: -1)
        case .character(let digit) where ("1"..."5").contains(digit):
            state.view = DashboardView(rawValue: Int(String(digit))! - 1)!
        case .up: move(-1, input)
        case .down: move(1, input)
        case .pageUp: move(-pageSize, input)
        case .pageDown: move(pageSize, input)
        case .home: move(-Int.max / 2, input)
        case .end: move(Int.max / 2, input)
        case .character("/"):
            guard state.view != .overview && state.view != .connections else { return [] }
            state.mode = .filtering
            state.editing = state.view == .console ? state.consoleSearch : state.filter[state.view, default: ""]
        case .character("n") where state.view == .console:
            jumpToSearch(input, from: state.consoleOffset + 1)
        case .character("s"):
            if state.view == .backends { state.backendSort = Self.next(state.backendSort) }
            if state.view == .firewall { state.ruleSort = Self.next(state.ruleSort) }
        case .character("S"):
            state.reversed[state.view] = !(state.reversed[state.view] ?? false)
        case .character("i"), .enter:
            guard state.view == .console else { return [] }
            guard input.consoleWritable else {
                setMessage("no console to type into (attach with --console SOCKET)", error: true)
                return []
            }
            state.mode = .consoleInput
            state.editing = ""
        case .character("d"): return confirmAdmin(.drain, input)
        case .character("e"): return confirmAdmin(.enable, input)
        case .character("x"): return confirmAdmin(.disable, input)
        case .character("r"):
            guard !input.readOnly else {
                setMessage("read-only: restarting is off", error: true)
                return []
            }
            guard input.vm?.restartable == true else {
                setMessage("this dashboard did not start the VM, so it cannot restart it", error: true)
                return []
            }
            state.mode = .confirm(.restartVM, question: "Restart the VM?")
        case .escape:
            state.filter[state.view] = nil
        default:
            break
        }
        return []
    }

    private var pageSize: Int { 10 }

    private func switchView(by step: Int) {
        let count = DashboardView.allCases.count
        state.view = DashboardView(rawValue: (state.view.rawValue + step + count) % count)!
    }

    private static func next<T: CaseIterable & Equatable>(_ value: T) -> T {
        let all = Array(T.allCases)
        let index = all.firstIndex(of: value)!
        return all[(index + 1) % all.count]
    }

    private func move(_ step: Int, _ input: DashboardInput) {
        switch state.view {
        case .backends, .firewall:
            let count = state.view == .backends ? backendRows(input).count : ruleRows(input).count
            let current = state.selection[state.view, default: 0]
            state.selection[state.view] = max(0, min(count - 1, current + step))
        case .console:
            state.consoleOffset = max(0, min(max(0, input.console.count - 1), state.consoleOffset - step))
        case .overview, .connections:
            break
        }
    }

    private func confirmAdmin(_ action: AdminRequest.Action, _ input: DashboardInput) -> [DashboardCommand] {
        guard state.view == .backends else {
            setMessage("select a backend in the Backends view (2) first", error: true)
            return []
        }
        guard !input.readOnly else {
            setMessage("read-only: actions are off", error: true)
            return []
        }
        let rows = backendRows(input)
        let index = state.selection[.backends, default: 0]
        guard index < rows.count else { return [] }
        let request = AdminRequest(action: action, service: rows[index].service, backend: rows[index].name)
        state.mode = .confirm(.admin(request), question: "\(action.rawValue.capitalized) \(request.target)?")
        return []
    }

    /// Scrolls the console so that the next line (upwards) holding the search term is shown.
    private func jumpToSearch(_ input: DashboardInput, from offset: Int) {
        let term = state.consoleSearch.lowercased()
        guard !term.isEmpty else { return }
        let lines = input.console
        for distance in max(0, offset)..<lines.count where lines[lines.count - 1 - distance].lowercased().contains(term) {
            state.consoleOffset = distance
            return
        }
        setMessage("\"\(state.consoleSearch)\" not found", error: true)
    }

    public func setMessage(_ text: String, error: Bool = false) {
        state.message = text
        state.messageIsError = error
    }

    // MARK: Drawing

    /// One frame of `width` × `height`.
    public func render(_ input: DashboardInput, width: Int, height: Int) -> Screen {
        var screen = Screen(width: width, height: height)
        guard width >= Self.minimumWidth, height >= Self.minimumHeight else {
            drawTooSmall(&screen)
            return screen
        }
        var frame = Frame(screen: screen, input: input, dashboard: self, glyphs: glyphs)
        frame.draw()
        return frame.screen
    }

    private func drawTooSmall(_ screen: inout Screen) {
        let lines = ["Terminal too small", "need \(Self.minimumWidth)\(glyphs.times)\(Self.minimumHeight), have \(screen.width)\(glyphs.times)\(screen.height)",
                     "enlarge it, or press q to quit"]
        let top = max(0, screen.height / 2 - 1)
        for (offset, line) in lines.enumerated() {
            let text = glyphs.fit(line, screen.width)
            screen.put(text, x: max(0, (screen.width - text.count) / 2), y: top + offset,
                       style: offset == 0 ? Style(.warning, bold: true) : .normal)
        }
    }
}
