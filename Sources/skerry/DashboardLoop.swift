import Foundation
import SkerryConsole
import SkerryConsoleHost
import SkerryKit
import SkerryTerminal

/// Runs the dashboard on this terminal until `q` or a signal: keys to the
/// dashboard, its commands carried out, a frame drawn at the refresh rate.
/// The terminal is restored and the VM (if ours) stopped on every way out.
struct DashboardLoop {
    /// How the dashboard ended: `q`, or SIGINT, SIGTERM or SIGHUP (the command then exits 130).
    enum Ending {
        case quit
        case signalled
    }

    var feed: DashboardFeed
    var vm: VMRunner?
    var token: String?
    var readOnly: Bool
    var display: DashboardOptions
    /// Called once a second while running (the demo's traffic, for instance).
    var everySecond: (() -> Void)?

    @discardableResult
    func run() -> Ending {
        _ = SignalTrap.install()
        let signalsSeen = SignalTrap.count
        // Without --ascii the terminal's locale decides.
        let terminal = CursesTerminal(colors: display.colors, ascii: display.ascii ? true : nil)
        let dashboard = Dashboard(glyphs: terminal.glyphs)
        let results = ResultQueue()
        var lastDraw = Date.distantPast
        var lastTick = Date()
        var dirty = true
        let hasToken = token.map { !$0.isEmpty } ?? false
        var ending = Ending.quit
        running: while true {
            if SignalTrap.count != signalsSeen {
                ending = .signalled
                break
            }
            let key = terminal.readKey(timeout: 0.1)
            var input = feed.input(readOnly: readOnly, hasToken: hasToken)
            if let key {
                dirty = true
                for command in dashboard.handle(key, input) {
                    switch command {
                    case .quit:
                        break running
                    case .admin(let request):
                        perform(request, address: input.telemetry.address, results: results)
                        dashboard.setMessage("\(request.action.name) \(request.target)...")
                    case .restartVM:
                        // The dashboard says "restarting the VM..." until the new VM is ready.
                        let vm = self.vm
                        Thread.detachNewThread { vm?.restart() }
                    case .console(let line):
                        // The dashboard judges lines already; the policy is checked again where they leave.
                        guard ShellCommandPolicy.judge(line, readOnly: readOnly) == .allowed else { continue }
                        feed.sendConsole(line)
                    }
                }
            }
            for (text, isError) in results.take() {
                dashboard.setMessage(text, error: isError)
                dirty = true
            }
            if Date().timeIntervalSince(lastTick) >= 1 {
                lastTick = Date()
                everySecond?()
            }
            if dirty || Date().timeIntervalSince(lastDraw) >= min(feed.interval, 1) {
                input = feed.input(readOnly: readOnly, hasToken: hasToken)
                let size = terminal.size
                dashboard.observe(input, height: size.height)
                terminal.draw(dashboard.render(input, width: size.width, height: size.height))
                lastDraw = Date()
                dirty = false
            }
        }
        terminal.restore()
        if vm != nil { FileHandle.standardError.write(Data("skerry: stopping the VM\n".utf8)) }
        vm?.stop()
        feed.detach()
        return ending
    }

    /// Sends an admin action on a connection of its own; the result comes back through `results`.
    private func perform(_ request: AdminRequest, address: String, results: ResultQueue) {
        guard let token, !token.isEmpty else {
            results.put("no admin token: pass --token or set SKERRY_ADMIN_TOKEN", isError: true)
            return
        }
        guard let parsed = TelemetryAddress(argument: address) else { return }
        Thread.detachNewThread {
            do {
                let connection = try TelemetryConnection(host: parsed.host, port: parsed.port, timeout: 3)
                let result = try connection.admin(token: token, action: request.action, service: request.service, backend: request.backend)
                results.put(result.code == .ok ? result.message : "refused (\(result.code)): \(result.message)", isError: result.code != .ok)
            } catch {
                results.put("\(request.action.name) \(request.target) failed: \(error)", isError: true)
            }
        }
    }
}

/// Action results from worker threads, picked up by the drawing loop.
final class ResultQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [(String, Bool)] = []

    func put(_ text: String, isError: Bool) { lock.withLock { items.append((text, isError)) } }

    func take() -> [(String, Bool)] {
        lock.withLock {
            defer { items.removeAll() }
            return items
        }
    }
}
