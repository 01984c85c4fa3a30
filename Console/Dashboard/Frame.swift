import Foundation
import KernelCore
import SkerryKit

/// Draws one frame: title bar, view tabs, banners, the current view, the
/// footer, and any overlay.
struct Frame {
    var screen: Screen
    let input: DashboardInput
    let dashboard: Dashboard
    let glyphs: Glyphs

    var state: DashboardState { dashboard.state }
    var width: Int { screen.width }
    var height: Int { screen.height }

    mutating func draw() {
        drawTitle()
        drawTabs()
        let top = drawBanners()
        let bottom = height - 1
        switch state.view {
        case .overview: drawOverview(top: top, bottom: bottom)
        case .backends: drawBackends(top: top, bottom: bottom)
        case .firewall: drawFirewall(top: top, bottom: bottom)
        case .connections: drawConnections(top: top, bottom: bottom)
        case .console: drawConsole(top: top, bottom: bottom)
        }
        drawFooter()
        switch state.mode {
        case .help: drawHelp()
        case .confirm(_, let question): drawBox(title: "Confirm", lines: [question, "", "y: yes    any other key: no"], role: .warning)
        default: break
        }
    }

    // MARK: Chrome

    mutating func drawTitle() {
        screen.clear(row: 0, style: Style(.title))
        var parts = ["skerry top"]
        let appliance = input.model.hello?.appliance
        if let vm = input.vm {
            parts.append(appliance ?? vm.image)
            switch vm.state {
            case .booting: parts.append("booting")
            case .running: parts.append("running")
            case .exited: parts.append("EXITED")
            }
            parts.append(vm.accelerator)
            if let ready = vm.readyAfter { parts.append(String(format: "boot %.2fs", ready)) }
        } else if let appliance {
            parts.append(appliance)
            parts.append("attached")
        }
        if let uptime = input.model.snapshot?.uptimeMilliseconds { parts.append("up " + Format.milliseconds(uptime)) }
        let left = " " + parts.joined(separator: "  ")
        var right = (input.isStale ? "STALE " : "live ") + input.telemetry.address + " "
        // What this dashboard may not do, k9s-style, before the stream's state.
        if let badge = Self.badge(input) { right = "<\(badge)>  " + right }
        screen.put(glyphs.fit(left, width - right.count - 1), x: 0, y: 0, style: Style(.title, bold: true))
        screen.put(right, x: width - right.count, y: 0, style: Style(input.isStale ? .stale : .title, bold: input.isStale))
    }

    /// The title bar's note on what the operator cannot do here: read-only mode, or no admin token.
    static func badge(_ input: DashboardInput) -> String? {
        if input.readOnly { return "read-only" }
        if !input.hasToken { return "no token" }
        return nil
    }

    mutating func drawTabs() {
        screen.clear(row: 1, style: Style(.tab))
        var x = 1
        for view in DashboardView.allCases {
            let label = " \(view.rawValue + 1) \(view.title) "
            let active = view == state.view
            x += screen.put(label, x: x, y: 1, style: Style(active ? .activeTab : .tab, bold: active)) + 1
        }
    }

    /// The banners under the tabs, most urgent first: the VM's exit, then stale data.
    static func banners(_ input: DashboardInput, _ state: DashboardState) -> [(text: String, role: ColorRole)] {
        var banners: [(text: String, role: ColorRole)] = []
        if case .exited(let reason) = input.vm?.state {
            let restart = KeyBinding.binding(of: .restartVM).flatMap { binding in
                binding.allows(state.view, input) ? binding.keys.first.map { "; \($0.key.name) restarts it" } : nil
            } ?? ""
            banners.append((" VM exited: \(reason)\(restart)", .down))
        }
        if input.isStale {
            let age = input.model.age(now: input.now).map { "data " + Format.duration($0) + " old" } ?? "no data yet"
            var text = " STALE: \(age)"
            if let ended = input.telemetry.ended {
                text += " - \(ended)"
            } else if let error = input.telemetry.error { text += " - \(error)" }
            if input.streamEnded {
                // Nothing to reconnect to.
            } else if let retry = input.telemetry.retryAt {
                text += String(format: "; reconnecting in %.0fs", max(0, retry.timeIntervalSince(input.now)))
            } else if !input.telemetry.connected {
                text += "; reconnecting"
            }
            banners.append((text, .stale))
        }
        if let lost = input.consoleLost {
            var text = " CONSOLE LOST: \(lost.address) - \(lost.reason)"
            if let retry = lost.retryAt {
                text += String(format: "; reconnecting in %.0fs", max(0, retry.timeIntervalSince(input.now)))
            }
            banners.append((text, .stale))
        }
        return banners
    }

