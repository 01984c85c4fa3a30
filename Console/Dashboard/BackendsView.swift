import Foundation
import KernelCore
import SkerryKit

extension Frame {
    mutating func drawBackends(top: Int, bottom: Int) {
        let rows = dashboard.backendRows(input)
        guard input.model.schema != nil else {
            drawEmpty("waiting for telemetry from \(input.telemetry.address)", top: top, bottom: bottom)
            return
        }
        // 142 columns hold them all; narrower terminals lose the least important first, but never the sort column.
        // 80 keep the name, state, connections and what failover shows: redispatches, the check's reason, backup and ramp.
        // A sortable column has room for its title and the sort arrow.
        let sort = Self.backendSort(state)
        let columns = sort.keepingSorted([
            Column(title: "SERVICE/BACKEND", width: 16), Column(title: "STATE", width: 6), Column(title: "ADMIN", width: 8),
            Column(title: "WT", width: 4, right: true, priority: 3), Column(title: "ACT", width: 5, right: true),
            Column(title: "MAX", width: 5, right: true, priority: 4), Column(title: "LIMIT", width: 5, right: true, priority: 5),
            Column(title: "TOTAL", width: 7, right: true), Column(title: "REDISP", width: 6, right: true, priority: 1),
            Column(title: "NEW/s", width: 6, right: true, priority: 2),
            Column(title: "RATE", width: 8, priority: 2), Column(title: "IN", width: 7, right: true, priority: 3),
            Column(title: "OUT", width: 7, right: true, priority: 3), Column(title: "CHECK", width: 14, priority: 1),
            Column(title: "LATENCY", width: 7, right: true, priority: 3), Column(title: "CHANGED", width: 7, right: true, priority: 4),
            Column(title: "MODE", width: 8, priority: 1),
        ])
        let kept = Self.fit(columns, width: width - 2)
        drawHeader(columns, kept, y: top, sort: sort)
        guard !rows.isEmpty else {
            let filter = state.filter[.backends, default: ""]
            drawEmpty(filter.isEmpty ? "this appliance balances no services" : "no backend matches \"\(filter)\"", top: top + 1, bottom: bottom)
            return
        }
        let visible = Self.listRows(.backends, input, state, height: height)
        let selection = min(state.selection[.backends, default: 0], rows.count - 1)
        let first = Self.firstVisible(selection: selection, rows: rows.count, visible: visible, scroll: state.scroll[.backends, default: 0])
        for (offset, row) in rows[first..<min(rows.count, first + visible)].enumerated() {
            let values = row.values
            let traffic = values.traffic
            let (check, checkStyle) = Self.checkCell(values)
            let latency = values.checkLatencyMicroseconds.map { String(format: "%.1fms", Double($0) / 1000) } ?? "-"
            drawRow([
                (row.label, Style(bold: true)), (values.up ? "UP" : "DOWN", Self.healthStyle(values.up)),
                (Self.adminLabel(values.administrative), Self.adminStyle(values.administrative)), ("\(values.weight)", .normal),
                ("\(traffic[.activeConnections])", Style(bold: traffic[.activeConnections] > 0)), ("\(traffic[.maximumConnectionsSeen])", .normal),
                (row.limit > 0 ? "\(row.limit)" : "-", Style(.dim)), (Format.count(traffic[.totalConnections]), .normal),
                (Format.count(traffic[.redispatched]), Style(traffic[.redispatched] > 0 ? .warning : .dim)),
                (Format.count(row.rate), .normal), (glyphs.sparkline(row.history, width: 8), Style(.spark)),
                (Format.bytes(Double(traffic[.bytesToBackend])), .normal), (Format.bytes(Double(traffic[.bytesToClient])), .normal),
                (check, checkStyle), (latency, .normal),
                (Format.milliseconds(values.stateAgeMilliseconds), Style(.dim)),
                (input.model.backendMarks(row.index).joined(separator: " "), Style(.warning)),
            ], columns, kept, y: top + 1 + offset, selected: first + offset == selection)
        }
        if rows.count > visible {
            let more = " \(first + 1)-\(min(rows.count, first + visible)) of \(rows.count) "
            headerNote(more, columns, kept, y: top)
        }
    }

    /// The CHECK cell: the last check's reason, green when it passed and red
    /// when it failed; from an appliance that does not report reasons, the
    /// failures in a row.
    static func checkCell(_ values: Telemetry.BackendValues) -> (String, Style) {
        guard let outcome = values.checkOutcome, let reason = values.checkReason else {
            return values.consecutiveFailures > 0 ? ("fail \(values.consecutiveFailures)", Style(.warning)) : (values.up ? "ok" : "-", Style(.dim))
        }
        if outcome == .passed { return (reason, Style(.up)) }
        return (reason, outcome.isFailure ? Style(.down, bold: true) : Style(.dim))
    }

    /// The columns `state.backendSort` sorts by (indices into the Backends table), and the direction shown.
    static func backendSort(_ state: DashboardState) -> Sort {
        let columns: [Int]
        switch state.backendSort {
        case .name: columns = [0]
        case .state: columns = [1, 2]
        case .active: columns = [4]
        case .total: columns = [7]
        case .rate: columns = [9]
        case .bytes: columns = [11, 12]
        }
        return Sort(columns: columns, descending: state.backendSort.descending != (state.reversed[.backends] == true))
    }
}
