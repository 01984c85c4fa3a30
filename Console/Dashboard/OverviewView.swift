import Foundation
import SkerryKit

extension Frame {
    mutating func drawOverview(top: Int, bottom: Int) {
        var y = top
        let model = input.model
        // The machine.
        if let vm = input.vm {
            var facts = ["image \(vm.image)", "accel \(vm.accelerator)"]
            if let ready = vm.readyAfter { facts.append(String(format: "boot-to-ready %.2fs", ready)) }
            switch vm.state {
            case .booting: facts.insert("booting", at: 0)
            case .running: facts.insert("running", at: 0)
            case .exited(let reason): facts.insert("exited: \(reason)", at: 0)
            }
            label("VM", y)
            let running = vm.state == .running
            screen.put(glyphs.fit(facts.joined(separator: "  "), width - 14), x: 13, y: y,
                       style: Style(running ? .up : vm.state == .booting ? .warning : .down, bold: !running))
            y += 1
            if !vm.ports.isEmpty {
                label("Ports", y)
                for line in Self.portLines(vm.ports, model.schema, width: width - 14, glyphs: glyphs) {
                    screen.put(line, x: 13, y: y)
                    y += 1
                }
            }
        }
        guard let schema = model.schema, let snapshot = model.snapshot else {
            if case .exited = input.vm?.state { drawLastConsole(top: y + 1, bottom: bottom, title: "Last console lines") } else {
                drawEmpty(input.telemetry.connected ? "waiting for the first snapshot" : "waiting for telemetry from \(input.telemetry.address)",
                          top: y, bottom: bottom)
            }
            return
        }
        label("Appliance", y)
        screen.put(glyphs.fit("\(model.hello?.appliance ?? "?")  up \(Format.milliseconds(snapshot.uptimeMilliseconds))  "
                              + "\(counted(schema.services.count, "service"))  \(counted(schema.backendNames.count, "backend"))  \(counted(schema.rules.count, "rule"))",
                              width - 14), x: 13, y: y)
        y += 1
        label("Heap", y)
        let heapTotal = Double(snapshot.heapUsed + snapshot.heapFree)
        let used = heapTotal > 0 ? Double(snapshot.heapUsed) / heapTotal : 0
        screen.put(glyphs.meter(used, width: 20), x: 13, y: y, style: Style(used > 0.9 ? .warning : .spark))
        let heapText = " \(Format.bytes(Double(snapshot.heapUsed))) used of \(Format.bytes(heapTotal)), peak \(Format.bytes(Double(snapshot.heapPeak)))"
        screen.put(glyphs.fit(heapText, width - 34), x: 33, y: y)
        y += 1
        label("Event loop", y)
        // The stream's last rates say nothing once it has ended.
        let rates = input.streamEnded ? nil : model.rates
        screen.put(glyphs.meter(rates?.loopLoad ?? 0, width: 20), x: 13, y: y, style: Style((rates?.loopLoad ?? 0) > 0.9 ? .warning : .spark))
        screen.put(rates.map { String(format: " %.1f%% busy", $0.loopLoad * 100) } ?? " -", x: 33, y: y)
        y += 2

        // The NICs.
        let columns = [Column(title: "NIC", width: 8), Column(title: "MODEL", width: 10, priority: 2),
                       Column(title: "ADDRESS", width: 15, priority: 3), Column(title: "LINK", width: 4),
                       Column(title: "RX/s", width: 9, right: true), Column(title: "TX/s", width: 9, right: true),
                       Column(title: "RX PKTS", width: 10, right: true, priority: 4), Column(title: "DROPS", width: 7, right: true, priority: 3),
                       Column(title: "TRAFFIC", width: 16, priority: 1)]
        let kept = Self.fit(columns, width: width - 2)
        drawHeader(columns, kept, y: y)
        y += 1
        for (index, nic) in schema.nics.enumerated() where index < snapshot.nics.count && y < bottom {
            let values = snapshot.nics[index]
            // With the stream ended (the VM gone) the link is down, whatever the last snapshot said.
            let linkUp = values.linkUp && !input.streamEnded
            let rx = rates.map { index < $0.nicReceiveBytes.count ? Format.bytes($0.nicReceiveBytes[index]) + "/s" : "-" } ?? "-"
            let tx = rates.map { index < $0.nicTransmitBytes.count ? Format.bytes($0.nicTransmitBytes[index]) + "/s" : "-" } ?? "-"
            let drops = values.counters.drops
            let series = index < dashboard.history.nicBytes.count ? dashboard.history.nicBytes[index] : []
            drawRow([(nic.role, Style(bold: true)), (nic.model, .normal), (nic.address, .normal),
                     (linkUp ? "up" : "DOWN", Self.healthStyle(linkUp)), (rx, .normal), (tx, .normal),
                     (Format.count(values.counters[.rxPackets]), .normal), ("\(drops)", Style(drops > 0 ? .warning : .dim)),
                     (glyphs.sparkline(series, width: 16), Style(.spark))], columns, kept, y: y)
            y += 1
        }
        y += 1
        guard y < bottom else { return }

        // Headline totals.
        let history = dashboard.history
        let active = snapshot.services.reduce(0) { $0 + $1[.activeConnections] }
        let total = snapshot.services.reduce(0) { $0 + $1[.totalConnections] }
        let refused = snapshot.services.reduce(0) { $0 + $1[.refusedConnections] }
        let drops = (snapshot.firewall?.rules ?? [:]).reduce(UInt64(0)) { sum, entry in
            entry.key < schema.rules.count && schema.rules[entry.key].action != .accept ? sum + entry.value.packets : sum
        }
        let table = snapshot.connectionTable
        let capacity = Double(max(1, schema.connectionCapacity))
        let totals: [(String, String, [Double], ColorRole)] = [
            ("connections/s", rates == nil ? "-" : Format.rate(history.connectionRate.last ?? 0), history.connectionRate, .spark),
            ("active connections", "\(active)  (total \(Format.count(total)), refused \(refused))", history.activeConnections, .spark),
            ("firewall drops", "\(Format.count(drops))" + (rates == nil ? "" : "  (\(Format.rate(history.drops.last ?? 0)))"), history.drops, .drop),
            ("traffic in/out", rates == nil ? "-" : "\(Format.bytes(history.receiveBytes.last ?? 0))/s / \(Format.bytes(history.transmitBytes.last ?? 0))/s",
             zip(history.receiveBytes, history.transmitBytes).map { $0 + $1 }, .spark),
            ("connection table", "\(table?.entries ?? 0) of \(schema.connectionCapacity)  (full: \(table?.counters[.tableFull] ?? 0))",
             history.tableEntries.map { $0 / capacity }, .spark),
        ]
        let sparkWidth = max(10, width - 66)
        for (name, value, series, role) in totals where y < bottom {
            screen.put(name, x: 1, y: y, style: Style(.header))
            screen.put(glyphs.fit(value, 40), x: 22, y: y, style: Style(bold: true))
            screen.put(glyphs.sparkline(series, width: sparkWidth), x: 64, y: y, style: Style(role), limit: width - 65)
            y += 1
        }
        y += 1
        guard y < bottom - 1 else { return }
        if case .exited = input.vm?.state {
            drawLastConsole(top: y, bottom: bottom, title: "Last console lines")
            return
        }
        // Recent events.
        screen.put("Recent events", x: 1, y: y, style: Style(.header, bold: true))
        y += 1
        let events = model.events.suffix(max(0, bottom - y))
        if events.isEmpty { screen.put("none yet", x: 3, y: y, style: Style(.dim)) }
        for event in events where y < bottom {
            let text = model.describe(event)
            let role: ColorRole
            switch event.kind {
            case .backendStatus(_, _, let up, _): role = up ? .up : .down
            case .checkFailed, .limitHit: role = .warning
            case .administrative, .weight, .adminAction: role = .draining
            case .unknown: role = .dim
            }
            screen.put(glyphs.fit(text, width - 4), x: 3, y: y, style: Style(role))
            y += 1
        }
    }

