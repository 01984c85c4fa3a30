import Foundation
import SkerryKit

extension Frame {
    mutating func drawFirewall(top firstRow: Int, bottom: Int) {
        var top = firstRow
        guard let schema = input.model.schema else {
            drawEmpty("waiting for telemetry from \(input.telemetry.address)", top: top, bottom: bottom)
            return
        }
        guard schema.hasFirewall else {
            drawEmpty("this appliance was built without a firewall", top: top, bottom: bottom)
            return
        }
        let firewall = input.model.snapshot?.firewall
        screen.put(glyphs.fit("\(counted(schema.rules.count, "rule")), first match wins   invalid packets \(firewall?.invalidPackets ?? 0)   "
                              + "log lines suppressed \(firewall?.logsSuppressed ?? 0)", width - 2), x: 1, y: top, style: Style(.dim))
        top += 1
        let rows = dashboard.ruleRows(input)
        // "#" is the rule's place in the order the firewall tries them.
        let sort = Self.ruleSort(state)
        let columns = sort.keepingSorted([
            Column(title: "#", width: 4, right: true), Column(title: "RULE", width: 23), Column(title: "ACTION", width: 6),
            Column(title: "PACKETS", width: 9, right: true), Column(title: "BYTES", width: 8, right: true, priority: 2),
            Column(title: "PKT/s", width: 7, right: true, priority: 1), Column(title: "RATE", width: 14, priority: 1),
            Column(title: "LAST HIT", width: 9, right: true, priority: 1),
        ])
        let kept = Self.fit(columns, width: width - 2)
        drawHeader(columns, kept, y: top, sort: sort)
        guard !rows.isEmpty else {
            drawEmpty("no rule matches \"\(state.filter[.firewall, default: ""])\"", top: top + 1, bottom: bottom)
            return
        }
        let visible = Self.listRows(.firewall, input, state, height: height)
        let selection = min(state.selection[.firewall, default: 0], rows.count - 1)
        let first = Self.firstVisible(selection: selection, rows: rows.count, visible: visible, scroll: state.scroll[.firewall, default: 0])
        for (offset, row) in rows[first..<min(rows.count, first + visible)].enumerated() {
            let idle = row.packets == 0
            drawRow([
                (row.number.map { "\($0 + 1)" } ?? "", Style(.dim)), (row.name, Style(row.isPolicy ? .dim : .normal, bold: !row.isPolicy && !idle)),
                ("\(row.action.name)", Self.actionStyle(row.action)), (Format.count(row.packets), Style(idle ? .dim : .normal)),
                (Format.bytes(Double(row.bytes)), Style(idle ? .dim : .normal)), (row.isPolicy ? "" : Format.count(row.rate), .normal),
                (row.isPolicy ? "" : glyphs.sparkline(row.history, width: 14), Style(.spark)),
                (row.lastHitMilliseconds.map { Format.milliseconds($0) + " ago" } ?? (row.isPolicy ? "" : "never"), Style(.dim)),
            ], columns, kept, y: top + 1 + offset, selected: first + offset == selection)
        }
    }

    /// The columns `state.ruleSort` sorts by (indices into the Firewall table), and the direction shown.
    static func ruleSort(_ state: DashboardState) -> Sort {
        let column: Int
        switch state.ruleSort {
        case .order: column = 0
        case .name: column = 1
        case .hits: column = 3
        case .bytes: column = 4
        case .rate: column = 5
        case .lastHit: column = 7
        }
        return Sort(columns: [column], descending: state.ruleSort.descending != (state.reversed[.firewall] == true))
    }
}