    /// The first row under the tabs and banners.
    static func bodyTop(_ input: DashboardInput, _ state: DashboardState) -> Int { 2 + banners(input, state).count }

    /// Draws the banners; returns the first row under them.
    mutating func drawBanners() -> Int {
        var top = 2
        for banner in Self.banners(input, state) {
            screen.clear(row: top, style: Style(banner.role))
            screen.put(glyphs.fit(banner.text, width), x: 0, y: top, style: Style(banner.role, bold: true))
            top += 1
        }
        return top
    }

    mutating func drawFooter() {
        let y = height - 1
        screen.clear(row: y, style: Style(.key))
        switch state.mode {
        case .filtering:
            let label = state.view == .console ? "search: " : "filter: "
            screen.put(label + state.editing + "_", x: 1, y: y, style: Style(.input, bold: true))
            return
        case .consoleInput:
            let prompt = input.readOnly ? "kernel (read-only)> " : "kernel> "
            screen.put(prompt + state.editing + "_", x: 1, y: y, style: Style(.input, bold: true))
            return
        default:
            break
        }
        if let message = state.message {
            screen.put(glyphs.fit(" " + message, width), x: 0, y: y, style: Style(state.messageIsError ? .warning : .key, bold: true))
            return
        }
        var hints = KeyBinding.hints(state, input)
        let filter = state.filter[state.view, default: ""]
        if !filter.isEmpty { hints.append(("filter: \(filter) (Esc clears)", 0)) }
        screen.put(glyphs.fit(" " + KeyBinding.footer(hints, width: width - 2), width), x: 0, y: y, style: Style(.key))
    }

    mutating func drawHelp() {
        drawBox(title: "Keys", lines: KeyBinding.helpLines + [
            "",
            "Colours: green up/accept, red down/drop, yellow drain/reject,",
            "magenta disabled; STALE when telemetry is lost.",
        ], role: .normal)
    }

    mutating func drawBox(title: String, lines: [String], role: ColorRole) {
        let inner = min(width - 4, max(title.count + 4, lines.map(\.count).max() ?? 0) + 2)
        let boxHeight = min(height - 2, lines.count + 2)
        let left = (width - inner - 2) / 2
        let top = max(1, (height - boxHeight) / 2)
        let border = Style(role == .normal ? .header : role, bold: true)
        for row in 0..<boxHeight {
            let y = top + row
            screen.put(String(repeating: " ", count: inner + 2), x: left, y: y, style: Style(.normal))
            if row == 0 || row == boxHeight - 1 {
                screen.put("+" + String(repeating: "-", count: inner) + "+", x: left, y: y, style: border)
            } else {
                screen.put("|", x: left, y: y, style: border)
                screen.put("|", x: left + inner + 1, y: y, style: border)
                let line = row - 1 < lines.count ? lines[row - 1] : ""
                screen.put(glyphs.fit(" " + line, inner), x: left + 1, y: y, style: Style(.normal))
            }
        }
        screen.put(" \(title) ", x: left + 2, y: top, style: border)
    }

    // MARK: Tables

    struct Column {
        var title: String
        var width: Int
        var right = false
        /// Lower shows first when the terminal is narrow.
        var priority = 0
    }

    /// The columns that fit `width`, most important first, kept in order.
    static func fit(_ columns: [Column], width: Int) -> [Int] {
        var kept = Set<Int>()
        var used = 0
        for index in columns.indices.sorted(by: { (columns[$0].priority, $0) < (columns[$1].priority, $1) }) {
            let needed = columns[index].width + (kept.isEmpty ? 0 : 1)
            if used + needed <= width {
                kept.insert(index)
                used += needed
            }
        }
        return columns.indices.filter { kept.contains($0) }
    }

