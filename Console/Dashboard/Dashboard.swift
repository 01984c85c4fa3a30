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

    /// Takes in a new input (and the terminal's height, when it may have changed) before
    /// drawing: history grows with each new snapshot, and the lists keep their selection
    /// on a row and on screen.
    public func observe(_ input: DashboardInput, height: Int? = nil) {
        history.record(input.model)
        if let height { state.height = height }
        settle(input)
        followRestart(input)
    }

    /// Replaces "restarting the VM..." once the new VM (a later start) is ready, or has exited.
    private func followRestart(_ input: DashboardInput) {
        guard let pending = state.pendingRestart, let vm = input.vm, vm.startedAt != pending.replacing else { return }
        switch vm.state {
        case .booting:
            return
        case .running:
            setMessage(vm.readyAfter.map { String(format: "VM restarted; ready after %.2f s", $0) } ?? "VM restarted")
        case .exited(let reason):
            setMessage("the restarted VM exited: \(reason)", error: true)
        }
        state.pendingRestart = nil
    }

    /// Keeps the current list's selection on one of its rows, and its scroll where that
    /// row shows in a frame `state.height` high: after keys, new data and a resize, so
    /// that drawing only reads the state.
    private func settle(_ input: DashboardInput) {
        guard state.view == .backends || state.view == .firewall else { return }
        let view = state.view
        let rows = view == .backends ? backendRows(input).count : ruleRowCount(input)
        let selection = min(state.selection[view, default: 0], max(0, rows - 1))
        if selection != state.selection[view, default: 0] { state.selection[view] = selection }
        guard let height = state.height else { return }
        let visible = Frame.listRows(view, input, state, height: height)
        let first = Frame.firstVisible(selection: selection, rows: rows, visible: visible, scroll: state.scroll[view, default: 0])
        if first != state.scroll[view, default: 0] { state.scroll[view] = first }
    }

    // MARK: Keys

    /// Applies `key`; returns what the host should do.
    public func handle(_ key: Key, _ input: DashboardInput) -> [DashboardCommand] {
        defer { settle(input) }
        switch state.mode {
        case .help:
            state.mode = .normal
            return KeyBinding.lookup(key)?.action == .quit ? [.quit] : []
        case .confirm(let command, _):
            state.mode = .normal
            if key == .character("y") || key == .character("Y") {
                if command == .restartVM {
                    state.pendingRestart = PendingRestart(replacing: input.vm?.startedAt)
                    setMessage("restarting the VM...")
                }
                return [command]
            }
            setMessage("cancelled")
            return []
        case .filtering:
            let commands = edit(key) { text in
                if state.view == .console {
                    state.consoleSearch = text
                    jumpToSearch(input, from: state.consoleOffset)
                }
            }
            // A list's filter applies as it is typed; the console's search runs on Enter.
            if state.mode == .filtering, state.view != .console, state.filter[state.view, default: ""] != state.editing {
                state.filter[state.view] = state.editing
                state.selection[state.view] = 0
                state.scroll[state.view] = 0
            }
            return commands
        case .consoleInput:
            var commands: [DashboardCommand] = []
            let result = edit(key) { text in
                switch ShellCommandPolicy.judge(text, readOnly: input.readOnly) {
                case .allowed:
                    // Back to the bottom, where the reply will show.
                    state.consoleOffset = 0
                    commands.append(.console(text))
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

    /// A key in normal mode: its binding from `KeyBinding.table`, checked for the view, read-only mode and what it needs.
    private func normalKey(_ key: Key, _ input: DashboardInput) -> [DashboardCommand] {
        state.message = nil
        guard let (binding, action) = KeyBinding.lookup(key) else { return [] }
        guard binding.views.contains(state.view) else {
            if let elsewhere = binding.elsewhere { setMessage(elsewhere, error: true) }
            return []
        }
        guard binding.readOnly || !input.readOnly else {
            setMessage("read-only: actions are off", error: true)
            return []
        }
        if let requirement = binding.requirement, !requirement.isMet(by: input) {
            setMessage(requirement.refusal, error: true)
            return []
        }
        let commands = perform(action, input)
        if binding.dangerous, let command = commands.first {
            state.mode = .confirm(command, question: command.question)
            return []
        }
        return commands
    }

    private func perform(_ action: KeyAction, _ input: DashboardInput) -> [DashboardCommand] {
        switch action {
        case .quit: return [.quit]
        case .help: state.mode = .help
        case .switchView(let step): switchView(by: step)
        case .showView(let view): state.view = view
        case .move(let step): move(step, input)
        case .page(let pages): page(pages, input)
        case .filter:
            state.mode = .filtering
            state.editing = state.view == .console ? state.consoleSearch : state.filter[state.view, default: ""]
        case .nextMatch: jumpToSearch(input, from: state.consoleOffset + 1)
        case .cycleSort:
            if state.view == .backends { state.backendSort = Self.next(state.backendSort) }
            if state.view == .firewall { state.ruleSort = Self.next(state.ruleSort) }
        case .reverseSort: state.reversed[state.view] = !(state.reversed[state.view] ?? false)
        case .admin(let admin):
            let rows = backendRows(input)
            let index = state.selection[.backends, default: 0]
            guard index < rows.count else { return [] }
            return [.admin(AdminRequest(action: admin, service: rows[index].service, backend: rows[index].name))]
        case .restartVM: return [.restartVM]
        case .typeLine:
            state.view = .console
            state.mode = .consoleInput
            state.editing = ""
        case .clearFilter: state.filter[state.view] = nil
        }
        return []
    }

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
            state.consoleOffset = max(0, min(Frame.consoleMaximumOffset(input, state), state.consoleOffset - step))
        case .overview, .connections:
            break
        }
    }

    /// The rows PgUp and PgDn move in the current view: a page of it (in a frame `state.height` high, or the
    /// smallest usable one), less one row that stays in sight.
    public func pageRows(_ input: DashboardInput) -> Int {
        let height = state.height ?? Self.minimumHeight
        let visible = switch state.view {
        case .backends, .firewall: Frame.listRows(state.view, input, state, height: height)
        case .console, .overview, .connections: Frame.consoleRows(input, state, height: height)
        }
        return max(1, visible - 1)
    }

    /// Moves a page: a list's selection and its scroll together, so its rows turn over; the console's lines.
    private func page(_ pages: Int, _ input: DashboardInput) {
        let step = pages * pageRows(input)
        if state.view == .backends || state.view == .firewall {
            state.scroll[state.view] = max(0, state.scroll[state.view, default: 0] + step)
        }
        move(step, input)
    }

    /// Scrolls the console so that the next line (upwards) holding the search term is shown.
    private func jumpToSearch(_ input: DashboardInput, from offset: Int) {
        let term = state.consoleSearch.lowercased()
        guard !term.isEmpty else { return }
        let lines = input.console
        for distance in max(0, offset)..<lines.count where lines[lines.count - 1 - distance].lowercased().contains(term) {
            state.consoleOffset = min(distance, Frame.consoleMaximumOffset(input, state))
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