    /// "telemetry 127.0.0.1:40001  web 127.0.0.1:40002  echo 127.0.0.1:40003 ...": each forward named by what
    /// listens on its guest port (a UDP test service as `echo/udp`),
    /// wrapped at `width` columns onto at most three lines, the last ending in "… N more" when more are left.
    static func portLines(_ ports: [HostPort], _ schema: Telemetry.Schema?, width: Int, glyphs: Glyphs) -> [String] {
        let entries = ports.map { port in
            var name = "\(port.role) \(port.transport) \(port.guestPort)"
            switch port.kind {
            case .telemetry: name = "telemetry"
            case .testService(let service): name = port.transport == "tcp" ? service : "\(service)/\(port.transport)"
            case .guest:
                if port.role == "public", port.transport == "tcp", let service = schema?.services.first(where: { $0.port == port.guestPort }) {
                    name = service.name
                }
            }
            return "\(name) 127.0.0.1:\(port.hostPort)"
        }
        return glyphs.wrap(entries, width: width, maximumLines: 3)
    }

    mutating func label(_ text: String, _ y: Int) {
        screen.put(text, x: 1, y: y, style: Style(.header, bold: true))
    }

    /// The console's last lines, for when the VM has exited.
    mutating func drawLastConsole(top: Int, bottom: Int, title: String) {
        guard top < bottom else { return }
        screen.put(title, x: 1, y: top, style: Style(.header, bold: true))
        let lines = input.console.suffix(max(0, bottom - top - 1))
        for (offset, line) in lines.enumerated() {
            let panic = line.contains("PANIC")
            screen.put(glyphs.fit(line, width - 4), x: 3, y: top + 1 + offset, style: Style(panic ? .down : .normal, bold: panic))
        }
    }
}
