import SkerryKit

/// What a key does in the dashboard's normal mode.
public enum KeyAction: Equatable, Sendable {
    case quit
    case help
    /// Tab (+1) and Shift-Tab (-1), wrapping around.
    case switchView(by: Int)
    case showView(DashboardView)
    /// Moves the selection (or scrolls the console) by this many rows; `KeyBinding.end` rows reach an end.
    case move(Int)
    /// Moves by this many pages: the rows the view shows, less one kept in sight.
    case page(Int)
    /// Filters the list; in the Console view, searches.
    case filter
    case nextMatch
    case cycleSort
    case reverseSort
    case admin(Telemetry.AdminAction)
    case restartVM
    case typeLine
    case clearFilter
}

extension KeyAction {
    /// The footer's word for the action in `state`'s view; nil for actions the footer leaves to help.
    func hint(_ state: DashboardState) -> String? {
        switch self {
        case .quit: "quit"
        case .help: "help"
        case .switchView(let step): step > 0 ? "view" : nil
        case .filter: state.view == .console ? "search" : "filter"
        case .nextMatch: "next"
        case .cycleSort: "sort:" + (state.view == .firewall ? state.ruleSort.rawValue : state.backendSort.rawValue)
        case .reverseSort: "reverse"
        case .admin(let action): "\(action.name)"
        case .restartVM: "restart"
        case .typeLine: state.view == .console ? "type" : nil
        case .showView, .move, .page, .clearFilter: nil
        }
    }

    /// Which hints a narrow footer drops first: higher goes first; 0 always stays.
    var hintPriority: Int {
        switch self {
        case .quit, .help: 0
        case .switchView: 3
        case .reverseSort: 2
        default: 1
        }
    }
}

/// What a binding needs beyond its view and read-only mode, and what the
/// footer says when a key is pressed without it.
public enum KeyRequirement: Sendable {
    /// A serial console to type into.
    case writableConsole
    /// A VM this dashboard started.
    case restartableVM
    /// An admin token to send actions with.
    case adminToken

    func isMet(by input: DashboardInput) -> Bool {
        switch self {
        case .writableConsole: input.consoleWritable
        case .restartableVM: input.vm?.restartable == true
        case .adminToken: input.hasToken
        }
    }

    var refusal: String {
        switch self {
        case .writableConsole: "no console to type into (attach with --console unix:PATH)"
        case .restartableVM: "this dashboard did not start the VM, so it cannot restart it"
        case .adminToken: "no admin token: pass --token or set SKERRY_ADMIN_TOKEN"
        }
    }
}

/// One line of the keymap, k9s-style: the keys (each with its action),
/// what they do, whether they ask first, whether read-only mode allows
/// them, and where they apply. `KeyBinding.table` drives the dispatch,
/// the help screen, the footer's hints and the read-only checks;
/// docs/dashboard.md lists the same lines (a test holds them together).
public struct KeyBinding: Sendable {
    public var keys: [(key: Key, action: KeyAction)]
    public var description: String
    /// Asks for a y/n confirmation before the host acts.
    public var dangerous: Bool
    /// Read-only mode (`--read-only`) allows it.
    public var readOnly: Bool
    public var views: Set<DashboardView>
    /// Said in the footer when a key is pressed in another view; silence when nil.
    public var elsewhere: String?
    public var requirement: KeyRequirement?
    /// A line the help screen shows under this one.
    public var detail: String?

    init(_ keys: [(Key, KeyAction)], _ description: String, dangerous: Bool = false, readOnly: Bool = true,
         views: Set<DashboardView> = Set(DashboardView.allCases), elsewhere: String? = nil, requirement: KeyRequirement? = nil,
         detail: String? = nil) {
        self.keys = keys.map { (key: $0.0, action: $0.1) }
        self.description = description
        self.dangerous = dangerous
        self.readOnly = readOnly
        self.views = views
        self.elsewhere = elsewhere
        self.requirement = requirement
        self.detail = detail
    }

    /// Rows moved by Home and End: past either end, and far from overflowing when added.
    static let end = Int.max / 2

    /// The keymap, in the order help and docs list it.
    public static let table: [KeyBinding] = [
        KeyBinding([(.character("q"), .quit)], "quit (the VM stops if skerry top started it)"),
        KeyBinding([(.character("?"), .help), (.character("h"), .help)], "this help; q quits, any other key closes it"),
        KeyBinding([(.tab, .switchView(by: 1)), (.backTab, .switchView(by: -1))]
                   + DashboardView.allCases.map { (.character(Character("\($0.rawValue + 1)")), .showView($0)) },
                   "next, previous view; a digit picks one"),
        KeyBinding([(.up, .move(-1)), (.down, .move(1))], "move the selection, or scroll the console"),
        KeyBinding([(.pageUp, .page(-1)), (.pageDown, .page(1)), (.home, .move(-end)), (.end, .move(end))],
                   "a page up, down; the top, the bottom"),
        KeyBinding([(.character("/"), .filter)], "filter the list; in Console, search", views: [.backends, .firewall, .console]),
        KeyBinding([(.character("n"), .nextMatch)], "next match (Console)", views: [.console]),
        KeyBinding([(.character("s"), .cycleSort), (.character("S"), .reverseSort)], "cycle the sort; reverse it",
                   views: [.backends, .firewall]),
        KeyBinding([(.character("i"), .typeLine)], "type a kernel shell line (switches to Console)",
                   requirement: .writableConsole,
                   detail: "  read-only: " + ShellCommandPolicy.readOnlyCommands.joined(separator: " ")),
        KeyBinding([(.enter, .typeLine)], "type a kernel shell line", views: [.console], requirement: .writableConsole),
        KeyBinding([(.character("d"), .admin(.drain)), (.character("e"), .admin(.enable)), (.character("x"), .admin(.disable))],
                   "drain, enable, disable the backend", dangerous: true, readOnly: false, views: [.backends],
                   elsewhere: "select a backend in the Backends view (2) first", requirement: .adminToken),
        KeyBinding([(.character("r"), .restartVM)], "restart the VM", dangerous: true, readOnly: false, requirement: .restartableVM),
        KeyBinding([(.escape, .clearFilter)], "clear the filter, leave a prompt"),
    ]

