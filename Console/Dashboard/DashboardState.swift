/// The views, in Tab order; the number keys pick them directly.
public enum DashboardView: Int, CaseIterable, Sendable {
    case overview, backends, firewall, connections, console

    public var title: String {
        switch self {
        case .overview: return "Overview"
        case .backends: return "Backends"
        case .firewall: return "Firewall"
        case .connections: return "Connections"
        case .console: return "Console"
        }
    }
}

/// Columns the lists sort by, per view; `s` cycles them, `S` reverses.
public enum BackendSort: String, CaseIterable, Sendable {
    case name, state, active, total, rate, bytes
}

public enum RuleSort: String, CaseIterable, Sendable {
    case hits, name, rate, bytes, lastHit = "last hit"
}

/// What the operator is doing: the keys mean different things in each mode.
public enum DashboardMode: Equatable, Sendable {
    case normal
    case help
    /// Typing a filter (or, in the console view, a search).
    case filtering
    /// Typing a line for the kernel shell.
    case consoleInput
    case confirm(DashboardCommand, question: String)
}

/// The dashboard's own state: which view, where the cursor is, how lists
/// are sorted and filtered. Independent of the data.
public struct DashboardState: Equatable, Sendable {
    public var view = DashboardView.overview
    public var mode = DashboardMode.normal
    /// The selected row of each list, kept on a row by the dashboard's updates.
    public var selection: [DashboardView: Int] = [:]
    /// The first row each list shows, kept so the selection is on screen.
    public var scroll: [DashboardView: Int] = [:]
    /// The terminal's height, as last observed; lists scroll to fit it.
    public var height: Int?
    public var backendSort = BackendSort.name
    public var ruleSort = RuleSort.hits
    public var reversed: [DashboardView: Bool] = [:]
    public var filter: [DashboardView: String] = [:]
    /// The text being typed in the filter or console input line.
    public var editing = ""
    /// Lines up from the bottom of the console's scrollback.
    public var consoleOffset = 0
    public var consoleSearch = ""
    /// A one-line message for the footer (an action's result), and when it was set.
    public var message: String?
    public var messageIsError = false

    public init() {}
}
