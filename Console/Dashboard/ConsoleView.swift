import Foundation

extension Frame {
    /// The farthest the console scrolls back: its first line at the top of a full page
    /// (in a frame `state.height` high; without one, the last line shown alone).
    static func consoleMaximumOffset(_ input: DashboardInput, _ state: DashboardState) -> Int {
        let visible = state.height.map { consoleRows(input, state, height: $0) } ?? 1
        return max(0, input.console.count - visible)
    }

    /// The console lines a frame `height` high shows: under the banners, above the footer.
    static func consoleRows(_ input: DashboardInput, _ state: DashboardState, height: Int) -> Int {
        max(1, height - 1 - bodyTop(input, state))
    }

    /// What the Console view says before its first line: waiting on a console it can type into, on a VM
    /// still to print, or that there is no console at all.
    static func emptyConsoleNote(_ input: DashboardInput) -> String {
        if input.consoleWritable {
            let key = KeyBinding.binding(of: .typeLine)?.keys.first?.key.name ?? "i"
            return "waiting for console output (\(key) to type a command)"
        }
        if input.vm != nil { return "no console output yet" }
        return "no serial console (attach with --console unix:PATH)"
    }

    mutating func drawConsole(top: Int, bottom: Int) {
        let lines = input.console
        guard !lines.isEmpty else {
            drawEmpty(Self.emptyConsoleNote(input), top: top, bottom: bottom)
            return
        }
        let visible = bottom - top
        let offset = min(state.consoleOffset, max(0, lines.count - visible))
        let end = lines.count - offset
        let start = max(0, end - visible)
        let term = state.consoleSearch.lowercased()
        for (row, line) in lines[start..<end].enumerated() {
            let y = top + row
            let panic = line.contains("PANIC")
            let role: ColorRole = panic ? .down : line.contains(" is DOWN") ? .down : line.contains(" is UP") ? .up
                : line.contains("firewall: ") ? .drop : line.contains("admin: ") ? .draining : .normal
            screen.put(glyphs.fit(line, width - 2), x: 1, y: y, style: Style(role, bold: panic))
            let lower = line.lowercased()
            if !term.isEmpty, let range = lower.range(of: term) {
                let column = lower.distance(from: lower.startIndex, to: range.lowerBound)
                if column < width - 2 { screen.paint(x: 1 + column, y: y, count: term.count, style: Style(.selected, bold: true)) }
            }
        }
        if offset > 0 {
            let marker = " \(offset) lines below; End returns "
            screen.put(marker, x: width - marker.count - 1, y: bottom - 1, style: Style(.warning, bold: true))
        }
    }
}