    /// The binding of `key`, and what it does.
    public static func lookup(_ key: Key) -> (binding: KeyBinding, action: KeyAction)? {
        for binding in table {
            if let entry = binding.keys.first(where: { $0.key == key }) { return (binding, entry.action) }
        }
        return nil
    }

    /// The binding that holds `action`.
    public static func binding(of action: KeyAction) -> KeyBinding? {
        table.first { $0.keys.contains { $0.action == action } }
    }

    /// As help and docs name the keys: "d, e, x", "Tab, Shift-Tab, 1-5".
    public var label: String {
        var names: [String] = []
        var index = 0
        while index < keys.count {
            // Three or more consecutive digits read as a range.
            var last = index
            while last + 1 < keys.count, let digit = keys[last].key.digit, keys[last + 1].key.digit == digit + 1 { last += 1 }
            if last - index >= 2 {
                names.append("\(keys[index].key.name)-\(keys[last].key.name)")
            } else {
                last = index
                names.append(keys[index].key.name)
            }
            index = last + 1
        }
        return names.joined(separator: ", ")
    }

    /// The description as help and docs give it.
    public var summary: String { dangerous ? description + " (asks first)" : description }

    /// The binding can act here, now: its view, read-only mode and requirement allow it.
    public func allows(_ view: DashboardView, _ input: DashboardInput) -> Bool {
        views.contains(view) && (readOnly || !input.readOnly) && (requirement?.isMet(by: input) ?? true)
    }
}

extension Key {
    /// The key's name in help and docs.
    public var name: String {
        switch self {
        case .character(let character): String(character)
        case .tab: "Tab"
        case .backTab: "Shift-Tab"
        case .up: "Up"
        case .down: "Down"
        case .left: "Left"
        case .right: "Right"
        case .pageUp: "PgUp"
        case .pageDown: "PgDn"
        case .home: "Home"
        case .end: "End"
        case .enter: "Enter"
        case .escape: "Esc"
        case .backspace: "Backspace"
        case .resize: "resize"
        }
    }

    var digit: Int? {
        if case .character(let character) = self { return character.wholeNumberValue } else { return nil }
    }
}

extension DashboardCommand {
    /// What the confirmation asks before a dangerous command.
    var question: String {
        switch self {
        case .admin(let request):
            let verb = "\(request.action.name)"
            return verb.prefix(1).uppercased() + verb.dropFirst() + " \(request.target)?"
        case .restartVM: return "Restart the VM?"
        case .quit, .console: return "Go ahead?"  // never asked: only admin actions and restarts are dangerous
        }
    }
}

extension KeyBinding {
    /// The help screen's lines: each binding's keys and summary, and its detail line.
    public static var helpLines: [String] {
        let keyColumn = (table.map(\.label.count).max() ?? 0) + 2
        return table.flatMap { binding in
            [binding.label.padding(toLength: keyColumn, withPad: " ", startingAt: 0) + binding.summary] + (binding.detail.map { [$0] } ?? [])
        }
    }

    /// The footer's hints for `state`'s view: "q quit", "/ filter", ...; one per action, for keys that act here now,
    /// each with its priority (`KeyAction.hintPriority`).
    public static func hints(_ state: DashboardState, _ input: DashboardInput) -> [(text: String, priority: Int)] {
        var hints: [(text: String, priority: Int)] = []
        var shown: [KeyAction] = []
        for binding in table where binding.allows(state.view, input) {
            for (key, action) in binding.keys where !shown.contains(action) {
                shown.append(action)
                if let hint = action.hint(state) { hints.append(("\(key.name) \(hint)", action.hintPriority)) }
            }
        }
        return hints
    }

    /// The hints that fit `width` columns whole, joined: the highest priority numbers go first, the last of them first.
    public static func footer(_ hints: [(text: String, priority: Int)], width: Int) -> String {
        var kept = hints
        func length() -> Int { kept.reduce(0) { $0 + $1.text.count } + 2 * max(0, kept.count - 1) }
        while length() > width, let worst = kept.map(\.priority).max(), worst > 0,
              let index = kept.lastIndex(where: { $0.priority == worst }) {
            kept.remove(at: index)
        }
        return kept.map(\.text).joined(separator: "  ")
    }
}
