import Foundation
import SkerryKit

extension Frame {
    mutating func drawConnections(top: Int, bottom: Int) {
        guard let schema = input.model.schema, let snapshot = input.model.snapshot else {
            drawEmpty("waiting for telemetry from \(input.telemetry.address)", top: top, bottom: bottom)
            return
        }
        guard schema.hasBalancer, let table = snapshot.connectionTable else {
            drawEmpty("this appliance balances no services", top: top, bottom: bottom)
            return
        }
        var y = top
        let fill = Double(table.entries) / Double(max(1, schema.connectionCapacity))
        label("Table", y)
        // A meter as wide as the Overview's, so the half-open count fits at 80 columns.
        screen.put(glyphs.meter(fill, width: 20), x: 13, y: y, style: Style(fill > 0.9 ? .warning : .spark))
        let halfOpen = "  half-open \(table.halfOpen) of \(schema.halfOpenLimit)"
        screen.put(glyphs.fit(String(format: " %d of %d (%.1f%%)", table.entries, schema.connectionCapacity, fill * 100) + halfOpen, width - 34),
                   x: 33, y: y)
        y += 1
        // Every counter set the serial `conns` prints, under its label there, by the core's names: whole pairs, wrapped.
        var conntrack: [String] = []
        table.counters.forEach { key, value in conntrack.append("\(key.name) \(Format.count(value))") }
        var balancer: [String] = []
        snapshot.balancer?.forEach { key, value in balancer.append("\(key.name) \(Format.count(value))") }
        for (name, pairs) in [("Conntrack", conntrack), ("Balancer", balancer)] where !pairs.isEmpty {
            label(name, y)
            for line in glyphs.wrap(pairs, width: width - 14) {
                screen.put(line, x: 13, y: y)
                y += 1
            }
        }
        y += 1
        // Active connections over time, as a bar chart.
        let series = dashboard.history.activeConnections
        let rate = dashboard.history.connectionRate
        // Under the chart: its title, the new/s line, a blank, the services' header and a row per service.
        let chartHeight = max(3, min(12, bottom - y - 4 - schema.services.count))
        let peak = max(1, series.max() ?? 0)
        screen.put("Active connections (peak \(Format.count(peak)), one column per snapshot)", x: 1, y: y, style: Style(.header, bold: true))
        y += 1
        let chartWidth = width - 10
        let shown = Array(series.suffix(chartWidth))
        for row in 0..<chartHeight {
            let threshold = peak * Double(chartHeight - row) / Double(chartHeight)
            let axis = row == 0 ? Format.count(peak) : row == chartHeight - 1 ? "0" : ""
            screen.put(String(repeating: " ", count: max(0, 7 - axis.count)) + axis, x: 0, y: y + row, style: Style(.dim))
            var line = ""
            for value in shown {
                let below = peak * Double(chartHeight - row - 1) / Double(chartHeight)
                line.append(value >= threshold ? glyphs.bar : value > below ? glyphs.sparkLevels[glyphs.sparkLevels.count / 2] : " ")
            }
            screen.put(line, x: 9, y: y + row, style: Style(.spark))
        }
        y += chartHeight
        screen.put("new/s  " + glyphs.sparkline(rate, width: min(chartWidth, max(1, rate.count))), x: 2, y: y, style: Style(.dim))
        y += 2
        // Per service.
        let columns = [Column(title: "SERVICE", width: 14), Column(title: "PORT", width: 5, right: true),
                       Column(title: "ALGORITHM", width: 26, priority: 2), Column(title: "ACTIVE", width: 7, right: true),
                       Column(title: "TOTAL", width: 8, right: true), Column(title: "REFUSED", width: 8, right: true),
                       Column(title: "CONN/s", width: 7, right: true)]
        let kept = Self.fit(columns, width: width - 2)
        guard y < bottom else { return }
        drawHeader(columns, kept, y: y)
        y += 1
        for (index, service) in schema.services.enumerated() where index < snapshot.services.count && y < bottom {
            let values = snapshot.services[index]
            drawRow([(service.name, Style(bold: true)), ("\(service.port)", .normal), (service.algorithm, Style(.dim)),
                     ("\(values[.activeConnections])", .normal), (Format.count(values[.totalConnections]), .normal),
                     ("\(values[.refusedConnections])", Style(values[.refusedConnections] > 0 ? .warning : .normal)),
                     ("\(values[.connectionRate])", .normal)], columns, kept, y: y)
            y += 1
        }
    }
}
