import ArgumentParser
import Foundation
import KernelCore
import SkerryConsole
import SkerryKit

struct DashboardBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Dashboard frame time and CPU, with 64 backends and 5,000 rules.",
        discussion: """
            Frame time: the dashboard drawing each view at 120x40 from a model of a synthetic appliance \
            (64 backends, 5,000 rules, real counters through the kernel core's stream encoder and the host \
            decoder). CPU: `skerry top --attach` in a tmux terminal against that appliance's telemetry \
            stream, served on loopback with traffic every second, at a 1 s and a 100 ms refresh; the figure is \
            the top process's user+system time over the window. Needs tmux. Build with -c release.
            """)

    @Option(help: "Seconds of CPU measurement per refresh rate.")
    var seconds = 20.0

    @Option(help: "Frames per view for the frame time (the median is reported).")
    var frames = 101

    func validate() throws {
        if let problem = SecondsOption("--seconds", minimum: 1, maximum: 3600).problem(seconds) { throw ValidationError(problem) }
        if frames < 1 || frames > 100_000 { throw ValidationError("--frames must be 1-100000") }
    }

    func run() throws {
        let server = try SyntheticTelemetryServer(services: 4, backends: 64, rules: 5_000, busy: true)
        defer { server.stop() }
        print("dashboard, 64 backends in 4 services, 5,000 rules")
        try frameTimes(port: server.port)
        for interval in [1.0, 0.1] {
            let share = try cpu(port: server.port, interval: interval)
            print(String(format: "CPU at a %@ refresh: %.2f%% of a core over %.0f s", interval == 1 ? "1 s" : "100 ms", share * 100, seconds))
        }
    }

    /// The median time to draw each view from a live model.
    private func frameTimes(port: UInt16) throws {
        let monitor = TelemetryMonitor(host: "127.0.0.1", port: port, interval: 1)
        let dashboard = Dashboard()
        var samples = 0
        while samples < 3 {
            // Three snapshots, so there are rates and some history.
            if monitor.step(timeout: 1.5).contains(where: { if case .snapshot = $0 { return true } else { return false } }) { samples += 1 }
        }
        let input = DashboardInput(model: monitor.model, telemetry: TelemetryStatus(address: "127.0.0.1:\(port)", connected: true),
                                   vm: VMStatus(image: "synthetic", accelerator: "tcg", state: .running, readyAfter: 0.1),
                                   console: (0..<5000).map { "console line \($0)" }, consoleWritable: true)
        for _ in 0..<60 { dashboard.observe(input) }
        print("view          frame (median, 120x40)   slowest")
        for view in DashboardView.allCases {
            dashboard.state.view = view
            var times: [Double] = []
            for _ in 0..<max(5, frames) {
                let start = DispatchTime.now().uptimeNanoseconds
                dashboard.observe(input)
                _ = dashboard.render(input, width: 120, height: 40)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            print(view.title.padding(toLength: 14, withPad: " ", startingAt: 0)
                + String(format: "%10.3f ms %21.3f ms", Statistics.median(times), times.max() ?? 0))
        }
    }

    /// `skerry top --attach` in tmux for `seconds`; its CPU time over wall time.
    private func cpu(port: UInt16, interval: Double) throws -> Double {
        guard let tmux = findExecutable("tmux") else { throw CLIError("bench dashboard needs tmux (scripts/setup installs it)") }
        let server = "skerry-bench-\(getpid())"
        let executable = CommandLine.arguments[0].hasPrefix("/") ? CommandLine.arguments[0]
            : FileManager.default.currentDirectoryPath + "/" + CommandLine.arguments[0]
        let command = "LANG=C.UTF-8 \(executable) top --attach 127.0.0.1:\(port) --interval \(interval) --read-only"
        let client = try ChildProcess.spawn(executable: tmux, arguments: ["-L", server, "new-session", "-d", "-s", "bench",
                                                                         "-x", "120", "-y", "40", command], newProcessGroup: false)
        client.closeInput()
        _ = client.wait(timeout: 10)
        defer { _ = try? CapturedRun.run(tmux, ["-L", server, "kill-server"]) }
        let pane = Int32((try CapturedRun.run(tmux, ["-L", server, "display-message", "-p", "-t", "bench", "#{pane_pid}"]))
            .output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        // The pane runs a shell that runs skerry; measure skerry.
        var top: Int32 = pane
        for _ in 0..<50 where Self.name(top) != "skerry" {
            usleep(100_000)
            top = Self.children(of: pane).first { Self.name($0) == "skerry" } ?? pane
        }
        guard Self.name(top) == "skerry" else { throw CLIError("skerry top did not start in tmux") }
        Thread.sleep(forTimeInterval: 3)  // connected and drawing
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let before = Self.cpuTicks(top), started = Date()
        Thread.sleep(forTimeInterval: seconds)
        let used = Double(Self.cpuTicks(top) - before) / ticks
        return used / Date().timeIntervalSince(started)
    }

    static func name(_ pid: Int32) -> String {
        ((try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func children(of pid: Int32) -> [Int32] {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        return text.split(separator: " ").compactMap { Int32($0) }
    }

    /// utime + stime of `pid`, all threads.
    static func cpuTicks(_ pid: Int32) -> Int {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 13 ? (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0) : 0
    }
}