    /// Draws one row of cells in the kept columns.
    mutating func drawRow(_ cells: [(String, Style)], _ columns: [Column], _ kept: [Int], y: Int, selected: Bool = false) {
        var x = 1
        if selected { screen.paint(y: y, style: Style(.selected)) }
        for index in kept {
            let column = columns[index]
            let (text, base) = cells[index]
            let fitted = glyphs.fit(text, column.width)
            let padded = column.right ? String(repeating: " ", count: column.width - fitted.count) + fitted : fitted
            var style = base
            if selected { style = Style(.selected, bold: base.bold || base.role != .normal) }
            screen.put(padded, x: x, y: y, style: style, limit: column.width)
            x += column.width + 1
        }
    }

    /// Columns `kept` take this many, from column 1.
    static func usedWidth(_ columns: [Column], _ kept: [Int]) -> Int {
        kept.reduce(0) { $0 + columns[$1].width + 1 }
    }

    /// Writes `note` at the right end of header row `y` if it clears the column titles.
    mutating func headerNote(_ note: String, _ columns: [Column], _ kept: [Int], y: Int) {
        guard 1 + Self.usedWidth(columns, kept) + note.count < width else { return }
        screen.put(note, x: width - note.count - 1, y: y, style: Style(.header))
    }

    /// The column titles; the sort columns' titles carry an arrow for the direction.
    mutating func drawHeader(_ columns: [Column], _ kept: [Int], y: Int, sort: Sort? = nil) {
        screen.clear(row: y, style: Style(.header))
        let titles = columns.indices.map { index in
            guard let sort, sort.columns.contains(index) else { return columns[index].title }
            return columns[index].title + String(sort.descending ? glyphs.arrowDown : glyphs.arrowUp)
        }
        drawRow(titles.map { ($0, Style(.header, bold: true)) }, columns, kept, y: y)
    }

    /// Which columns a list is sorted by, and which way.
    struct Sort {
        var columns: [Int]
        var descending: Bool

        /// `columns` with the sort columns kept first when the terminal is narrow.
        func keepingSorted(_ columns: [Column]) -> [Column] {
            var columns = columns
            for index in self.columns { columns[index].priority = -1 }
            return columns
        }
    }

    /// The rows a list view (Backends, Firewall) shows in a frame `height` high:
    /// under the banners, the firewall's summary line and the column titles, above the footer.
    static func listRows(_ view: DashboardView, _ input: DashboardInput, _ state: DashboardState, height: Int) -> Int {
        let header = bodyTop(input, state) + (view == .firewall ? 1 : 0)
        return max(0, height - 1 - header - 1)
    }

    /// The first of `rows` rows to show in `visible` lines so that `selection` is on screen,
    /// moving from `scroll` (the first row shown before) only as far as it must.
    static func firstVisible(selection: Int, rows: Int, visible: Int, scroll: Int) -> Int {
        guard rows > visible else { return 0 }
        let first = min(max(0, scroll), rows - visible)
        if selection < first { return max(0, selection) }
        if selection >= first + visible { return selection - visible + 1 }
        return first
    }

    static func healthStyle(_ up: Bool) -> Style { Style(up ? .up : .down, bold: true) }

    /// As the console says it: DRAIN and DISABLED stand out, enabled does not.
    static func adminLabel(_ administrative: LoadBalancer.AdministrativeState) -> String { "\(administrative.name)" }

    static func adminStyle(_ administrative: LoadBalancer.AdministrativeState) -> Style {
        switch administrative {
        case .draining: return Style(.draining, bold: true)
        case .disabled: return Style(.disabled, bold: true)
        case .enabled: return Style(.dim)
        }
    }

    static func actionStyle(_ action: FirewallAction) -> Style {
        switch action {
        case .accept: return Style(.accept)
        case .drop: return Style(.drop, bold: true)
        case .reject: return Style(.reject, bold: true)
        }
    }

    /// A placeholder where a view has no data yet.
    mutating func drawEmpty(_ text: String, top: Int, bottom: Int) {
        let y = top + max(0, (bottom - top) / 2 - 1)
        let fitted = glyphs.fit(text, width - 2)
        screen.put(fitted, x: max(1, (width - fitted.count) / 2), y: y, style: Style(.dim))
    }
}
