import Foundation

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

    /// The natural direction: names A to Z, numbers largest first.
    var descending: Bool {
        switch self {
        case .name, .state: false
        case .active, .total, .rate, .bytes: true
        }
    }
}

/// `order` is the order the firewall evaluates the rules in (first match wins).
public enum RuleSort: String, CaseIterable, Sendable {
    case order = "rule order", hits, name, rate, bytes, lastHit = "last hit"

    /// The natural direction: rule order, names and hit ages (the latest hit first) ascending, counts largest first.
    var descending: Bool {
        switch self {
        case .order, .name, .lastHit: false
        case .hits, .rate, .bytes: true
        }
    }
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
    public var ruleSort = RuleSort.order
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
    /// A restart the operator confirmed, until the new VM is ready or gone: the start of the VM it replaces.
    public var pendingRestart: PendingRestart?

    public init() {}
}

/// A VM restart under way, known by the start time of the VM it replaces.
public struct PendingRestart: Equatable, Sendable {
    public var replacing: Date?
}
